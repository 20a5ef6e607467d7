"""Parity edge cases for ``unphased: iupac``: what ``bcftools consensus -H 1pIu / -H 2pIu``
(1.24) writes at unphased calls, derived by hand from its rules (``vcf/iupac.py``): a diploid
call written with ``/`` gives both haplotypes one allele, the IUPAC code of its called alleles
on the longest ALT; phased and haploid calls are read as ``-H 1`` / ``-H 2`` reads them.
tests/test_consensus_parity.py checks bcftools still writes these, then holds both engines
to it.
"""

from __future__ import annotations

from support.consensus_edge_cases import EdgeCase, W

START = 11  # 1-based position of W's first base (window 1:11-30)


def on_w(*edits: tuple[int, str, str]) -> str:
    """W with (1-based POS, REF, ALT) edits applied, the ALT cased like the reference."""
    seq = W
    for pos, ref, alt in sorted(edits, reverse=True):
        at = pos - START
        assert seq[at : at + len(ref)] == ref, (pos, ref)
        seq = seq[:at] + alt + seq[at + len(ref) :]
    return seq


def both(seq: str) -> tuple[str, ...]:
    return (seq,)


IUPAC_CASES = [
    EdgeCase(
        "iupac_snv_unphased_phased_homozygous",
        ("1 13 G A 0/1 1/0 1|0 1/1 0/0",),
        expected={
            **{f"S{s}:{h}": both(on_w((13, "G", "R"))) for s in (1, 2) for h in (1, 2)},
            "S3:1": both(on_w((13, "G", "A"))),
            "S3:2": both(W),
            **{f"S4:{h}": both(on_w((13, "G", "A"))) for h in (1, 2)},
            **{f"S5:{h}": both(W) for h in (1, 2)},
        },
        unphased="iupac",
    ),
    EdgeCase(
        "iupac_multiallelic",  # A|T = W, G|T = K; 2/2 is the second ALT
        ("1 13 G A,T 1/2 0/2 2/2", "1 25 A C,G 2/1 1/0 0|2"),
        expected={
            **{f"S1:{h}": both(on_w((13, "G", "W"), (25, "A", "S"))) for h in (1, 2)},
            **{f"S2:{h}": both(on_w((13, "G", "K"), (25, "A", "M"))) for h in (1, 2)},
            "S3:1": both(on_w((13, "G", "T"))),
            "S3:2": both(on_w((13, "G", "T"), (25, "A", "G"))),
        },
        unphased="iupac",
    ),
    EdgeCase(
        "iupac_missing_and_half_missing",  # ./1: the ALT on both; 0/.: REF on both, even -M N
        ("1 13 G A ./1 0/. ./. .|1",),
        expected={
            **{f"S1:{h}": both(on_w((13, "G", "A"))) for h in (1, 2)},
            **{f"S2:{h}": both(W) for h in (1, 2)},
            **{f"S3:{h}:reference": both(W) for h in (1, 2)},
            **{f"S3:{h}:N": both(on_w((13, "G", "N"))) for h in (1, 2)},
            "S4:1:reference": both(W),
            "S4:1:N": both(on_w((13, "G", "N"))),
            "S4:2": both(on_w((13, "G", "A"))),
        },
        unphased="iupac",
    ),
    EdgeCase(
        "iupac_indels",  # the longest ALT's bases ORed with REF's: an indel lands on both
        ("1 13 G GTT 0/1", "1 20 ACG A 1/0", "1 26 G GT,A 1/2"),
        expected={
            f"S1:{h}": both(on_w((13, "G", "GTT"), (20, "ACG", "A"), (26, "G", "RT")))
            for h in (1, 2)
        },
        unphased="iupac",
    ),
    EdgeCase(
        "iupac_snvs_only",  # -i "type='snp'": the records with an indel ALT are dropped
        ("1 13 G A 0/1", "1 16 G GA 0/1", "1 18 T C,TA 0/1", "1 25 A C,G 1/2"),
        expected={f"S1:{h}": both(on_w((13, "G", "R"), (25, "A", "S"))) for h in (1, 2)},
        variants="snvs",
        unphased="iupac",
    ),
    EdgeCase(
        "iupac_haploid",  # htslib reads a haploid call as phased: -H 2 of it is REF (or N)
        ("1 13 G A 1 0/1", "1 16 G T 1 0"),
        expected={
            "S1:1": both(on_w((13, "G", "A"), (16, "G", "T"))),
            "S1:2:reference": both(W),
            "S1:2:N": both(on_w((13, "G", "N"))),
            **{f"S2:{h}": both(on_w((13, "G", "R"))) for h in (1, 2)},
        },
        unphased="iupac",
    ),
    EdgeCase(
        "iupac_star_and_symbolic_raw",  # * and <DEL> are not IUPAC text: applied as they are
        ("1 13 G *,A 1/2 0/1", "1 20 A <DEL> END=22 0/1 1/1"),
        expected={
            **{f"S1:{h}": both(on_w((13, "G", "A"), (20, "ACG", "A"))) for h in (1, 2)},
            **{f"S2:{h}": both(on_w((13, "G", "*"), (20, "ACG", "A"))) for h in (1, 2)},
        },
        unphased="iupac",
    ),
    EdgeCase(
        "iupac_soft_masked_reference",  # the code takes the reference's case, as any ALT
        ("2 11 G A 0/1", "2 22 C T 1/0"),
        windows=("2:11-25",),
        expected={f"S1:{h}": ("rtacgtacgtAYGTA",) for h in (1, 2)},
        unphased="iupac",
    ),
]
