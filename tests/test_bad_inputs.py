"""Bad input fed through the real rules: a clear error, and nothing partial in results/."""

from __future__ import annotations

import gzip
import hashlib
import shutil

import pysam
import pytest
from pipeline_runs import REPO, snakemake

VCF = "data/demo/vcf/demo.chr1.vcf.gz"


@pytest.fixture
def workdir(tmp_path):
    """A working directory with its own copy of the demo data, free to be corrupted."""
    shutil.copytree(REPO / "data" / "demo", tmp_path / "data" / "demo")
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    return tmp_path


def rewrite_vcf(workdir, edit):
    """Apply ``edit(lines) -> lines`` to the chromosome-1 VCF; refresh its md5 in the URL list."""
    path = workdir / VCF
    lines = gzip.decompress(path.read_bytes()).decode().splitlines(keepends=True)
    plain = path.with_suffix("")
    plain.write_text("".join(edit(lines)))
    pysam.tabix_compress(str(plain), str(path), force=True)
    plain.unlink()
    set_md5(workdir, hashlib.md5(path.read_bytes()).hexdigest())


def set_md5(workdir, md5):
    urls = workdir / "data" / "demo" / "vcf_urls.txt"
    lines = [
        f"{line.split()[0]} {md5}" if "chr1" in line else line
        for line in urls.read_text().splitlines()
    ]
    urls.write_text("\n".join(lines) + "\n")


def first_record(lines, predicate=lambda fields: True):
    """Index of the first data line whose fields satisfy ``predicate``."""
    for number, line in enumerate(lines):
        if not line.startswith("#") and predicate(line.split("\t")):
            return number
    raise AssertionError("no such record")


def edit_field(column, value, predicate=lambda fields: True):
    def edit(lines):
        number = first_record(lines, predicate)
        fields = lines[number].rstrip("\n").split("\t")
        fields[column] = value(fields)
        lines[number] = "\t".join(fields) + "\n"
        return lines

    return edit


def rename_contigs(lines):
    return [
        line.replace("##contig=<ID=1,", "##contig=<ID=chr1,")
        if line.startswith("##")
        else (line if line.startswith("#") else "chr" + line)
        for line in lines
    ]


def drop_sample(lines):
    header = first_record(lines) - 1
    names = lines[header].rstrip("\n").split("\t")
    drop = names.index("HG00125")
    return [
        line if line.startswith("##") else "\t".join(
            f for i, f in enumerate(line.rstrip("\n").split("\t")) if i != drop
        ) + "\n"
        for line in lines
    ]  # fmt: skip


def is_snv(fields):
    return len(fields[3]) == 1 and len(fields[4]) == 1


def other_base(base):
    return "A" if base != "A" else "C"


def unused_base(*alleles):
    return next(b for b in "ACGT" if b not in alleles)


CASES = {
    "chr-prefixed contigs": (rename_contigs, "contig 'chr1' is not in the reference"),
    "REF mismatch": (
        edit_field(3, lambda f: other_base(f[3]), is_snv),
        "but the reference has",
    ),
    "unphased genotype": (
        edit_field(9, lambda f: "0/1", is_snv),
        "unphased heterozygous genotype",
    ),
    "missing genotype": (edit_field(9, lambda f: ".|1", is_snv), "missing genotype"),
    "multi-allelic record": (
        edit_field(
            4, lambda f: f"{f[4]},{other_base(f[4])}" if f[4] != other_base(f[4]) else "G,T", is_snv
        ),  # fmt: skip
        "split multi-allelic records first (bcftools norm -m -both -f REF)",
    ),
    "study sample absent from the VCF": (drop_sample, "HG00125"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_vcf_stops_at_the_check_with_a_clear_message(workdir, case):
    edit, message = CASES[case]
    rewrite_vcf(workdir, edit)
    result = snakemake(workdir, "--cores", "1", "results/vcf/1.vcf.gz.csi")
    assert result.returncode != 0
    log = (workdir / "results" / "logs" / "vcf" / "1.index.log").read_text()
    assert message in log, log
    assert "demo.chr1" in log or "results/vcf/1.vcf.gz" in log  # names the file
    vcf_dir = workdir / "results" / "vcf"
    assert sorted(p.name for p in vcf_dir.iterdir()) == ["1.vcf.gz"]  # no index, no temp files


def test_truncated_download_is_rejected(workdir):
    path = workdir / VCF
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    set_md5(workdir, hashlib.md5(data).hexdigest())
    result = snakemake(workdir, "--cores", "1", "results/vcf/1.vcf.gz")
    assert result.returncode != 0
    log = (workdir / "results" / "logs" / "vcf" / "1.download.log").read_text()
    assert "md5" in log and "does not match" in log
    assert not (workdir / "results" / "vcf" / "1.vcf.gz").exists()


def test_wrong_md5_is_rejected(workdir):
    set_md5(workdir, "0" * 32)
    result = snakemake(workdir, "--cores", "1", "results/vcf/1.vcf.gz")
    assert result.returncode != 0
    log = (workdir / "results" / "logs" / "vcf" / "1.download.log").read_text()
    assert "does not match the expected 00000000000000000000000000000000" in log
    assert not list((workdir / "results" / "vcf").glob("1.vcf.gz*"))
