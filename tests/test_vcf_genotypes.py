"""Tests for haplexpr.vcf.genotypes: a region's records and the chosen samples' two alleles."""

import warnings

import numpy as np
import pytest
from support.vcf_files import record_line, write_vcf

from haplexpr.vcf.genotypes import NO_ALLELE, AbsentSamplesError, SampleGenotypes

SAMPLES = ["A", "B", "C"]
RECORDS = [  # (1-based POS, REF, ALT, calls of A, B, C)
    (10, "A", "G", ["0|1", "1|1", "0|0"]),
    (20, "CAG", "C", ["1/0", "./.", ".|1"]),  # unphased, missing, half missing
    (30, "T", "C,G", ["0|2", "2|1", "1|0"]),  # multi-allelic: the ALT's index
    (40, "G", "A", ["1", "0", "1|1"]),  # haploid calls beside a diploid one
    (50, "G", "T", ["1", "0", "1"]),  # every call haploid
]
EXPECTED = np.array(
    [
        [[0, 1], [1, 1], [0, 0]],
        [[1, 0], [NO_ALLELE, NO_ALLELE], [NO_ALLELE, 1]],
        [[0, 2], [2, 1], [1, 0]],
        [[1, NO_ALLELE], [0, NO_ALLELE], [1, 1]],
        [[1, NO_ALLELE], [0, NO_ALLELE], [1, NO_ALLELE]],
    ]
)


@pytest.fixture(scope="module")
def vcf(tmp_path_factory):
    lines = [record_line("1", pos, ref, alt, calls) for pos, ref, alt, calls in RECORDS]
    path = tmp_path_factory.mktemp("genotypes") / "calls.vcf.gz"
    return write_vcf(path, lines, SAMPLES, {"1": 100, "2": 100}, index=True)


def test_alleles_per_record_and_sample_with_missing_and_haploid_calls(vcf):
    with SampleGenotypes(vcf, SAMPLES) as genotypes:
        records, alleles = genotypes.region("1", 0, 100)
    assert [r.POS for r in records] == [10, 20, 30, 40, 50]
    np.testing.assert_array_equal(alleles, EXPECTED)


def test_samples_come_in_the_order_asked_for(vcf):
    with SampleGenotypes(vcf, ["C", "A"]) as genotypes:
        _, alleles = genotypes.region("1", 0, 100)
    np.testing.assert_array_equal(alleles, EXPECTED[:, [2, 0]])


def test_region_is_0_based_half_open_by_overlap_and_clipped_at_0(vcf):
    with SampleGenotypes(vcf, SAMPLES) as genotypes:
        # [20, 29): the deletion at POS 20 (0-based 19..21) overlaps it; POS 30 is base 29
        assert [r.POS for r in genotypes.region("1", 20, 29)[0]] == [20]
        assert [r.POS for r in genotypes.region("1", -100, 10)[0]] == [10]
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a contig without records: no warning
            records, alleles = genotypes.region("2", 0, 100)
    assert records == [] and alleles.shape == (0, 3, 2)


def test_no_samples_gives_the_records_only(vcf):
    with SampleGenotypes(vcf, []) as genotypes:
        records, alleles = genotypes.region("1", 0, 100)
    assert len(records) == 5 and alleles.shape == (5, 0, 2)


def test_absent_samples_are_named_with_the_file(vcf):
    with pytest.raises(AbsentSamplesError, match=rf"{vcf}: sample\(s\) X, Y not in the VCF"):
        SampleGenotypes(vcf, ["A", "X", "Y"])
