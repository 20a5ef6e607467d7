"""Tests for haplexpr.effects.variants: a window's records as they stand in the VCF, which
haplotype carries which, and the records effects cannot be scored for."""

from __future__ import annotations

import numpy as np
import pytest
from support.vcf_files import record_line, write_vcf

from haplexpr.effects.variants import Variant, VariantError, WindowVariants, read_window_variants

SAMPLES = ["S1", "S2", "S3"]


def test_a_variant_is_its_vcf_record():
    deletion = Variant("1", 10, "ACG", "A", "rs1")
    assert (deletion.start, deletion.end) == (9, 12)  # 0-based, end exclusive
    assert deletion.key == "1:10:ACG:A"
    assert sorted([Variant("1", 12, "A", "C"), deletion]) == [deletion, Variant("1", 12, "A", "C")]


def test_window_variants_carriers_dosages_and_subsets():
    variants = [Variant("1", p, "A", "C") for p in (5, 8, 13)]
    carried = np.array(
        [  # S1 haplotypes 1, 2; S2 haplotypes 1, 2
            [True, False, True],
            [True, True, False],
            [False, False, False],
            [False, True, False],
        ]
    )
    table = WindowVariants(variants, ["S1", "S2"], carried)
    assert table.carried_by("S1", 1) == [0, 2] and table.carried_by("S2", 2) == [1]
    assert table.dosages(["S2", "S1"]).tolist() == [[0, 1, 0], [2, 1, 1]]
    kept = table.subset([2, 0])
    assert kept.variants == [variants[0], variants[2]]
    assert kept.carried_by("S1", 1) == [0, 1] and kept.carried_by("S1", 2) == [0]


def vcf(tmp_path, lines):
    return write_vcf(tmp_path / "v.vcf.gz", lines, SAMPLES, {"1": 100}, index=True)


def test_a_windows_records_and_who_carries_them(tmp_path):
    lines = [
        record_line("1", 5, "A", "C", ["0|1", "1|1", "0|0"]),
        record_line("1", 20, "AT", "A", ["1|0", ".|1", "1|."]),  # missing alleles: REF
        record_line("1", 40, "G", "T", ["1|1", "1|1", "1|1"]),  # outside the window
    ]
    table = read_window_variants(vcf(tmp_path, lines), "1", 4, 21, ["S3", "S1"])
    assert table.variants == [Variant("1", 5, "A", "C"), Variant("1", 20, "AT", "A")]
    assert table.samples == ["S3", "S1"]
    assert table.carried.tolist() == [[False, True], [False, False], [False, True], [True, False]]


@pytest.mark.parametrize(
    ("alts", "message"),
    [
        ("C,G", r"record 1:5 has 2 ALT alleles; effects need the normalised VCF"),
        ("<DEL>", r"record 1:5 has REF 'A' / ALT '<DEL>', not bases"),
        ("*", r"record 1:5 has REF 'A' / ALT '\*', not bases"),
    ],
)
def test_records_of_an_unnormalised_vcf_are_refused(tmp_path, alts, message):
    path = vcf(tmp_path, [record_line("1", 5, "A", alts, ["0|1", "1|1", "0|0"])])
    with pytest.raises(VariantError, match=rf"v.vcf.gz: {message}"):
        read_window_variants(path, "1", 0, 10, SAMPLES)


def test_an_individual_the_vcf_lacks_is_named(tmp_path):
    path = vcf(tmp_path, [record_line("1", 5, "A", "C", ["0|1", "1|1", "0|0"])])
    with pytest.raises(VariantError, match=r"S9.*score effects only for individuals the VCF holds"):
        read_window_variants(path, "1", 0, 10, ["S1", "S9"])
