"""Tests for haplexpr.vcf.check: VCF checks against the reference and study, and indexing."""

import random
from collections import Counter
from pathlib import Path

import pysam
import pytest
from support import vcf_files
from support.vcf_files import record_line, write_fasta

from haplexpr.coordinates import Interval
from haplexpr.vcf import check as variants
from haplexpr.vcf.check import VariantInputError, check_vcf, index_vcf

SAMPLES = ["S1", "S2", "S3"]


@pytest.fixture(scope="module")
def genome():
    """Contig sequences of the tiny reference (1-based position p is seq[p - 1])."""
    rng = random.Random(11)
    return {
        name: "".join(rng.choice("ACGT") for _ in range(length))
        for name, length in (("1", 300), ("2", 120))
    }


@pytest.fixture
def reference(tmp_path, genome):
    return write_fasta(tmp_path / "reference.fa", genome)


def other_base(base: str) -> str:
    return {"A": "C", "C": "G", "G": "T", "T": "A"}[base]


def write_vcf(
    folder: Path, records: list[str], contig: str = "1", samples=SAMPLES, fmt: str = "GT"
) -> Path:
    """bgzip a VCF with the given records (``CHROM POS REF ALT <FORMAT values>...``)."""
    lines = []
    for record in records:
        chrom, pos, ref, alt, *calls = record.split()
        lines.append(record_line(chrom, pos, ref, alt, calls, fmt))
    return vcf_files.write_vcf(folder / "calls.vcf.gz", lines, samples, {contig: 300, "2": 120})


def snv(genome, pos: int, gts: str, chrom: str = "1", label: str | None = None) -> str:
    ref = genome[chrom][pos - 1]
    return f"{label or chrom} {pos} {ref} {other_base(ref)} {gts}"


def check_error(vcf, reference, samples=SAMPLES, chrom="1", **policies) -> str:
    with pytest.raises(VariantInputError) as caught:
        check_vcf(vcf, reference, chrom, samples, **policies)
    return str(caught.value)


def test_clean_vcf_counts_snvs_and_indels(tmp_path, reference, genome):
    seq = genome["1"]
    records = [
        snv(genome, 10, "0|1 1|1 0|0"),
        snv(genome, 20, "1|0 0|0 0|0"),
        # Deletion of two bases after position 30, insertion after 40.
        f"1 30 {seq[29:32]} {seq[29]} 0|1 0|0 1|1",
        f"1 40 {seq[39]} {seq[39]}GGT 0|0 0|1 0|0",
        snv(genome, 50, "1/1 0/0 0|1"),  # unphased homozygous calls are unambiguous
    ]
    vcf = write_vcf(tmp_path, records)
    report = check_vcf(vcf, reference, "1", SAMPLES)
    assert (report.vcf, report.contig) == (str(vcf), "1")
    assert (report.records, report.snvs, report.indels) == (5, 3, 2)
    assert report.skipped == Counter()
    assert report.samples_checked == 3
    assert report.missing_calls == report.haploid_calls == report.unphased_heterozygous_calls == 0
    assert (report.unphased_policy, report.missing_policy) == ("error", "reference")


def test_soft_masked_reference_matches_upper_case_ref(tmp_path, genome):
    path = tmp_path / "masked.fa"
    path.write_text(">1\n" + genome["1"].lower() + "\n")
    vcf = write_vcf(tmp_path, [snv(genome, 12, "0|1 0|0 1|1")])
    report = check_vcf(vcf, path, "1", SAMPLES)
    assert (report.records, report.snvs, report.indels) == (1, 1, 0)


def test_chr_prefixed_contig_against_bare_reference(tmp_path, reference, genome):
    vcf = write_vcf(tmp_path, [snv(genome, 15, "0|1 0|0 0|0", label="chr1")], contig="chr1")
    assert check_error(vcf, reference) == (
        f"{vcf}: record 1 (chr1:15): contig 'chr1' is not in the reference {reference} "
        "(it has 1, 2...); rename the VCF's contigs (bcftools annotate --rename-chrs) "
        "or use the matching reference"
    )


