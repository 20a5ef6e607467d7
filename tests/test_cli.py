"""``haplexpr sequence``: one personal haplotype as FASTA, checked against a hand-built one."""

from __future__ import annotations

import pysam
import pytest
from support.pipeline_runs import REPO

from haplexpr.cli import main
from haplexpr.vcf.check import index_vcf

DEMO = REPO / "data" / "demo"


@pytest.fixture(scope="module")
def demo_vcf(tmp_path_factory):
    """An indexed copy of the demo's chromosome-1 VCF."""
    vcf = tmp_path_factory.mktemp("vcf") / "1.vcf.gz"
    vcf.write_bytes((DEMO / "vcf" / "demo.chr1.vcf.gz").read_bytes())
    index_vcf(vcf)
    return vcf


def expected_haplotype(vcf, sample, haplotype, chrom, start, end):
    """Apply the sample's ALT alleles inside [start, end) by hand (0-based, no edge records)."""
    reference = pysam.FastaFile(str(DEMO / "reference.fa"))
    seq, position = [], start
    with pysam.VariantFile(str(vcf)) as records:
        for record in records.fetch(chrom, start, end):
            assert record.start >= start and record.stop <= end, "pick a region without edges"
            seq.append(reference.fetch(chrom, position, record.start))
            allele = record.samples[sample]["GT"][haplotype - 1]
            seq.append(record.alleles[allele])
            position = record.stop
    seq.append(reference.fetch(chrom, position, end))
    return "".join(seq)


@pytest.mark.parametrize("engine", ["fast", "bcftools"])
def test_sequence_matches_variants_applied_by_hand(demo_vcf, capsys, engine):
    # a 3-kb stretch whose records lie inside it, with indels among them
    start, end = 100_000, 103_000
    with pysam.VariantFile(str(demo_vcf)) as records:
        inside = list(records.fetch("1", start, end))
    assert any(len(r.ref) != len(r.alts[0]) for r in inside)
    sample = "HG00125"
    for haplotype in (1, 2):
        region = f"1:{start + 1}-{end}"
        code = main(
            ["sequence", "--reference", str(DEMO / "reference.fa"), "--vcf", str(demo_vcf),
             "--sample", sample, "--haplotype", str(haplotype), "--region", region,
             "--engine", engine]
        )  # fmt: skip
        assert code == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0] == f">{sample}_hap{haplotype} {region}"
        got = "".join(lines[1:])
        assert got == expected_haplotype(demo_vcf, sample, haplotype, "1", start, end)


@pytest.mark.parametrize(
    ("sample", "region", "message"),
    [
        ("NOPE", "1:101-200", "NOPE"),
        ("HG00125", "chr1:101-200", "contig 'chr1' is not in the reference"),
        ("HG00125", "1:200-100", "START <= END"),
    ],
)
def test_bad_input_is_a_clear_error(demo_vcf, capsys, sample, region, message):
    code = main(
        ["sequence", "--reference", str(DEMO / "reference.fa"), "--vcf", str(demo_vcf),
         "--sample", sample, "--haplotype", "1", "--region", region]
    )  # fmt: skip
    assert code == 1
    assert message in capsys.readouterr().err


def test_metrics_without_summaries_is_a_clear_error(tmp_path, capsys):
    assert main(["metrics", str(tmp_path)]) == 1
    assert "no metrics summaries" in capsys.readouterr().err
