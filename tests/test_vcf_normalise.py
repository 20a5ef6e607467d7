"""Tests for haplexpr.vcf.normalise: contig renames applied, bcftools norm, dropped records
(the contig names and maps themselves: test_vcf_contigs.py)."""

import logging
import random
from collections import Counter

import pysam
import pytest
from support import vcf_files
from support.vcf_files import record_line, write_fasta

from haplexpr.coordinates import VariantSettings
from haplexpr.vcf.check import VariantInputError
from haplexpr.vcf.normalise import normalise_vcf

SAMPLES = ["S1", "S2"]
# 1-based positions 100..107 hold GCACACAT: a deleted "CA" could be written at 101, 103 or
# 105; left-aligned it is POS 100 REF GCA ALT G.
REPEAT_START = 100
HARMONISED = VariantSettings(harmonise_contigs=True)


@pytest.fixture(scope="module")
def genome():
    """Contig sequences (1-based position p is seq[p - 1]) with one CA repeat."""
    rng = random.Random(5)
    one = [rng.choice("ACGT") for _ in range(300)]
    one[REPEAT_START - 1 : REPEAT_START + 7] = "GCACACAT"
    return {"1": "".join(one), "2": "".join(rng.choice("ACGT") for _ in range(120))}


@pytest.fixture
def reference(tmp_path, genome):
    return write_fasta(tmp_path / "reference.fa", genome)


def other_base(base: str) -> str:
    return {"A": "C", "C": "G", "G": "T", "T": "A"}[base.upper()]


def write_vcf(folder, records, contigs=("1", "2"), samples=SAMPLES):
    """bgzip a VCF from ``CHROM POS REF ALT INFO GT...`` records."""
    lines = []
    for record in records:
        chrom, pos, ref, alt, info, *calls = record.split()
        lines.append(record_line(chrom, pos, ref, alt, calls, info=info))
    lengths = dict.fromkeys(contigs, 300)
    return vcf_files.write_vcf(folder / "download.vcf.gz", lines, samples, lengths)


def records_of(path):
    with pysam.VariantFile(str(path)) as vcf:
        return [
            (r.chrom, r.pos, r.ref, r.alts, r.stop, [r.samples[s]["GT"] for s in r.samples])
            for r in vcf
        ]


def test_split_left_align_and_drop(tmp_path, reference, genome, caplog):
    caplog.set_level(logging.INFO)
    seq = genome["1"]
    ref10, ref120 = seq[9], seq[119]
    a, b = other_base(ref10), other_base(other_base(ref10))
    c = other_base(ref120)
    records = [
        f"1 10 {ref10} {a},{b} . 0|1 1|2",
        # deletes the last "CA" of GCACACA; leftmost is POS 100 REF GCA ALT G
        f"1 104 {seq[103:106]} {seq[103]} . 0|1 0|0",
        f"1 120 {ref120} {c},* . 0|2 1|0",
        f"1 130 {seq[129]} <DEL> END=140 0|1 0|0",
        f"1 135 {seq[134]} {other_base(seq[134])},<DEL> END=140 0|1 2|0",
        f"1 150 {seq[149]} . . 0|0 0|0",
    ]
    source = write_vcf(tmp_path, records)
    dest = tmp_path / "vcf" / "1.vcf.gz"
    report = normalise_vcf(source, reference, dest, SAMPLES)
    assert records_of(dest) == [
        ("1", 10, ref10, (a,), 10, [(0, 1), (1, 0)]),
        ("1", 10, ref10, (b,), 10, [(0, 0), (0, 1)]),
        ("1", 100, seq[99:102], (seq[99],), 102, [(0, 1), (0, 0)]),
        ("1", 120, ref120, (c,), 120, [(0, 0), (1, 0)]),
        # the split SNV loses the END of its former symbolic sibling
        ("1", 135, seq[134], (other_base(seq[134]),), 135, [(0, 1), (0, 0)]),
    ]
    assert report.records == 5
    assert report.dropped == Counter({"symbolic": 2, "star": 1, "no_alt": 1})
    # realigned: the CA deletion and the <DEL> split off at 135 (dropped afterwards)
    assert (report.norm["total"], report.norm["split"], report.norm["realigned"]) == (6, 3, 2)
    assert report.renamed == {}
    assert sorted(p.name for p in dest.parent.iterdir()) == ["1.vcf.gz"]
    assert "bcftools norm -m -both: 6 lines total, 3 split, 2 realigned, 0 skipped" in caplog.text
    assert (
        "skipped 4 records with symbolic or * alleles or no ALT (1 no ALT, 1 * ALT, 2 symbolic ALT)"
    ) in caplog.text