def test_record_on_another_chromosome(tmp_path, reference, genome):
    vcf = write_vcf(
        tmp_path, [snv(genome, 15, "0|1 0|0 0|0"), snv(genome, 7, "0|1 0|0 0|0", chrom="2")]
    )
    assert check_error(vcf, reference) == (
        f"{vcf}: record 2 (2:7): contig '2' in the VCF listed for chromosome 1"
    )


def test_chr_named_reference_and_vcf_listed_for_bare_chromosome(tmp_path, genome):
    # The chromosome wildcard comes from the VCF's URL ("1"); reference and VCF say chr1.
    reference = write_fasta(tmp_path / "chr.fa", genome, prefix="chr")
    records = [
        snv(genome, 15, "0|1 0|0 0|0", label="chr1"),
        snv(genome, 40, "1|1 0|1 0|0", label="chr1"),
    ]
    vcf = write_vcf(tmp_path, records, contig="chr1")
    report = check_vcf(vcf, reference, "1", SAMPLES)
    assert (report.contig, report.records, report.snvs) == ("1", 2, 2)
    # A record on another chromosome still fails, under either spelling.
    vcf = write_vcf(tmp_path, [*records, snv(genome, 7, "0|1 0|0 0|0", chrom="2", label="chr2")])
    assert check_error(vcf, reference) == (
        f"{vcf}: record 3 (chr2:7): contig 'chr2' in the VCF listed for chromosome 1"
    )


def test_ref_disagreeing_with_reference(tmp_path, reference, genome):
    seq = genome["1"]
    wrong = other_base(seq[24])
    records = [snv(genome, 10, "0|1 0|0 0|0"), f"1 25 {wrong} {other_base(wrong)} 0|1 0|0 0|0"]
    vcf = write_vcf(tmp_path, records)
    assert check_error(vcf, reference) == (
        f"{vcf}: record 2 (1:25): REF {wrong} but the reference has {seq[24]}; "
        "is the VCF on the same genome build as the reference?"
    )


def test_multibase_ref_disagreeing_with_reference(tmp_path, reference, genome):
    seq = genome["1"]
    ref = seq[59] + other_base(seq[60])
    vcf = write_vcf(tmp_path, [f"1 60 {ref} {seq[59]} 0|1 0|0 0|0"])
    assert check_error(vcf, reference) == (
        f"{vcf}: record 1 (1:60): REF {ref} but the reference has {seq[59:61]}; "
        "is the VCF on the same genome build as the reference?"
    )


def test_ref_checks_across_reference_windows(tmp_path, reference, genome, monkeypatch):
    monkeypatch.setattr(variants, "_REFERENCE_WINDOW", 4)  # fetched 4 bases at a time
    seq = genome["1"]
    records = [
        snv(genome, 10, "0|1 0|0 0|0"),
        f"1 11 {seq[10:20]} {seq[10]} 0|1 0|0 0|0",  # deletion longer than a window
        snv(genome, 13, "0|1 0|0 0|0"),  # inside the deletion: behind the last window
        snv(genome, 298, "0|1 0|0 0|0"),
        f"1 299 {seq[298:]}A {seq[298]} 0|1 0|0 0|0",  # REF past the contig's end
    ]
    vcf = write_vcf(tmp_path, records)
    assert check_error(vcf, reference) == (
        f"{vcf}: record 5 (1:299): REF {seq[298:]}A but the reference has {seq[298:]}; "
        "is the VCF on the same genome build as the reference?"
    )
    report = check_vcf(write_vcf(tmp_path, records[:4]), reference, "1", SAMPLES)
    assert (report.records, report.snvs, report.indels) == (4, 3, 1)


def test_unphased_heterozygous_genotype(tmp_path, reference, genome):
    vcf = write_vcf(tmp_path, [snv(genome, 10, "0|1 1/1 0|0"), snv(genome, 33, "0|0 0/1 1|1")])
    assert check_error(vcf, reference) == (
        f"{vcf}: record 2 (1:33): sample S2 has an unphased heterozygous genotype; "
        "personal haplotypes need phased genotypes (phase the VCF first, or set "
        "consensus.unphased: as_listed to give haplotype 1 the allele written first, or "
        "iupac to write the IUPAC code on both, as the seed's bcftools -H 1pIu)"
    )


