"""``haplexpr sequence``: one personal haplotype as FASTA, checked against a hand-built one."""

from __future__ import annotations

import pysam
import pytest
from support import ROOT
from support.consensus_edge_cases import CONTIGS
from support.consensus_parity import ParityInput, Record, all_jobs, run_bcftools, write_inputs

from haplexpr.cli import main
from haplexpr.coordinates import samtools_region
from haplexpr.vcf.check import index_vcf

DEMO = ROOT / "data" / "demo"


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


RAW_RECORDS = ("1 13 G T,GCC 1|2 2|0", "1 20 A <DEL> END=24 0|1 1|1", "1 33 A *,G 1|2 0|2")


@pytest.mark.parametrize("engine", ["fast", "bcftools"])
@pytest.mark.parametrize("region", ["1", "1:11-30", "1:31", "1:51-99"])
def test_raw_multiallelic_records_give_bcftools_bytes(tmp_path, capsys, engine, region):
    """Unsplit records (1|2, <DEL>, *) over samtools regions, whole contig included."""
    records = tuple(Record.parse(text) for text in RAW_RECORDS)
    length = len(CONTIGS["1"])
    interval = samtools_region(region, {"1": length})
    data = ParityInput({"1": CONTIGS["1"]}, ("S1", "S2"), records, (interval,))
    files = write_inputs(data, tmp_path)
    jobs = all_jobs(data, "reference")
    expected = run_bcftools(files, jobs, data.windows)
    assert not expected.failures
    for job in jobs:
        code = main(
            ["sequence", "--reference", str(files.reference), "--vcf", str(files.vcf),
             "--sample", job.sample, "--haplotype", str(job.haplotype), "--region", region,
             "--engine", engine]
        )  # fmt: skip
        assert code == 0, capsys.readouterr().err
        lines = capsys.readouterr().out.splitlines()
        assert lines[0] == f">{job.sample}_hap{job.haplotype} {region}"
        assert "".join(lines[1:]) == expected.sequences[job][0], job


# Unphased, half-missing, multi-allelic and indel calls: what the bcftools options change.
OPTION_RECORDS = (
    "1 13 G A,T 0/1 1/2",
    "1 16 G GTT ./1 0|1",
    "1 20 ACG A 1/0 0/.",
    "1 25 A C ./. .|1",
    "1 27 C T 1 0/1",
)
# (haplexpr sequence options, the bcftools job's missing, variants, unphased)
OPTION_SETS = [
    (["-H", "{h}pIu", "-M", "N"], "N", "all", "iupac"),
    (["-H", "{h}pIu", "-M", "N", "-i", "type='snp'"], "N", "snvs", "iupac"),
    (["--haplotype", "{h}pIu", "--snvs"], "reference", "snvs", "iupac"),
    (["-H", "{h}"], "reference", "all", "as_listed"),
    (["-H", "{h}", "--missing", "N", "--include", 'type="snp"'], "N", "snvs", "as_listed"),
    (["-H", "{h}", "--unphased", "iupac"], "reference", "all", "iupac"),
]


@pytest.mark.parametrize("engine", ["fast", "bcftools"])
@pytest.mark.parametrize(("options", "missing", "variants", "unphased"), OPTION_SETS)
def test_bcftools_options_give_bcftools_bytes(
    tmp_path, capsys, engine, options, missing, variants, unphased
):
    """-H 1pIu|2pIu, -M N, -i "type='snp'" / --snvs as bcftools consensus 1.24 writes them."""
    records = tuple(Record.parse(text) for text in OPTION_RECORDS)
    data = ParityInput(
        {"1": CONTIGS["1"]}, ("S1", "S2"), records, (samtools_region("1:11-30", {"1": 60}),)
    )
    files = write_inputs(data, tmp_path)
    jobs = all_jobs(data, missing, variants, unphased)
    expected = run_bcftools(files, jobs, data.windows)
    assert not expected.failures
    for job in jobs:
        code = main(
            ["sequence", "-f", str(files.reference), "--vcf", str(files.vcf), "-s", job.sample,
             "--region", "1:11-30", "--engine", engine,
             *(o.format(h=job.haplotype) for o in options)]
        )  # fmt: skip
        assert code == 0, capsys.readouterr().err
        lines = capsys.readouterr().out.splitlines()
        assert lines[0] == f">{job.sample}_hap{job.haplotype} 1:11-30"
        assert "".join(lines[1:]) == expected.sequences[job][0], (job, options)


