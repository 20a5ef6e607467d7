"""Tests for haplexpr.vcf.symbolic: htslib's reference length of a record, and symbolic or
INFO/END records rewritten as the plain records the kernel applies as bcftools applies them.

Each expected line is derived by hand from the module docstring's rules; parity with
bcftools itself is test_consensus_parity.py's.
"""

from __future__ import annotations

import pytest

from haplexpr.vcf.symbolic import (
    FREEZE,
    MISSING_BLOCK,
    NO_MATCH,
    htslib_rlen,
    needs_rewrite,
    rewrite,
)

REFERENCE = "ACGTACGTACGTACGTACGT"


def fetch(start: int, end: int) -> str:
    return REFERENCE[start:end]


@pytest.mark.parametrize(
    ("ref", "alts", "info", "rlen"),
    [
        ("G", ["T"], ".", 1),
        ("GTA", ["G"], "END=3", 3),  # an END inside REF changes nothing
        ("G", ["T"], "DP=4;END=6", 4),  # END reaching further: 3..6
        ("G", ["<DEL>"], "SVLEN=-3", 4),  # |SVLEN| + 1, its sign ignored
        ("G", ["<INS>"], "SVLEN=30", 1),  # only DEL, DUP, INV and CNV count
        ("G", ["T", "<DUP>"], "SVLEN=9,5", 6),  # each ALT's own value, by ALT order
        ("G", ["<DEL>"], "SVLEN=.", 1),  # "." reads as 0
    ],
)
def test_htslib_rlen(ref, alts, info, rlen):
    assert htslib_rlen(3, ref, alts, info) == rlen


def test_needs_rewrite_is_a_cheap_superset():
    assert needs_rewrite("1\t3\t.\tG\t<DEL>\t.\t.\t.") and needs_rewrite(
        "1\t3\t.\tG\tT\t.\t.\tEND=5"
    )
    assert not needs_rewrite("1\t3\t.\tG\tT\t.\t.\tDP=5")


def line(alts: str, info: str, calls: str, ref: str = "G") -> str:
    return f"1\t3\t.\t{ref}\t{alts}\t.\t.\t{info}\tGT\t{calls}"


def test_plain_records_and_records_without_gt_stay_as_they_are():
    for plain in (line("T", ".", "0|1"), "1\t3\t.\tG\t<DEL>\t.\t.\tSVLEN=-3"):
        assert rewrite(plain, fetch, keep_missing=True, snvs_only=False) == [plain]


def test_a_deletion_takes_its_bases_from_the_reference():
    rewritten = rewrite(line("<DEL>", "SVLEN=-3", "0|1\t1|1"), fetch, False, False)
    assert rewritten == ["1\t3\t.\tGTAC\tG\t.\t.\t.\tGT\t0|1\t1|1"]  # 3..6 is GTAC


def test_a_gvcf_block_freezes_its_bases_and_a_missing_call_writes_n_over_it():
    rewritten = rewrite(line("<*>", "END=6", "0|0\t./."), fetch, True, False)
    assert rewritten == [
        f"1\t3\t.\tGTAC\t{FREEZE}\t.\t.\t.\tGT\t0|0\t0/0",
        f"1\t3\t{MISSING_BLOCK}\tGTAC\tNNNN\t.\t.\t.\tGT\t0|0\t1/1",
    ]


def test_one_record_per_alt_with_an_unmatchable_ref_where_bcftools_refuses():
    rewritten = rewrite(line("<CN0>,T", "END=5", "1|2\t0|."), fetch, True, False)
    pad = NO_MATCH * 2
    assert rewritten == [
        f"1\t3\t.\t{NO_MATCH * 3}\tN\t.\t.\t.\tGT\t1|0\t0|0",  # <CN0>: REF check fails
        f"1\t3\t.\tG{pad}\tT{pad}\t.\t.\t.\tGT\t0|1\t0|0",  # REF shorter than END: padded
        f"1\t3\t.\t{NO_MATCH * 3}\tN\t.\t.\t.\tGT\t0|0\t0|.",  # -M N over INFO/END
    ]


def test_snvs_only_is_judged_on_the_original_record():
    kept = rewrite(line("T", "END=5", "0|1"), fetch, False, snvs_only=True)
    assert kept == [f"1\t3\t.\tG{NO_MATCH * 2}\tT{NO_MATCH * 2}\t.\t.\t.\tGT\t0|1"]
    assert rewrite(line("TA", "END=5", "0|1"), fetch, False, snvs_only=True) == []