def test_unphased_heterozygous_genotype_as_listed_is_counted(tmp_path, reference, genome, caplog):
    records = [snv(genome, 10, "0|1 1/1 0|0"), snv(genome, 33, "0|0 0/1 1/0")]
    vcf = write_vcf(tmp_path, records)
    report = check_vcf(vcf, reference, "1", SAMPLES, unphased="as_listed")
    assert (report.records, report.unphased_heterozygous_calls) == (2, 2)
    assert report.unphased_policy == "as_listed"
    assert "2 unphased heterozygous calls" in caplog.text


def test_unphased_calls_under_iupac_are_counted(tmp_path, reference, genome, caplog):
    """Two-allele unphased calls get a code; a half-missing one its called allele."""
    records = [snv(genome, 10, "0|1 1/1 0/1"), snv(genome, 33, "0/. 0/1 1/0")]
    vcf = write_vcf(tmp_path, records)
    report = check_vcf(vcf, reference, "1", SAMPLES, unphased="iupac")
    assert (report.unphased_heterozygous_calls, report.iupac_calls) == (4, 3)
    assert report.unphased_policy == "iupac"
    assert (
        "4 unphased heterozygous calls of study samples; both haplotypes get the IUPAC code "
        "of 3 of them"
    ) in caplog.text


def test_unknown_policy_is_rejected(tmp_path, reference, genome):
    vcf = write_vcf(tmp_path, [snv(genome, 10, "0|1 0|0 0|0")])
    with pytest.raises(ValueError, match="unphased must be one of"):
        check_vcf(vcf, reference, "1", SAMPLES, unphased="guess")
    with pytest.raises(ValueError, match="missing must be one of"):
        check_vcf(vcf, reference, "1", SAMPLES, missing="n")


def test_unphased_genotype_of_a_non_study_sample_is_ignored(tmp_path, reference, genome):
    vcf = write_vcf(tmp_path, [snv(genome, 33, "0|0 0/1 1|1")])
    report = check_vcf(vcf, reference, "1", ["S1", "S3"])
    assert (report.records, report.snvs, report.samples_checked) == (1, 1, 2)


@pytest.mark.parametrize(("missing", "fill"), [("reference", "the reference base"), ("N", "N")])
def test_missing_genotypes_are_counted_with_a_warning(
    tmp_path, reference, genome, caplog, missing, fill
):
    records = [snv(genome, 44, "0|1 0|0 .|1"), snv(genome, 50, "./. 0|0 .|.")]
    vcf = write_vcf(tmp_path, records)
    report = check_vcf(vcf, reference, "1", SAMPLES, missing=missing)
    assert (report.records, report.missing_calls, report.missing_policy) == (2, 3, missing)
    assert (
        f"{vcf}: 3 genotype calls of study samples have a missing allele; consensus writes "
        f"{fill} for it (consensus.missing: {missing})"
    ) in caplog.text


def test_half_missing_unphased_call_is_ambiguous(tmp_path, reference, genome):
    vcf = write_vcf(tmp_path, [snv(genome, 44, "0|1 1/. 0|0")])
    assert "sample S2 has an unphased heterozygous genotype" in check_error(vcf, reference)


def test_haploid_genotypes_are_counted(tmp_path, reference, genome):
    vcf = write_vcf(tmp_path, [snv(genome, 44, "1 0|0 0|0"), snv(genome, 50, "0 . 1|0")])
    report = check_vcf(vcf, reference, "1", SAMPLES)
    assert (report.records, report.haploid_calls, report.missing_calls) == (2, 3, 1)


def test_polyploid_genotype(tmp_path, reference, genome):
    vcf = write_vcf(tmp_path, [snv(genome, 44, "0|1|1 0|0 0|0")])
    assert check_error(vcf, reference) == (
        f"{vcf}: record 1 (1:44): sample S1 has a genotype of 3 alleles; personal "
        "sequences have one or two haplotypes, so every call must be haploid or diploid: fix the "
        "record or drop it (bcftools view -e)"
    )


