"""Tests for haplexpr.coordinates: samtools-style regions and TSS coordinate bases."""

import pytest

from haplexpr.coordinates import Interval, tss_to_0based


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