def test_without_normalising_records_stay_as_published(tmp_path, reference, genome):
    """consensus.normalise: false renames contigs, keeps every record, splits nothing."""
    seq = genome["1"]
    records = [
        f"chr1 10 {seq[9]} {other_base(seq[9])},* . 0|1 1|2",
        f"chr1 104 {seq[103:106]} {seq[103]} . 0|1 0|0",
        f"chr1 130 {seq[129]} <DEL> END=140 0|1 0|0",
    ]
    source = write_vcf(tmp_path, records, contigs=("chr1", "chr2"))
    dest = tmp_path / "vcf" / "1.vcf.gz"
    report = normalise_vcf(source, reference, dest, SAMPLES, variants=HARMONISED, normalise=False)
    assert records_of(dest) == [
        ("1", 10, seq[9], (other_base(seq[9]), "*"), 10, [(0, 1), (1, 2)]),
        ("1", 104, seq[103:106], (seq[103],), 106, [(0, 1), (0, 0)]),
        ("1", 130, seq[129], ("<DEL>",), 140, [(0, 1), (0, 0)]),
    ]
    assert (report.records, report.dropped, report.norm) == (3, Counter(), {})


def test_clean_vcf_passes_through(tmp_path, reference, genome):
    seq = genome["1"]
    records = [f"1 {p} {seq[p - 1]} {other_base(seq[p - 1])} . 0|1 1|1" for p in (5, 50, 250)]
    source = write_vcf(tmp_path, records)
    dest = tmp_path / "1.vcf.gz"
    report = normalise_vcf(source, reference, dest, SAMPLES)
    assert [r[:4] for r in records_of(dest)] == [r[:4] for r in records_of(source)]
    assert (report.records, report.dropped, report.norm["split"]) == (3, Counter(), 0)


def chr_prefixed(tmp_path, genome):
    seq = genome["1"]
    return write_vcf(
        tmp_path,
        [f"chr1 {p} {seq[p - 1]} {other_base(seq[p - 1])} . 0|1 0|0" for p in (7, 70)],
        contigs=("chr1", "chr2", "chrUn_gl000220"),
    )


def test_chr_prefixed_contigs_fail_by_default(tmp_path, reference, genome):
    source = chr_prefixed(tmp_path, genome)
    dest = tmp_path / "out" / "1.vcf.gz"
    with pytest.raises(VariantInputError) as caught:
        normalise_vcf(source, reference, dest, SAMPLES)
    assert str(caught.value) == (
        f"{source}: contig 'chr1' is not in the reference {reference} (it has 1, 2...); "
        "the reference spells it '1': set variants.harmonise_contigs: true in config.yaml "
        "(adds or strips the 'chr' prefix, maps M/MT) or give variants.contig_map, a "
        "two-column 'old new' file as for bcftools annotate --rename-chrs"
    )
    assert not dest.parent.exists() or list(dest.parent.iterdir()) == []


def test_harmonise_contigs_renames(tmp_path, reference, genome, caplog):
    caplog.set_level(logging.INFO)
    source = chr_prefixed(tmp_path, genome)
    dest = tmp_path / "1.vcf.gz"
    report = normalise_vcf(source, reference, dest, SAMPLES, variants=HARMONISED)
    assert report.renamed == {"chr1": "1", "chr2": "2"}  # chrUn_gl000220 has no counterpart
    assert [(r[0], r[1]) for r in records_of(dest)] == [("1", 7), ("1", 70)]
    assert "renamed 2 contigs: chr1 -> 1, chr2 -> 2" in caplog.text


def test_contig_map_renames(tmp_path, reference, genome):
    source = chr_prefixed(tmp_path, genome)
    mapping = tmp_path / "contigs.txt"
    mapping.write_text("# old new\nchr1 1\n\nchr2\t2\nchr9 9\n")
    dest = tmp_path / "1.vcf.gz"
    report = normalise_vcf(source, reference, dest, SAMPLES, variants=VariantSettings(str(mapping)))
    assert report.renamed == {"chr1": "1", "chr2": "2"}
    assert [(r[0], r[1]) for r in records_of(dest)] == [("1", 7), ("1", 70)]


