"""Bad VCFs given to the CLI (``haplexpr sequence``, which runs the pipeline's checks on one
indexed region): exit status 1, a message naming the file, the record and the fix, nothing
on stdout and nothing written next to the inputs.
"""

from __future__ import annotations

import gzip
import os

import pysam
import pytest
from support.pipeline_runs import file_listing

from haplexpr.cli import main

DEMO_VCF = "data/demo/vcf/demo.chr1.vcf.gz"
REFERENCE = "data/demo/reference.fa"


def write_vcf(workdir, edit=lambda lines: lines, index=True):
    """``calls.vcf.gz``: the demo's chromosome 1 after ``edit(lines)``, bgzipped (+ CSI)."""
    lines = gzip.decompress((workdir / DEMO_VCF).read_bytes()).decode().splitlines(True)
    plain = workdir / "calls.vcf"
    plain.write_text("".join(edit(lines)))
    path = workdir / "calls.vcf.gz"
    pysam.tabix_compress(str(plain), str(path), force=True)
    plain.unlink()
    if index:
        pysam.tabix_index(str(path), preset="vcf", csi=True, force=True)
    return path


def records_at(edit_one, number):
    """Apply ``edit_one(fields) -> fields`` to data record ``number`` (1-based)."""

    def edit(lines):
        at = [i for i, line in enumerate(lines) if not line.startswith("#")][number - 1]
        lines[at] = "\t".join(edit_one(lines[at].rstrip("\n").split("\t"))) + "\n"
        return lines

    return edit


def duplicate_first_sample(lines):
    at = next(i for i, line in enumerate(lines) if line.startswith("#CHROM"))
    names = lines[at].rstrip("\n").split("\t")
    names[10] = names[9]
    lines[at] = "\t".join(names) + "\n"
    return lines


def truncated(workdir):
    path = write_vcf(workdir)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def stale_index(workdir):
    path = write_vcf(workdir)
    index = workdir / "calls.vcf.gz.csi"
    os.utime(index, (path.stat().st_mtime - 60,) * 2)
    return path


# case: (builds the bad VCF in the working directory, message fragments)
CASES = {
    "vcf: malformed line": (
        lambda workdir: write_vcf(workdir, records_at(lambda fields: fields[:5], 2)),
        [
            "calls.vcf.gz: record 2 (1:112): sample HG00125 has no genotype: the record has no "
            "FORMAT and sample columns; is the line malformed"
        ],
    ),  # fmt: skip
    "vcf: truncated BGZF": (
        truncated,
        ["calls.vcf.gz: no BGZF end-of-file block: the file is truncated", "download it again"],
    ),
    "vcf: missing index": (
        lambda workdir: write_vcf(workdir, index=False),
        ["calls.vcf.gz: cannot fetch 1:1-3000", "index it with bcftools index"],
    ),
    "vcf: stale index": (
        stale_index,
        ["calls.vcf.gz.csi is older than", "rebuild it with bcftools index -f"],
    ),
    "vcf: duplicate samples": (
        lambda workdir: write_vcf(workdir, duplicate_first_sample),
        [
            "calls.vcf.gz: samples listed twice in the header: HG00125",
            "bcftools reheader --samples",
        ],
    ),  # fmt: skip
    "vcf: non-diploid ploidy": (
        lambda workdir: write_vcf(
            workdir, records_at(lambda fields: [*fields[:9], "0|1|1", *fields[10:]], 1)
        ),
        [
            "calls.vcf.gz: record 1 (1:57): sample HG00125 has a genotype of 3 alleles",
            "must be haploid or diploid",
        ],
    ),  # fmt: skip
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_vcf_stops_the_cli(workdir, capsys, case):
    build, fragments = CASES[case]
    vcf = build(workdir)
    before = file_listing(workdir)
    status = main(
        ["sequence", "--reference", str(workdir / REFERENCE), "--vcf", str(vcf),
         "--sample", "HG00125", "--haplotype", "1", "--region", "1:1-3000"]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert status == 1
    assert err.startswith(f"haplexpr sequence: {vcf}"), err
    for fragment in fragments:
        assert fragment in err, err
    assert out == ""
    assert file_listing(workdir) == before
