"""Tests for haplexpr.vcf.file_checks: the VCF as a file (whole, a readable header, a region
it can query with a current index, records that parse, in order), each failure naming the
file, the place and the fix."""

from __future__ import annotations

import logging
import os

import pysam
import pytest
from support.vcf_files import record_line, write_vcf

from haplexpr.coordinates import Interval
from haplexpr.vcf.file_checks import (
    RecordOrder,
    VariantInputError,
    check_container,
    check_region,
    open_header,
    open_records,
)

SAMPLES = ["S1", "S2"]
LENGTHS = {"1": 100, "2": 100}


def vcf_of(tmp_path, lines, index=False, samples=SAMPLES):
    return write_vcf(tmp_path / "v.vcf.gz", lines, samples, {"1": 100}, index=index)


def test_a_cut_bgzip_file_is_named_truncated(tmp_path):
    whole = vcf_of(tmp_path, [record_line("1", 5, "A", "C", ["0|1", "1|1"])])
    check_container(whole)
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(whole.read_bytes()[:-10])
    with pytest.raises(VariantInputError, match=r"cut.vcf.gz: no BGZF end-of-file block.*bgzip"):
        check_container(cut)
    plain = tmp_path / "plain.vcf"
    plain.write_text("##fileformat=VCFv4.2\n")
    check_container(plain)  # not compressed: nothing to check


def test_a_header_htslib_rejects_is_explained(tmp_path):
    twice = vcf_of(tmp_path, [], samples=["S1", "S2", "S1"])
    with pytest.raises(VariantInputError, match=r"samples listed twice in the header: S1;"):
        with open_header(twice):
            pass
    junk = tmp_path / "junk.vcf.gz"
    (tmp_path / "junk.txt").write_text("not a vcf\n")
    pysam.tabix_compress(str(tmp_path / "junk.txt"), str(junk))
    with pytest.raises(VariantInputError, match=r"junk.vcf.gz: htslib cannot read the header"):
        with open_header(junk):
            pass
    with open_header(vcf_of(tmp_path, [])) as vcf:
        assert list(vcf.header.samples) == SAMPLES


def test_a_region_needs_a_known_contig_and_a_current_index(tmp_path, caplog):
    path = vcf_of(tmp_path, [record_line("1", 5, "A", "C", ["0|1", "1|1"])])
    with open_header(path) as vcf:
        with pytest.raises(VariantInputError, match=r"contig '3' is not in the reference"):
            check_region(vcf, Interval("3", 0, 10), path, LENGTHS)
        with caplog.at_level(logging.INFO, logger="haplexpr.vcf.file_checks"):
            check_region(vcf, Interval("2", 0, 10), path, LENGTHS)  # undeclared: no variants
        assert "no contig '2' in the VCF header (it has 1...): no variants in 2:1-10" in caplog.text
        with pytest.raises(VariantInputError, match=r"cannot fetch 1:1-10 .*bcftools index"):
            check_region(vcf, Interval("1", 0, 10), path, LENGTHS)
    path = vcf_of(tmp_path, [record_line("1", 5, "A", "C", ["0|1", "1|1"])], index=True)
    with open_header(path) as vcf:
        check_region(vcf, Interval("1", 0, 10), path, LENGTHS)
        later = os.stat(path).st_mtime + 10
        os.utime(path, (later, later))  # the VCF changed after it was indexed
        with pytest.raises(VariantInputError, match=r"v.vcf.gz.csi is older than .*index -f"):
            check_region(vcf, Interval("1", 0, 10), path, LENGTHS)


def test_a_line_htslib_cannot_parse_is_placed_after_the_last_good_record(tmp_path):
    good = record_line("1", 5, "A", "C", ["0|1", "1|1"])
    path = vcf_of(tmp_path, [good, good.replace("\t5\t", "\t7\t"), "1\tseven\t.\tA"])
    with open_records(path, ["S2"], None) as (samples, records):
        assert samples == ["S2"]
        with pytest.raises(VariantInputError, match=r"the line after record 2 cannot be parsed"):
            list(records)


class Record:
    """What RecordOrder reads of a cyvcf2 record."""

    def __init__(self, chrom: str, pos: int):
        self.CHROM, self.POS = chrom, pos


def test_record_order_wants_positions_sorted_and_each_contig_in_one_block():
    order = RecordOrder()
    for chrom, pos in (("1", 5), ("1", 5), ("1", 9), ("2", 1)):
        order.check(Record(chrom, pos), "here")
    with pytest.raises(VariantInputError, match=r"here: position 0 comes after 1: .*bcftools sort"):
        order.check(Record("2", 0), "here")
    with pytest.raises(VariantInputError, match=r"contig 1 appears again after others"):
        order.check(Record("1", 20), "there")
