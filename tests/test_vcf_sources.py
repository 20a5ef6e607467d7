"""Tests for haplexpr.vcf.sources: the VCF URL list, one source per chromosome."""

import logging
import re
from pathlib import Path

import pytest

from haplexpr.download import DownloadError
from haplexpr.vcf.sources import VcfSource, parse_url_list, read_url_list

PATTERN = r"chr([0-9]+|X|Y|MT)"


def write_list(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "vcf_urls.txt"
    path.write_text(text)
    return path


def test_url_list_resolves_relative_entries_against_its_folder(tmp_path):
    folder = tmp_path / "lists"
    md5 = "D959DBFAD9B14D2943EA5AE9748BB2EA"
    path = write_list(
        folder,
        "# phased VCFs\n"
        "\n"
        f"vcf/demo.chr1.vcf.gz\t{md5}\n"
        "file:vcf/demo.chr2.vcf.gz\n"
        "   \n"
        "file:///data/abs/demo.chrX.vcf.gz  6f6628284d260e369335f426e46b1183\n"
        "https://example.org/GEUVADIS.chr22.PH1PH2_465.vcf.gz\n"
        "../up/demo.chrMT.vcf.gz\n",
    )
    assert read_url_list(path, PATTERN) == [
        VcfSource("1", "file://" + str(folder.resolve() / "vcf" / "demo.chr1.vcf.gz"), md5.lower()),
        VcfSource("2", "file://" + str(folder.resolve() / "vcf" / "demo.chr2.vcf.gz"), None),
        VcfSource("X", "file:///data/abs/demo.chrX.vcf.gz", "6f6628284d260e369335f426e46b1183"),
        VcfSource("22", "https://example.org/GEUVADIS.chr22.PH1PH2_465.vcf.gz", None),
        VcfSource("MT", "file://" + str(tmp_path.resolve() / "up" / "demo.chrMT.vcf.gz"), None),
    ]


def test_url_list_relative_from_relative_list_path(tmp_path, monkeypatch):
    write_list(tmp_path / "cfg", "file:vcf/demo.chr3.vcf.gz\n")
    monkeypatch.chdir(tmp_path)
    (source,) = read_url_list("cfg/vcf_urls.txt", PATTERN)
    assert source == VcfSource(
        "3", "file://" + str(tmp_path.resolve() / "cfg" / "vcf" / "demo.chr3.vcf.gz"), None
    )


def test_url_list_bad_md5_column(tmp_path):
    path = write_list(tmp_path, "# header\nvcf/demo.chr1.vcf.gz\tnot-an-md5\n")
    with pytest.raises(DownloadError) as caught:
        read_url_list(path, PATTERN)
    assert str(caught.value) == f"{path}:2: second column 'not-an-md5' is not an md5"


def test_url_list_duplicate_chromosome(tmp_path):
    path = write_list(tmp_path, "a/demo.chr1.vcf.gz\nb/other.chr1.vcf.gz\n")
    with pytest.raises(DownloadError) as caught:
        read_url_list(path, PATTERN)
    assert str(caught.value) == f"{path}:2: a second URL for chromosome 1"


def test_url_list_pattern_must_match_with_error(tmp_path):
    path = write_list(tmp_path, "vcf/demo.chr1.vcf.gz\nvcf/ALL.autosomes.vcf.gz\n")
    with pytest.raises(DownloadError) as caught:
        read_url_list(path, PATTERN, unmatched="error")
    assert str(caught.value) == (
        f"{path}:2: cannot tell the chromosome of 'ALL.autosomes.vcf.gz' with pattern "
        f"{PATTERN!r} (config data.vcf_chromosome_pattern); fix the pattern, or set "
        "data.vcf_unmatched_urls: skip to leave such lines out"
    )


GEUVADIS = (
    "https://www.ebi.ac.uk/biostudies/files/E-GEUV-1/E-GEUV-1/genotypes/"
    "GEUVADIS.chr{}.PH1PH2_465.IMPFRQFILT_BIALLELIC_PH.annotv2.genotypes.vcf.gz"
)
SITES_ONLY = "ALL.phase1_release_v3.20101123.snps_indels_sv.sites.gdid.gdannot.v2.vcf.gz"


def seed_url_list(folder: Path) -> Path:
    """The seed's data/vcf_files/VCF_urls.txt: 22 Geuvadis autosomes, then a sites-only VCF."""
    lines = [GEUVADIS.format(n) for n in range(1, 23)] + [SITES_ONLY]
    return write_list(folder, "\n".join(lines) + "\n")


def test_seed_url_list_skips_its_sites_only_vcf_and_says_so(tmp_path, caplog):
    path = seed_url_list(tmp_path)
    with caplog.at_level(logging.WARNING, logger="haplexpr.vcf.sources"):
        urls = parse_url_list(path, PATTERN)
    assert [s.chrom for s in urls.sources] == [str(n) for n in range(1, 23)]
    assert urls.sources[21].url == GEUVADIS.format(22)
    assert urls.skipped == [f"{path}:23"]
    assert caplog.messages == [
        f"{path}:23: skipped {SITES_ONLY}: a sites-only VCF, which carries no genotypes "
        f"(nothing to read); pattern {PATTERN!r} (config data.vcf_chromosome_pattern) finds "
        "no chromosome in its name (set data.vcf_unmatched_urls: error to refuse such lines)",
        f"{path}: 1 of 23 URLs skipped (no chromosome in the file name); VCFs for 22 chromosomes",
    ]
    with pytest.raises(DownloadError, match=re.escape(f"{path}:23: cannot tell the chromosome of")):
        read_url_list(path, PATTERN, unmatched="error")


def test_url_list_other_unmatched_names_are_skipped_too(tmp_path, caplog):
    path = write_list(tmp_path, "vcf/ALL.autosomes.vcf.gz\nvcf/demo.chr1.vcf.gz\n")
    with caplog.at_level(logging.WARNING, logger="haplexpr.vcf.sources"):
        assert [s.chrom for s in read_url_list(path, PATTERN)] == ["1"]
    assert caplog.messages[0].startswith(
        f"{path}:1: skipped ALL.autosomes.vcf.gz: only per-chromosome VCFs are read"
    )


def test_url_list_of_only_unmatched_names_has_no_urls(tmp_path):
    path = write_list(tmp_path, f"{SITES_ONLY}\n")
    with pytest.raises(DownloadError) as caught:
        read_url_list(path, PATTERN)
    assert str(caught.value) == f"{path}: no URLs whose file name names a chromosome (1 skipped)"


def test_url_list_without_urls(tmp_path):
    path = write_list(tmp_path, "# nothing yet\n\n")
    with pytest.raises(DownloadError) as caught:
        read_url_list(path, PATTERN)
    assert str(caught.value) == f"{path}: no URLs"


def test_url_list_unsupported_scheme(tmp_path):
    path = write_list(tmp_path, "s3://bucket/demo.chr1.vcf.gz\n")
    with pytest.raises(DownloadError) as caught:
        read_url_list(path, PATTERN)
    assert str(caught.value) == (
        "unsupported URL scheme in 's3://bucket/demo.chr1.vcf.gz' (use http(s), ftp or file)"
    )