def test_first_failing_sample_in_vcf_order_is_named(tmp_path, reference, genome):
    vcf = write_vcf(tmp_path, [snv(genome, 44, "0|0 0/1 0|1|1")])
    assert check_error(vcf, reference, samples=["S3", "S2"]).endswith(
        "record 1 (1:44): sample S2 has an unphased heterozygous genotype; personal haplotypes "
        "need phased genotypes (phase the VCF first, or set consensus.unphased: as_listed to "
        "give haplotype 1 the allele written first, or iupac to write the IUPAC code on both, "
        "as the seed's bcftools -H 1pIu)"
    )
    assert check_error(vcf, reference, samples=["S3", "S2"], unphased="as_listed") == (
        f"{vcf}: record 1 (1:44): sample S3 has a genotype of 3 alleles; personal "
        "sequences have one or two haplotypes, so every call must be haploid or diploid: fix the "
        "record or drop it (bcftools view -e)"
    )


@pytest.mark.parametrize(("fmt", "values"), [("DP", "7 8 9"), ("DP:GT", "7:0|1 8:0|0 9:1|1")])
def test_record_without_gt_as_first_format_key(tmp_path, reference, genome, fmt, values):
    vcf = write_vcf(tmp_path, [snv(genome, 20, values)], fmt=fmt)
    assert check_error(vcf, reference, samples=["S2", "S1"]) == (
        f"{vcf}: record 1 (1:20): sample S1 has no genotype: the record has no GT as its "
        "first FORMAT key; is the line malformed (too few tab-separated columns)? fix or drop it"
    )


def test_study_sample_absent_from_vcf(tmp_path, reference, genome):
    vcf = write_vcf(tmp_path, [snv(genome, 10, "0|1 0|0 0|0")])
    assert check_error(vcf, reference, samples=["S1", "S9", "S3"]) == (
        f"{vcf}: 1 study samples are not in the VCF, e.g. S9; fix the individual lists or the VCF"
    )


def test_multiallelic_record_is_accepted(tmp_path, reference, genome):
    """bcftools consensus applies 1|2 as the second ALT: nothing to split first."""
    seq = genome["1"]
    ref = seq[70]
    alts = [b for b in "ACGT" if b != ref][:2]
    vcf = write_vcf(tmp_path, [f"1 71 {ref} {','.join(alts)} 0|1 1|2 0|0"])
    report = check_vcf(vcf, reference, "1", SAMPLES)
    assert (report.records, report.snvs, report.missing_calls) == (1, 1, 0)


def test_multiallelic_record_with_unphased_het_is_refused(tmp_path, reference, genome):
    seq = genome["1"]
    ref = seq[70]
    alts = [b for b in "ACGT" if b != ref][:2]
    vcf = write_vcf(tmp_path, [f"1 71 {ref} {','.join(alts)} 0|1 1/2 0|0"])
    assert "unphased heterozygous" in check_error(vcf, reference)


def test_symbolic_allele_is_skipped_and_counted(tmp_path, reference, genome):
    seq = genome["1"]
    records = [
        snv(genome, 10, "0|1 0|0 0|0"),
        f"1 80 {seq[79]} <DEL> 0|1 0|0 0|0",
        snv(genome, 90, "1|1 0|0 0|0"),
    ]
    vcf = write_vcf(tmp_path, records)
    report = check_vcf(vcf, reference, "1", SAMPLES)
    assert report.skipped == Counter({"symbolic_or_star_allele": 1})
    assert (report.records, report.snvs, report.indels) == (2, 2, 0)


def test_region_checks_the_records_overlapping_it(tmp_path, reference, genome, recwarn):
    seq = genome["1"]
    records = [
        f"1 10 {other_base(seq[9])} A 0|1 0|0 0|0",  # wrong REF, outside the region
        f"1 98 {seq[97:102]} {seq[97]} 0|1 0/0 1|0",  # deletion reaching into the region
        snv(genome, 150, "1|1 0|. 1"),
        snv(genome, 7, "0/1 0|0 0|0", chrom="2"),  # unphased, outside the region
    ]
    vcf = write_vcf(tmp_path, records)
    index_vcf(vcf)
    report = check_vcf(vcf, reference, "1", SAMPLES, region=Interval("1", 100, 200))
    assert (report.records, report.snvs, report.indels) == (2, 1, 1)
    assert (report.missing_calls, report.haploid_calls) == (1, 1)
    report = check_vcf(vcf, reference, "1", SAMPLES, region=Interval("1", 200, 300))
    assert report.records == 0
    assert not recwarn.list  # no warning for a region without records
    with pytest.raises(VariantInputError, match=r"record 1 \(1:10\): REF"):
        check_vcf(vcf, reference, "1", SAMPLES, region=Interval("1", 0, 50))
    with pytest.raises(VariantInputError, match=r"record 1 \(2:7\): sample S1 has an unphased"):
        check_vcf(vcf, reference, "2", SAMPLES, region=Interval("2", 0, 50))


