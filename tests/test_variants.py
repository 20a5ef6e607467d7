"""Tests for haplexpr.variants: VCF checks against the reference and study, and indexing."""

import random
from collections import Counter
from pathlib import Path

import pysam
import pytest

from haplexpr.variants import VariantInputError, check_vcf, index_vcf

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
    path = tmp_path / "reference.fa"
    with path.open("w") as out:
        for name, seq in genome.items():
            out.write(f">{name}\n")
            for i in range(0, len(seq), 60):
                out.write(seq[i : i + 60] + "\n")
    pysam.faidx(str(path))
    return path


def other_base(base: str) -> str:
    return {"A": "C", "C": "G", "G": "T", "T": "A"}[base]


def write_vcf(folder: Path, records: list[str], contig: str = "1", samples=SAMPLES) -> Path:
    """bgzip a VCF with the given tab-separated records (``CHROM POS REF ALT GTs...``)."""
    header = [
        "##fileformat=VCFv4.2",
        f"##contig=<ID={contig},length=300>",
        "##contig=<ID=2,length=120>",
        '##ALT=<ID=DEL,Description="Deletion">',
        '##INFO=<ID=END,Number=1,Type=Integer,Description="End position">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
        + "\t"
        + "\t".join(samples),
    ]
    body = []
    for record in records:
        chrom, pos, ref, alt, *gts = record.split()
        body.append("\t".join([chrom, pos, ".", ref, alt, ".", "PASS", ".", "GT", *gts]))
    plain = folder / "calls.vcf"
    plain.write_text("\n".join(header + body) + "\n")
    path = folder / "calls.vcf.gz"
    pysam.tabix_compress(str(plain), str(path), force=True)
    plain.unlink()
    return path


def snv(genome, pos: int, gts: str, chrom: str = "1", label: str | None = None) -> str:
    ref = genome[chrom][pos - 1]
    return f"{label or chrom} {pos} {ref} {other_base(ref)} {gts}"


def check_error(vcf, reference, samples=SAMPLES, chrom="1") -> str:
    with pytest.raises(VariantInputError) as caught:
        check_vcf(vcf, reference, chrom, samples)
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


def test_unphased_heterozygous_genotype(tmp_path, reference, genome):
    vcf = write_vcf(tmp_path, [snv(genome, 10, "0|1 1/1 0|0"), snv(genome, 33, "0|0 0/1 1|1")])
    assert check_error(vcf, reference) == (
        f"{vcf}: record 2 (1:33): sample S2 has an unphased heterozygous genotype; "
        "personal haplotypes need phased genotypes (phase the VCF first)"
    )


def test_unphased_genotype_of_a_non_study_sample_is_ignored(tmp_path, reference, genome):
    vcf = write_vcf(tmp_path, [snv(genome, 33, "0|0 0/1 1|1")])
    report = check_vcf(vcf, reference, "1", ["S1", "S3"])
    assert (report.records, report.snvs, report.samples_checked) == (1, 1, 2)


def test_missing_genotype(tmp_path, reference, genome):
    vcf = write_vcf(tmp_path, [snv(genome, 44, "0|1 0|0 .|1")])
    assert check_error(vcf, reference) == (
        f"{vcf}: record 1 (1:44): sample S3 has a missing genotype; impute the VCF first"
    )


def test_haploid_genotype(tmp_path, reference, genome):
    vcf = write_vcf(tmp_path, [snv(genome, 44, "1 0|0 0|0")])
    assert check_error(vcf, reference) == (f"{vcf}: record 1 (1:44): sample S1 has no diploid GT")


def test_study_sample_absent_from_vcf(tmp_path, reference, genome):
    vcf = write_vcf(tmp_path, [snv(genome, 10, "0|1 0|0 0|0")])
    assert check_error(vcf, reference, samples=["S1", "S9", "S3"]) == (
        f"{vcf}: 1 study samples are not in the VCF, e.g. S9; fix the individual lists or the VCF"
    )


def test_multiallelic_record(tmp_path, reference, genome):
    seq = genome["1"]
    ref = seq[70]
    alts = [b for b in "ACGT" if b != ref][:2]
    vcf = write_vcf(tmp_path, [f"1 71 {ref} {','.join(alts)} 0|1 0|2 0|0"])
    assert check_error(vcf, reference) == (
        f"{vcf}: record 1 (1:71): 2 ALT alleles; split multi-allelic records first "
        "(bcftools norm -m -both -f REF)"
    )


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
