"""Tests for haplexpr.vcf.contigs: contig maps read with line numbers, renames (the map first),
contigs from header lines and records, and the missing contig's fix."""

import gzip

import pysam
import pytest

from haplexpr.vcf.check import VariantInputError
from haplexpr.vcf.contigs import (
    check_contig,
    contig_id,
    contig_renames,
    read_contig_map,
    read_header_text,
    read_record_contigs,
)

HEADER = (
    "##fileformat=VCFv4.2\n##contig=<ID=chr2,length=50>\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
)
RECORDS = "chr2\t5\t.\tA\tC\t.\t.\t.\nchr1\t3\t.\tG\tT\t.\t.\t.\nchr2\t9\t.\tA\tG\t.\t.\t.\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [("chr1 1 extra\n", "expected two columns"), ("chr1 1\nchr1 2\n", "mapped twice")],
)
def test_bad_contig_map(tmp_path, text, message):
    path = tmp_path / "map.txt"
    path.write_text(text)
    with pytest.raises(VariantInputError, match=message):
        read_contig_map(path)


def test_contig_renames_prefers_the_map():
    assert contig_renames(["chr1", "chrM", "1"], ["1", "MT"], {"chr1": "1"}, harmonise=True) == {
        "chr1": "1",
        "chrM": "MT",
    }
    assert contig_renames(["chr1"], ["1"]) == {}


def test_contig_map_skips_blank_lines_and_comments_and_names_the_line(tmp_path):
    path = tmp_path / "map.txt"
    path.write_text("# old new\n\nchr1 1\n  # indented comment\nchrM MT\nchrX\n")
    with pytest.raises(VariantInputError, match=r"map.txt:6: expected two columns .* 'chrX'"):
        read_contig_map(path)
    path.write_text("# old new\n\nchr1 1\nchrM MT\n")
    assert read_contig_map(path) == {"chr1": "1", "chrM": "MT"}


def test_contig_id_reads_the_id_wherever_it_stands():
    assert contig_id("##contig=<ID=chr1,length=10>") == "chr1"
    assert contig_id("##contig=<length=10,ID=2>") == "2"
    assert contig_id("##contig=<length=10,URL=x>") is None
    assert contig_id("##INFO=<ID=AF,Number=A>") is None


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "bgzipped"])
def test_header_and_record_contigs_are_read_from_the_text(tmp_path, compressed):
    path = tmp_path / "v.vcf"
    path.write_text(HEADER + RECORDS)
    if compressed:
        path = tmp_path / "v.vcf.gz"
        with gzip.open(path, "wt") as handle:
            handle.write(HEADER + RECORDS)
    assert read_header_text(path) == HEADER
    assert read_record_contigs(path) == ["chr2", "chr1"]  # file order, each once


def test_record_contigs_come_from_an_index_when_there_is_one(tmp_path):
    indexed_text = HEADER + "chr1\t3\t.\tG\tT\t.\t.\t.\nchr2\t5\t.\tA\tC\t.\t.\t.\n"
    (tmp_path / "v.vcf").write_text(indexed_text)
    indexed = pysam.tabix_index(str(tmp_path / "v.vcf"), preset="vcf")
    (tmp_path / "other.vcf").write_text(HEADER + "chr3\t5\t.\tA\tC\t.\t.\t.\n")
    pysam.tabix_compress(str(tmp_path / "other.vcf"), indexed, force=True)  # the index stays
    assert read_record_contigs(indexed) == ["chr1", "chr2"]  # the index's, not a scan's
    (tmp_path / "v.vcf.gz.tbi").write_bytes(b"not an index")
    assert read_record_contigs(indexed) == ["chr3"]  # an index that does not fit: a scan


def test_a_contig_the_reference_lacks_fails_with_the_fix():
    check_contig("chr1", {"chr1": "1"}, ["1", "2"], "v.vcf.gz", "ref.fa")  # renamed: fine
    with pytest.raises(VariantInputError) as caught:
        check_contig("chr1", {}, ["1", "2"], "v.vcf.gz", "ref.fa")
    assert "v.vcf.gz: contig 'chr1' is not in the reference ref.fa (it has 1, 2...)" in str(
        caught.value
    )
    assert "the reference spells it '1': set variants.harmonise_contigs: true" in str(caught.value)
    with pytest.raises(
        VariantInputError, match=r"renamed to 'X' by variants.contig_map.*same genome"
    ):
        check_contig("chrZ", {"chrZ": "X"}, ["1", "2"], "v.vcf.gz", "ref.fa")
