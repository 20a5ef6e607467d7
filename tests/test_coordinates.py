"""Tests for haplexpr.coordinates: samtools-style regions, TSS coordinate bases, contig names."""

import copy
import dataclasses
import re

import pytest

from haplexpr.config import validate_config
from haplexpr.coordinates import (
    Interval,
    UnknownContigError,
    VariantSettings,
    harmonise_contig,
    samtools_region,
    tss_to_0based,
)
from haplexpr.errors import ConfigError


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("1:101-130", Interval("1", 100, 130)),  # 1-based inclusive -> 0-based half-open
        ("chr2:1-1", Interval("chr2", 0, 1)),
        ("1:1,000-2,000", Interval("1", 999, 2000)),  # samtools accepts thousands separators
    ],
)
def test_region_is_samtools_one_based_inclusive(region, expected):
    assert Interval.from_region(region) == expected


@pytest.mark.parametrize("region", ["1", "1:5", "1:10-5", "1:0-5", "1:a-b"])
def test_bad_region_is_refused_naming_it(region):
    with pytest.raises(ValueError, match="region"):
        Interval.from_region(region)


def test_region_round_trip_and_invalid_interval():
    assert Interval.from_region(Interval("1", 0, 5).to_region()) == Interval("1", 0, 5)
    assert Interval("1", 3, 3).length == 0
    with pytest.raises(ValueError, match="invalid interval"):
        Interval("1", 5, 4)


def test_tss_bases():
    assert tss_to_0based(100, 1) == 99
    assert tss_to_0based(100, 0) == 100
    with pytest.raises(ValueError, match="tss_coordinate_base must be 0 or 1"):
        tss_to_0based(100, 2)


LENGTHS = {"1": 60, "HLA-A*01:01": 30}


@pytest.mark.parametrize(
    ("region", "interval"),
    [
        ("1", Interval("1", 0, 60)),  # a whole contig, as samtools faidx REF 1
        ("1:11", Interval("1", 10, 60)),  # to the contig's end
        ("1:11-20", Interval("1", 10, 20)),
        ("1:1,1-2,0", Interval("1", 10, 20)),
        ("1:-20", Interval("1", 0, 20)),
        ("1:51-99", Interval("1", 50, 60)),  # cut at the contig's end
        ("HLA-A*01:01", Interval("HLA-A*01:01", 0, 30)),  # a contig with a colon
    ],
)
def test_samtools_region(region, interval):
    assert samtools_region(region, LENGTHS) == interval


@pytest.mark.parametrize(
    ("region", "message"),
    [
        ("2", "contig '2' is not in the reference"),
        ("chr1:1-5", "contig 'chr1' is not in the reference"),
        ("1:20-10", "START <= END"),
        ("1:61-70", "START <= END"),
        ("1:x", "not CHROM[:START[-END]]"),
    ],
)
def test_samtools_region_errors(region, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        samtools_region(region, LENGTHS)


# --- contig names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "contigs", "expected"),
    [
        ("chr1", ["1", "2", "MT"], "1"),
        ("1", ["chr1", "chr2", "chrM"], "chr1"),
        ("chrM", ["1", "2", "MT"], "MT"),
        ("MT", ["chr1", "chrM"], "chrM"),
        ("chrX", ["X", "Y"], "X"),
        ("2", ["1", "2"], "2"),
    ],
)
def test_harmonise_contig(name, contigs, expected):
    assert harmonise_contig(name, contigs) == expected


def test_harmonise_unknown_contig_lists_reference_contigs():
    with pytest.raises(UnknownContigError) as caught:
        harmonise_contig("chrUn_gl000220", ["2", "1", "MT"])
    assert str(caught.value) == (
        "contig 'chrUn_gl000220' is not in the reference (reference contigs: 1, 2, MT...); "
        "check that the table, VCFs and FASTA use the same genome build"
    )


def test_variant_settings_are_the_configs_variants_block(demo_config):
    settings = VariantSettings.from_config(demo_config)
    assert dataclasses.asdict(settings) == demo_config["variants"]


def test_a_bad_variants_value_is_refused_naming_the_key(demo_config):
    """The schema is the one check of the block the settings are built from."""
    config = copy.deepcopy(demo_config)
    config["variants"]["harmonise_contigs"] = "yes"
    with pytest.raises(ConfigError, match=r"config key variants/harmonise_contigs: 'yes' is not"):
        validate_config(config)
