"""The reference genome and its variants: random bases, masks, background variants, FASTA/VCF.

Background variants avoid every TSS's counted region, so only the planted causal SNVs
(:mod:`haplexpr.demo.genes`) change a gene's motif count.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pysam
from pysam.libcbgzf import BGZFile

from haplexpr.demo.design import BASES, DemoDesign, Variant

BACKGROUND_EXCLUSION = 400  # no background variant touches [TSS - 400, TSS + 400]
MASK_MIN_DISTANCE = 3_000  # lowercase and N stay at least this far from every TSS
VARIANT_SPACING = 250  # about one background variant per 250 bp
INDEL_FRACTION = 0.12
INDEL_LENGTH_WEIGHTS = np.array([0.35, 0.18, 0.12, 0.09, 0.07, 0.06, 0.04, 0.04, 0.03, 0.02])
BASE_PROBS = np.array([0.295, 0.205, 0.205, 0.295])  # A C G T: 41% GC
TRANSITION = {"A": "G", "G": "A", "C": "T", "T": "C"}


def random_bases(rng: np.random.Generator, length: int) -> np.ndarray:
    """Draw an upper-case ASCII sequence with ~41% GC."""
    codes = np.frombuffer(BASES.encode(), dtype=np.uint8)
    return codes[rng.choice(4, size=length, p=BASE_PROBS)]


def mask(rng: np.random.Generator, seq: np.ndarray, tss: list[int], name: str) -> None:
    """Add soft-masked stretches and N runs, >= 3 kb from every TSS.

    One stretch of each kind is put 3.1-3.9 kb from a TSS, inside that gene's 8,192-bp
    window, so the pipeline meets lowercase and N bases in real windows.
    """
    tss0 = np.array(tss) - 1

    def far_enough(a: int, b: int) -> bool:
        return bool(np.all((tss0 < a - MASK_MIN_DISTANCE) | (tss0 >= b + MASK_MIN_DISTANCE)))

    def random_interval(length: int) -> tuple[int, int]:
        while True:
            a = int(rng.integers(100, len(seq) - length - 100))
            if far_enough(a, a + length):
                return a, a + length

    lower = [random_interval(int(rng.integers(200, 2500))) for _ in range(4 if name == "1" else 3)]
    n_runs = [random_interval(int(rng.integers(200, 500)))]
    g = int(rng.integers(len(tss0)))
    if name == "1":
        lower.append((int(tss0[g]) + 3100, int(tss0[g]) + 3700))
    else:
        n_runs.append((int(tss0[g]) - 3900, int(tss0[g]) - 3600))
    for a, b in lower:
        assert far_enough(a, b)
        seq[a:b] = np.where(seq[a:b] == ord("N"), seq[a:b], seq[a:b] | 0x20)
    for a, b in n_runs:
        assert far_enough(a, b)
        seq[a:b] = ord("N")


def background_variants(
    rng: np.random.Generator, seq: np.ndarray, name: str, tss: list[int], n_haps: int
) -> list[Variant]:
    """Draw normalised SNVs and short indels, not touching N, TSS +-400 bp or each other."""
    upper = seq & ~np.uint8(0x20)  # upper-case view; 'N' stays 'N'
    forbid = upper == ord("N")
    for t in tss:
        forbid[t - 1 - BACKGROUND_EXCLUSION : t + BACKGROUND_EXCLUSION] = True
    n_cand = int(len(seq) / VARIANT_SPACING * 1.07)
    candidates = np.sort(rng.choice(np.arange(1, len(seq) - 20), size=n_cand, replace=False))
    out: list[Variant] = []
    next_free = 0  # first 0-based position a new record may start at (>= 1 bp gap)
    for p in (int(c) for c in candidates):
        if p < next_free or forbid[p]:
            continue
        ref_base = chr(upper[p])
        ref, alt = ref_base, ""
        if rng.random() < INDEL_FRACTION:
            k = 1 + int(rng.choice(10, p=INDEL_LENGTH_WEIGHTS / INDEL_LENGTH_WEIGHTS.sum()))
            if rng.random() < 0.5:  # insertion: left-aligned iff last inserted base != anchor
                ins = "".join(BASES[i] for i in rng.integers(4, size=k))
                if ins[-1] == ref_base:
                    ins = ins[:-1] + TRANSITION[ref_base]
                alt = ref_base + ins
            else:  # deletion: left-aligned iff last deleted base != anchor; shrink until valid
                while k >= 1:
                    span = upper[p : p + k + 1]
                    if not forbid[p : p + k + 1].any() and span[-1] != span[0]:
                        ref, alt = span.tobytes().decode(), ref_base
                        break
                    k -= 1
        if not alt:
            if rng.random() < 2 / 3:
                alt = TRANSITION[ref_base]
            else:
                alt = [b for b in BASES if b not in (ref_base, TRANSITION[ref_base])][
                    int(rng.integers(2))
                ]
        out.append(Variant(name, p + 1, ref, alt, _background_haps(rng, n_haps)))
        next_free = p + len(ref) + 1
    return out


def _background_haps(rng: np.random.Generator, n_haps: int) -> np.ndarray:
    """Sample haplotypes from a skewed frequency spectrum (mostly rare, some common)."""
    freq = float(np.clip(rng.beta(0.3, 1.5), 1 / n_haps, 0.95))
    haps = (rng.random(n_haps) < freq).astype(np.uint8)
    if haps.sum() == 0:
        haps[rng.integers(n_haps)] = 1
    elif haps.sum() == n_haps:
        haps[rng.integers(n_haps)] = 0
    return haps


def assign_ids(rng: np.random.Generator, variants: list[Variant]) -> None:
    """Give ~80% of records unique rsID-like IDs and leave the rest ``.`` as in real VCFs."""
    ids = 1_000_000 + rng.choice(199_000_000, size=len(variants), replace=False)
    named = rng.random(len(variants)) < 0.8
    for v, rs, has_id in zip(variants, ids, named, strict=True):
        v.vid = f"rs{rs}" if has_id else "."


def check_variants(seq: np.ndarray, variants: list[Variant]) -> None:
    """Fail loudly if any record breaks the promised invariants (REF, order, no overlap)."""
    for prev, cur in zip(variants, variants[1:], strict=False):
        assert cur.pos > prev.end + 1, (prev.label, cur.label)
    for v in variants:
        assert seq[v.pos - 1 : v.end].tobytes().decode().upper() == v.ref, v.label
        assert "N" not in v.ref and v.ref != v.alt, v.label
        assert len(v.ref) == len(v.alt) == 1 or v.ref[0] == v.alt[0], v.label


def write_fasta(path: Path, sequences: dict[str, np.ndarray]) -> None:
    """Write 60-bp lines with hs37d5-style headers, then index with samtools faidx."""
    with open(path, "wb") as fh:
        for name, seq in sequences.items():
            fh.write(f">{name} dna:chromosome chromosome:DEMO:{name}:1:{len(seq)}:1\n".encode())
            raw = seq.tobytes()
            fh.write(b"".join(raw[i : i + 60] + b"\n" for i in range(0, len(raw), 60)))
    pysam.faidx(str(path))


def write_vcf(
    path: Path, name: str, variants: list[Variant], individuals: list[str], design: DemoDesign
) -> None:
    """Write a bgzipped VCFv4.2 (BGZF with EOF block, no index) with phased genotypes.

    ``##source`` records the design: ``haplexpr.demo.dataset(seed=...)`` when only the seed may
    differ from the defaults, every field otherwise.
    """
    n_haps = design.n_haplotypes
    contigs = design.contigs
    af_text = f"ALT allele frequency in the {design.n_individuals} samples"
    lines = [
        "##fileformat=VCFv4.2",
        f"##source=haplexpr.demo.dataset({design.describe()})",
        "##reference=reference.fa",
        *(f"##contig=<ID={c},length={length},assembly=DEMO>" for c, length, _ in contigs),
        f'##INFO=<ID=AF,Number=A,Type=Float,Description="{af_text}">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Phased genotype">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
        + "\t"
        + "\t".join(individuals),
    ]
    for v in variants:
        gts = "\t".join(f"{a}|{b}" for a, b in zip(v.haps[0::2], v.haps[1::2], strict=True))
        af = f"{int(v.haps.sum()) / n_haps:g}"
        fields = [name, str(v.pos), v.vid, v.ref, v.alt, ".", "PASS", f"AF={af}", "GT"]
        lines.append("\t".join(fields) + "\t" + gts)
    with BGZFile(str(path), "wb") as fh:
        fh.write(("\n".join(lines) + "\n").encode())