def test_contig_map_to_an_unknown_contig(tmp_path, reference, genome):
    source = chr_prefixed(tmp_path, genome)
    mapping = tmp_path / "contigs.txt"
    mapping.write_text("chr1 one\n")
    with pytest.raises(VariantInputError) as caught:
        normalise_vcf(
            source,
            reference,
            tmp_path / "1.vcf.gz",
            SAMPLES,
            variants=VariantSettings(str(mapping)),
        )
    assert f"{source}: contig 'chr1' (renamed to 'one' by variants.contig_map)" in str(caught.value)


def test_contig_of_another_build(tmp_path, reference, genome):
    source = write_vcf(tmp_path, ["NC_000001.11 7 A C . 0|1 0|0"], contigs=("NC_000001.11",))
    with pytest.raises(VariantInputError) as caught:
        normalise_vcf(source, reference, tmp_path / "1.vcf.gz", SAMPLES, variants=HARMONISED)
    assert "is the VCF on the same genome build as the reference? If so, set" in str(caught.value)


def test_ref_mismatch_names_file_record_and_fix(tmp_path, reference, genome):
    seq = genome["1"]
    wrong = other_base(seq[24])
    records = [
        f"1 10 {seq[9]} {other_base(seq[9])} . 0|1 0|0",
        f"1 25 {wrong} {other_base(wrong)} . 0|1 0|0",
    ]
    source = write_vcf(tmp_path, records)
    dest = tmp_path / "out" / "1.vcf.gz"
    with pytest.raises(VariantInputError) as caught:
        normalise_vcf(source, reference, dest, SAMPLES)
    assert str(caught.value) == (
        f"{source}: record 2 (1:25): REF {wrong} but the reference has {seq[24]}; "
        "is the VCF on the same genome build as the reference?"
    )
    assert list(dest.parent.iterdir()) == []  # no scratch folder, no partial output


def test_soft_masked_reference_is_not_a_mismatch(tmp_path, genome):
    path = tmp_path / "masked.fa"
    path.write_text(">1\n" + genome["1"].lower() + "\n")
    seq = genome["1"]
    source = write_vcf(tmp_path, [f"1 12 {seq[11]} {other_base(seq[11])} . 0|1 0|0"], ("1",))
    report = normalise_vcf(source, path, tmp_path / "1.vcf.gz", SAMPLES)
    assert report.records == 1


def test_study_sample_absent(tmp_path, reference, genome):
    seq = genome["1"]
    source = write_vcf(tmp_path, [f"1 12 {seq[11]} {other_base(seq[11])} . 0|1 0|0"])
    with pytest.raises(VariantInputError) as caught:
        normalise_vcf(source, reference, tmp_path / "1.vcf.gz", ["S1", "S7"])
    assert str(caught.value) == (
        f"{source}: 1 study samples are not in the VCF, e.g. S7; fix the individual lists "
        "or the VCF"
    )


def undeclared_chr1(tmp_path, genome, index: bool):
    """Records on ``chr1`` under a header declaring only ``1`` and ``2`` (1000 Genomes' way)."""
    seq = genome["1"]
    lines = [
        record_line("chr1", p, seq[p - 1], other_base(seq[p - 1]), ["0|1", "1|0"]) for p in (7, 70)
    ]
    source = vcf_files.write_vcf(tmp_path / "download.vcf.gz", lines, SAMPLES, {"1": 300, "2": 9})
    if index:  # htslib then adds the index's contigs to the header it reads; bcftools does not
        pysam.tabix_index(str(source), preset="vcf", force=True)
    return source


@pytest.mark.parametrize("index", [False, True], ids=["unindexed", "tabix-indexed"])
def test_records_on_a_contig_the_header_does_not_declare(tmp_path, reference, genome, index):
    source = undeclared_chr1(tmp_path, genome, index)
    dest = tmp_path / "out" / "1.vcf.gz"
    report = normalise_vcf(source, reference, dest, SAMPLES, variants=HARMONISED)
    assert (report.declared, report.renamed, report.records) == (["chr1"], {"chr1": "1"}, 2)
    assert [r[:2] for r in records_of(dest)] == [("1", 7), ("1", 70)]
    with pysam.VariantFile(str(dest)) as vcf:
        # chr1 declared with the reference's length, renamed; the stale "1" line dropped
        assert [(c.name, c.length) for c in vcf.header.contigs.values()] == [("2", 9), ("1", 300)]
    assert sorted(p.name for p in dest.parent.iterdir()) == ["1.vcf.gz"]