def test_region_of_unindexed_vcf(tmp_path, reference, genome):
    vcf = write_vcf(tmp_path, [snv(genome, 150, "0|1 0|0 0|0")])
    with pytest.raises(VariantInputError) as caught:
        check_vcf(vcf, reference, "1", SAMPLES, region=Interval("1", 100, 200))
    assert str(caught.value) == (
        f"{vcf}: cannot fetch 1:101-200 (fetch requires an index); index it with bcftools index "
        f"{vcf}"
    )


def test_index_vcf_builds_usable_csi(tmp_path, reference, genome):
    records = [snv(genome, pos, "0|1 0|0 0|0") for pos in (10, 50, 120, 250)]
    records.append(snv(genome, 7, "0|1 0|0 0|0", chrom="2"))
    vcf = write_vcf(tmp_path, records)
    index = index_vcf(vcf)
    assert index == tmp_path / "calls.vcf.gz.csi"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["calls.vcf.gz", "calls.vcf.gz.csi", "reference.fa", "reference.fa.fai"]
    )
    with pysam.VariantFile(str(vcf), index_filename=str(index)) as handle:
        # 0-based half-open [40, 130) holds POS 50 and 120.
        assert [(r.chrom, r.pos) for r in handle.fetch("1", 40, 130)] == [("1", 50), ("1", 120)]
        assert [(r.chrom, r.pos) for r in handle.fetch("2")] == [("2", 7)]
    # Rebuilding over an existing index works and still leaves no temporary files.
    assert index_vcf(vcf) == index
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["calls.vcf.gz", "calls.vcf.gz.csi", "reference.fa", "reference.fa.fai"]
    )
    with pysam.VariantFile(str(vcf)) as handle:  # found next to the VCF by name
        assert [r.pos for r in handle.fetch("1", 200, 300)] == [250]


def test_ref_on_reference_n_is_kept_and_counted(tmp_path, genome, caplog):
    """N is an unknown base: REF there is not checkable; the record is counted, not refused."""
    seq = list(genome["1"])
    seq[19:30] = "N" * 11  # 1-based 20..30 unknown
    reference = write_fasta(tmp_path / "gapped.fa", {"1": "".join(seq), "2": genome["2"]})
    known = genome["1"]
    records = [
        snv(genome, 10, "0|1 0|0 0|0"),
        "1 22 A G 0|1 1|0 0|0",
        f"1 30 A{known[30]} A 0|1 0|0 0|0",  # 30 on N, 31 known and equal
    ]
    vcf = write_vcf(tmp_path, records)
    report = check_vcf(vcf, reference, "1", SAMPLES)
    assert (report.records, report.unknown_reference) == (3, 2)
    assert report.unknown_examples == ["1:22", "1:30"]
    assert (
        f"{vcf}: 2 records on unknown reference bases (N), REF not checkable (e.g. 1:22, 1:30)"
        in caplog.text
    )
    wrong = other_base(known[30])
    vcf = write_vcf(tmp_path, [f"1 30 A{wrong} A 0|1 0|0 0|0"])  # 31 is known and differs
    assert check_error(vcf, reference) == (
        f"{vcf}: record 1 (1:30): REF A{wrong} but the reference has N{known[30]}; is the VCF "
        "on the same genome build as the reference?"
    )


def test_region_on_a_contig_the_vcf_does_not_declare(tmp_path, genome):
    """bcftools consensus writes the reference there (its test consensus.17): nothing to check."""
    reference = write_fasta(tmp_path / "three.fa", {**genome, "3": genome["2"]})
    vcf = write_vcf(tmp_path, [snv(genome, 10, "0|1 0|0 0|0")])  # declares 1 and 2
    index_vcf(vcf)
    report = check_vcf(vcf, reference, "3", SAMPLES, region=Interval("3", 0, 50))
    assert (report.contig, report.records, report.unknown_reference) == ("3", 0, 0)