def sequence_error(files, *options) -> int:
    """Run haplexpr sequence on S1 over 1:11-30 with the options; its exit status."""
    code = main(
        ["sequence", "-f", str(files.reference), "--vcf", str(files.vcf), "-s", "S1",
         "--region", "1:11-30", *options]
    )  # fmt: skip
    return code


@pytest.fixture
def small_files(tmp_path):
    records = (Record.parse("1 13 G A 0/1"),)
    data = ParityInput(
        {"1": CONTIGS["1"]}, ("S1",), records, (samtools_region("1:11-30", {"1": 60}),)
    )
    return write_inputs(data, tmp_path)


@pytest.mark.parametrize(
    "option",
    [["-a", "N"], ["-e", "QUAL<10"], ["-p", "x_"], ["--mark-del", "-"], ["-I"], ["-m", "mask.bed"]],
)
def test_unsupported_bcftools_option_is_named(small_files, capsys, option):
    assert sequence_error(small_files, "-H", "1", *option) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"haplexpr sequence: {' '.join(option)}: not supported by haplexpr sequence; "
        "supported: -H/--haplotype 1|2|1pIu|2pIu, -M/--missing N, -i/--include"
    )


def test_include_expressions_other_than_snvs_are_refused(small_files, capsys):
    assert sequence_error(small_files, "-H", "1", "-i", "type='indel'") == 1
    assert (
        "-i/--include \"type='indel'\" is not supported by haplexpr sequence; supported: "
        "-i \"type='snp'\""
    ) in capsys.readouterr().err


def test_pIu_contradicting_unphased_is_refused(small_files, capsys):
    assert sequence_error(small_files, "-H", "2pIu", "--unphased", "error") == 1
    assert "-H 2pIu writes IUPAC codes at unphased calls; it contradicts --unphased error" in (
        capsys.readouterr().err
    )


def test_unphased_error_refuses_an_unphased_call(small_files, capsys):
    assert sequence_error(small_files, "-H", "1", "--unphased", "error") == 1
    assert "sample S1 has an unphased heterozygous genotype" in capsys.readouterr().err


@pytest.mark.parametrize("engine", ["fast", "bcftools"])
def test_tetraploid_call_is_refused_by_name(tmp_path, capsys, engine):
    """bcftools' own test consensus7 has a 0|1|0|1 call: one or two haplotypes here."""
    records = (Record.parse("1 13 G A 0|1|0|1"),)
    data = ParityInput(
        {"1": CONTIGS["1"]}, ("S1",), records, (samtools_region("1:11-30", {"1": 60}),)
    )
    files = write_inputs(data, tmp_path)
    assert sequence_error(files, "-H", "2", "--engine", engine) == 1
    assert "sample S1 has a genotype of 4 alleles; personal sequences have one or two" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize("engine", ["fast", "bcftools"])
def test_haplotype_2_is_built_where_bcftools_aborts_on_haplotype_1(tmp_path, capsys, engine):
    """Only the requested haplotype is built: bcftools 1.24 aborts on haplotype 1 here."""
    records = (Record.parse("1 9 CATCG AG 1|0"),)
    data = ParityInput(
        {"1": CONTIGS["1"]}, ("S1",), records, (samtools_region("1:11-30", {"1": 60}),)
    )
    files = write_inputs(data, tmp_path)
    assert sequence_error(files, "-H", "2", "--engine", engine) == 0, capsys.readouterr().err
    assert "".join(capsys.readouterr().out.splitlines()[1:]) == CONTIGS["1"][10:30]
    if engine == "bcftools":
        assert sequence_error(files, "-H", "1", "--engine", engine) == 1
        assert "haplotype 1" in capsys.readouterr().err