def test_records_on_an_undeclared_contig_without_harmonising(tmp_path, reference, genome):
    source = undeclared_chr1(tmp_path, genome, index=False)
    with pytest.raises(VariantInputError) as caught:
        normalise_vcf(source, reference, tmp_path / "1.vcf.gz", SAMPLES)
    assert str(caught.value).startswith(
        f"{source}: contig 'chr1' is not in the reference {reference} (it has 1, 2...); "
        "the reference spells it '1': set variants.harmonise_contigs: true"
    )


def test_records_under_two_spellings_of_a_contig(tmp_path, reference, genome):
    seq = genome["1"]
    lines = [
        record_line(c, p, seq[p - 1], other_base(seq[p - 1]), ["0|1", "1|0"])
        for c, p in (("chr1", 7), ("1", 70))
    ]
    source = vcf_files.write_vcf(tmp_path / "download.vcf.gz", lines, SAMPLES, {"1": 300})
    with pytest.raises(VariantInputError) as caught:
        normalise_vcf(source, reference, tmp_path / "1.vcf.gz", SAMPLES, variants=HARMONISED)
    assert str(caught.value) == (
        f"{source}: records on both '1' and 'chr1', both the reference's '1'; give them one "
        "name (bcftools annotate --rename-chrs) and rerun"
    )


def test_bcftools_failure_names_the_file_and_the_fix(tmp_path, reference, genome):
    """A later record on an undeclared contig: bcftools cannot read it, and says so."""
    seq = genome["1"]
    lines = [
        record_line("1", 7, seq[6], other_base(seq[6]), ["0|1", "1|0"]),
        record_line("chr9", 7, "A", "C", ["0|1", "1|0"]),
    ]
    source = vcf_files.write_vcf(tmp_path / "download.vcf.gz", lines, SAMPLES, {"1": 300})
    dest = tmp_path / "out" / "1.vcf.gz"
    with pytest.raises(VariantInputError) as caught:
        normalise_vcf(source, reference, dest, SAMPLES)
    message = str(caught.value)
    assert message.startswith(f"{source}: bcftools norm cannot read it (")
    assert message.endswith(
        f"); look at the file with bcftools view {source} (a damaged download, records on "
        "contigs the header does not declare, a malformed line) and fix it or download it again"
    )
    assert list(dest.parent.iterdir()) == []


def test_ref_on_reference_n_is_kept_and_counted(tmp_path, genome, caplog):
    """N is an unknown base: REF there cannot be checked, the record stays; others still fail."""
    seq = list(genome["1"])
    seq[19:30] = "N" * 11  # 1-based 20..30 unknown
    path = write_fasta(tmp_path / "gapped.fa", {"1": "".join(seq), "2": genome["2"]})
    known = genome["1"]
    records = [
        f"1 10 {known[9]} {other_base(known[9])} . 0|1 0|0",
        "1 22 A G . 0|1 1|0",
        f"1 29 {known[28]}C {known[28]} . 0|1 0|0",  # REF 29-30 on N
        f"1 30 A{known[30]} A . 0|1 0|0",  # 30 on N, 31 known and equal
    ]
    source = write_vcf(tmp_path, records)
    caplog.set_level(logging.INFO)
    report = normalise_vcf(source, path, tmp_path / "1.vcf.gz", SAMPLES)
    assert (report.records, report.unknown_reference) == (4, 3)
    assert report.unknown_examples == ["1:22", "1:29", "1:30"]
    # kept as written: nothing to left-align against on unknown bases
    assert records_of(tmp_path / "1.vcf.gz") == records_of(source)
    assert (
        "3 records on unknown reference bases (N), REF not checkable (e.g. 1:22, 1:29, 1:30)"
        in caplog.text
    )
    wrong = other_base(known[30])
    mixed = write_vcf(tmp_path, [f"1 30 A{wrong} A . 0|1 0|0"])  # 31 is known and differs
    with pytest.raises(VariantInputError) as caught:
        normalise_vcf(mixed, path, tmp_path / "2.vcf.gz", SAMPLES)
    assert str(caught.value) == (
        f"{mixed}: record 1 (1:30): REF A{wrong} but the reference has N{known[30]}; is the "
        "VCF on the same genome build as the reference?"
    )
