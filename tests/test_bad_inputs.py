"""VCF input through the real rules (download, normalise, index).

Bad input stops with a clear error and nothing partial in results/; what normalisation
repairs or the policies accept (renamed contigs, multi-allelic records, unaligned indels,
symbolic alleles, unphased or missing calls) passes; with ``consensus.normalise: false``
records reach consensus as published.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re

import pysam
import pytest
from support import ROOT
from support.pipeline_runs import edit_config, snakemake

VCF = "data/demo/vcf/demo.chr1.vcf.gz"


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


def first_record_last(lines):
    first = first_record(lines)
    return lines[:first] + lines[first + 1 :] + [lines[first]]


def is_snv(fields):
    return len(fields[3]) == 1 and len(fields[4]) == 1


def other_base(base):
    return "A" if base != "A" else "C"


def unused_base(*alleles):
    return next(b for b in "ACGT" if b not in alleles)


def insert_record(pos, ref, alt, first="0|1"):
    """Add a record at ``pos`` (first sample ``first``, everyone else 0|0), keeping order."""

    def edit(lines):
        header = first_record(lines) - 1
        samples = len(lines[header].rstrip("\n").split("\t")) - 9
        fields = ["1", str(pos), ".", ref, alt, ".", "PASS", ".", "GT", first]
        line = "\t".join(fields + ["0|0"] * (samples - 1)) + "\n"
        at = first_record(lines, lambda f: int(f[1]) > pos)
        return lines[:at] + [line] + lines[at:]

    return edit


def reference_seq(chrom="1"):
    with pysam.FastaFile(str(ROOT / "data" / "demo" / "reference.fa")) as fasta:
        return fasta.fetch(chrom).upper()


def record_positions(workdir, vcf=VCF):
    with pysam.VariantFile(str(workdir / vcf)) as records:
        return [r.pos for r in records]


def free_homopolymer(workdir):
    """0-based start of a 2-base run (flanks differ) with no record within 20 bp."""
    seq, taken = reference_seq(), record_positions(workdir)
    for before, after in zip(taken, taken[1:], strict=False):
        for i in range(before + 20, after - 22):  # 0-based i is 1-based i + 1
            if seq[i - 1] != seq[i] == seq[i + 1] != seq[i + 2]:
                return i
    raise AssertionError("no free homopolymer")


def free_position(workdir, after=0):
    """A 1-based position after ``after`` with no record within 20 bp."""
    taken = [p for p in record_positions(workdir) if p > after]
    return next(a + 30 for a, b in zip(taken, taken[1:], strict=False) if b - a > 60)


def set_config(workdir, section, **values):
    edit_config(workdir, lambda config: config[section].update(values))


def run_vcf_target(workdir):
    return snakemake(workdir, "--cores", "1", "results/vcf/1.vcf.gz.csi")


def rule_log(workdir, step):
    return (workdir / "results" / "logs" / "vcf" / f"1.{step}.log").read_text()


def vcf_dir_listing(workdir):
    """Everything under results/vcf (names relative to it), hidden files included."""
    root = workdir / "results" / "vcf"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


DOWNLOADED = ["download", "download/1.vcf.gz"]
NORMALISED = ["1.vcf.gz", *DOWNLOADED]
INDEXED = ["1.check.json", "1.vcf.gz", "1.vcf.gz.csi", *DOWNLOADED]

# case: (edit, failing step, message, what results/vcf holds afterwards)
FAILURES = {
    "vcf: chr-prefixed contigs": (
        rename_contigs,
        "normalise",
        "contig 'chr1' is not in the reference data/demo/reference.fa (it has 1, 2...); the "
        "reference spells it '1': set variants.harmonise_contigs: true in config.yaml",
        DOWNLOADED,
    ),
    "vcf: REF mismatch": (
        edit_field(3, lambda f: other_base(f[3]), is_snv),
        "normalise",
        "; is the VCF on the same genome build as the reference?",
        DOWNLOADED,
    ),
    "vcf: unphased genotype": (
        edit_field(9, lambda f: "0/1", is_snv),
        "index",
        "unphased heterozygous genotype",
        NORMALISED,
    ),
    "vcf: study sample absent from the VCF": (
        drop_sample,
        "normalise",
        "1 study samples are not in the VCF, e.g. HG00125",
        DOWNLOADED,
    ),
    "vcf: unsorted records": (
        first_record_last,
        "index",
        "(1:57): position 57 comes after 697782: the records are not sorted; sort the VCF with "
        "bcftools sort (in the pipeline: the file data.vcf_urls lists for this chromosome)",
        NORMALISED,
    ),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_bad_vcf_stops_with_a_clear_message(workdir, case):
    edit, step, message, left = FAILURES[case]
    rewrite_vcf(workdir, edit)
    result = run_vcf_target(workdir)
    assert result.returncode != 0
    log = rule_log(workdir, step)
    assert message in log, log
    if case == "vcf: REF mismatch":
        assert re.search(r"1\.vcf\.gz: record \d+ \(1:\d+\): REF [ACGT] but the reference has", log)
    # names the file the problem is in
    assert (
        "results/vcf/download/1.vcf.gz" if step == "normalise" else "results/vcf/1.vcf.gz"
    ) in log
    assert vcf_dir_listing(workdir) == left  # no output of the failed step, no temp files


def test_chr_prefixed_contigs_are_renamed_when_asked(workdir):
    rewrite_vcf(workdir, rename_contigs)
    set_config(workdir, "variants", harmonise_contigs=True)
    assert run_vcf_target(workdir).returncode == 0
    assert "renamed 1 contigs: chr1 -> 1" in rule_log(workdir, "normalise")
    with pysam.VariantFile(str(workdir / "results" / "vcf" / "1.vcf.gz")) as vcf:
        assert {r.chrom for r in vcf} == {"1"}
    assert vcf_dir_listing(workdir) == INDEXED


def test_chr_prefixed_contigs_are_renamed_by_a_contig_map(workdir):
    rewrite_vcf(workdir, rename_contigs)
    (workdir / "contigs.txt").write_text("chr1 1\nchr2 2\n")
    set_config(workdir, "variants", contig_map="contigs.txt")
    assert run_vcf_target(workdir).returncode == 0
    assert "renamed 1 contigs: chr1 -> 1" in rule_log(workdir, "normalise")
    with pysam.VariantFile(str(workdir / "results" / "vcf" / "1.vcf.gz")) as vcf:
        assert {r.chrom for r in vcf} == {"1"}


def test_multiallelic_record_is_split(workdir):
    pos = free_position(workdir)
    ref = reference_seq()[pos - 1]
    alts = [b for b in "ACGT" if b != ref][:2]
    rewrite_vcf(workdir, insert_record(pos, ref, ",".join(alts), first="1|2"))
    assert run_vcf_target(workdir).returncode == 0
    with pysam.VariantFile(str(workdir / "results" / "vcf" / "1.vcf.gz")) as vcf:
        records = list(vcf)
        assert all(len(r.alts) == 1 for r in records)
        split = [(r.alts[0], r.samples[0]["GT"]) for r in records if r.pos == pos]
    assert split == [(alts[0], (1, 0)), (alts[1], (0, 1))]
    assert len(records) == len(record_positions(workdir)) + 1
    assert "1 split" in rule_log(workdir, "normalise")


def test_indel_is_left_aligned(workdir):
    i = free_homopolymer(workdir)  # seq[i] == seq[i + 1]: deleting either gives one sequence
    seq = reference_seq()
    # written at its rightmost spelling: 1-based POS i + 1 deletes the base at i + 1
    rewrite_vcf(workdir, insert_record(i + 1, seq[i : i + 2], seq[i]))
    assert run_vcf_target(workdir).returncode == 0
    with pysam.VariantFile(str(workdir / "results" / "vcf" / "1.vcf.gz")) as vcf:
        near = [(r.pos, r.ref, r.alts) for r in vcf.fetch("1", i - 20, i + 20)]
    assert near == [(i, seq[i - 1 : i + 1], (seq[i - 1],))]
    assert "1 realigned" in rule_log(workdir, "normalise")


def test_symbolic_and_star_records_are_dropped_and_counted(workdir):
    seq = reference_seq()
    first = free_position(workdir)
    second = free_position(workdir, after=first + 30)
    edit_one = insert_record(first, seq[first - 1], "<DEL>")
    edit_two = insert_record(second, seq[second - 1], "*")
    rewrite_vcf(workdir, lambda lines: edit_two(edit_one(lines)))
    assert run_vcf_target(workdir).returncode == 0
    assert (
        "WARNING haplexpr.vcf.normalise: skipped 2 records with symbolic or * alleles or no ALT "
        "(1 * ALT, 1 symbolic ALT)"
    ) in rule_log(workdir, "normalise")
    positions = record_positions(workdir, "results/vcf/1.vcf.gz")
    assert first not in positions and second not in positions
    assert len(positions) == len(record_positions(workdir)) - 2


def test_records_stay_as_published_without_normalising(workdir):
    """consensus.normalise: false: multi-allelic, symbolic and * records reach consensus."""
    seq = reference_seq()
    first = free_position(workdir)
    second = free_position(workdir, after=first + 30)
    alts = [b for b in "ACGT" if b != seq[first - 1]][:2]
    edit_one = insert_record(first, seq[first - 1], ",".join(alts), first="1|2")
    edit_two = insert_record(second, seq[second - 1], "*,<DEL>")
    rewrite_vcf(workdir, lambda lines: edit_two(edit_one(lines)))
    set_config(workdir, "consensus", normalise=False)
    assert run_vcf_target(workdir).returncode == 0
    assert "split" not in rule_log(workdir, "normalise")
    with pysam.VariantFile(str(workdir / "results" / "vcf" / "1.vcf.gz")) as vcf:
        kept = {r.pos: r.alts for r in vcf if r.pos in (first, second)}
    assert kept == {first: tuple(alts), second: ("*", "<DEL>")}


def test_unphased_genotype_passes_as_listed(workdir):
    rewrite_vcf(workdir, edit_field(9, lambda f: "0/1", is_snv))
    set_config(workdir, "consensus", unphased="as_listed")
    assert run_vcf_target(workdir).returncode == 0
    log = rule_log(workdir, "index")
    assert "1 unphased heterozygous calls of study samples" in log
    report = json.loads((workdir / "results" / "vcf" / "1.check.json").read_text())
    assert (report["unphased_policy"], report["unphased_heterozygous_calls"]) == ("as_listed", 1)


@pytest.mark.parametrize(("policy", "fill"), [("reference", "the reference base"), ("N", "N")])
def test_missing_genotype_passes_with_a_warning(workdir, policy, fill):
    rewrite_vcf(workdir, edit_field(9, lambda f: ".|1", is_snv))
    set_config(workdir, "consensus", missing=policy)
    assert run_vcf_target(workdir).returncode == 0
    assert (
        "WARNING haplexpr.vcf.check: results/vcf/1.vcf.gz: 1 genotype calls of study samples "
        f"have a missing allele; consensus writes {fill} for it (consensus.missing: {policy})"
    ) in rule_log(workdir, "index")
    report = json.loads((workdir / "results" / "vcf" / "1.check.json").read_text())
    assert (report["missing_policy"], report["missing_calls"]) == (policy, 1)


def test_truncated_download_is_rejected(workdir):
    path = workdir / VCF
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    set_md5(workdir, hashlib.md5(data).hexdigest())
    result = snakemake(workdir, "--cores", "1", "results/vcf/download/1.vcf.gz")
    assert result.returncode != 0
    log = (workdir / "results" / "logs" / "vcf" / "download" / "1.log").read_text()
    assert "md5" in log and "does not match" in log
    assert not (workdir / "results" / "vcf" / "download" / "1.vcf.gz").exists()


def test_wrong_md5_is_rejected(workdir):
    set_md5(workdir, "0" * 32)
    result = snakemake(workdir, "--cores", "1", "results/vcf/download/1.vcf.gz")
    assert result.returncode != 0
    log = (workdir / "results" / "logs" / "vcf" / "download" / "1.log").read_text()
    assert "does not match the expected 00000000000000000000000000000000" in log
    assert not list((workdir / "results" / "vcf" / "download").glob("1.vcf.gz*"))
