"""The synthetic-genome generator and its FASTA/VCF writers, as the benchmark uses them.

The demo's own use is held byte for byte by tests/test_demo_dataset.py; here the other settings:
1000-Genomes-like variants (neutral spectrum, indels up to 20 bp, nothing kept clear), and
files read back by pysam.
"""

from __future__ import annotations

import numpy as np
import pysam
import pytest

from haplexpr.demo.fasta_vcf import contig_lines, phased_lines, vcf_header, write_fasta, write_vcf
from haplexpr.demo.genome import (
    MAX_INDEL,
    NeutralSpectrum,
    Runs,
    VariantModel,
    background_variants,
    check_variants,
    random_bases,
    scatter_masks,
    variant_lines,
    variants_header,
)

LONG_INDELS = VariantModel(
    indel_fraction=0.5, indel_length_weights=(1.0,) * MAX_INDEL, spectrum=NeutralSpectrum()
)


@pytest.fixture(scope="module")
def contig():
    """200 kb of masked random bases and its variants for 50 samples."""
    rng = np.random.default_rng(4)
    seq = random_bases(rng, 200_000)
    scatter_masks(rng, seq, Runs(5, 100, 2_000), Runs(2, 1_000, 3_000), np.empty(0, np.int64))
    variants = background_variants(rng, seq, "chr1", [], 100, LONG_INDELS)
    return seq, variants


def test_masks_are_placed(contig):
    seq, _ = contig
    assert 2_000 <= (seq == ord("N")).sum() <= 6_000
    assert 500 <= (seq >= ord("a")).sum() <= 10_000


def test_variants_are_normalised_and_cover_long_indels(contig):
    seq, variants = contig
    check_variants(seq, variants)  # REF matches, sorted, >= 1 bp apart, anchored indels
    assert all("N" not in seq[v.pos - 1 : v.end + 1].tobytes().decode().upper() for v in variants)
    deleted = [len(v.ref) - 1 for v in variants if len(v.ref) > 1]
    inserted = [len(v.alt) - 1 for v in variants if len(v.alt) > 1]
    assert max(deleted) > 10 and max(inserted) == MAX_INDEL
    assert 500 < len(variants) < 900  # one per ~250 bp, fewer where indels or N intervene


def test_neutral_spectrum_is_mostly_rare(contig):
    _, variants = contig
    counts = np.array([int(v.haps.sum()) for v in variants])
    # P(k) ~ 1/k over 5008 haplotypes: most records absent from 100 haplotypes, a few common
    assert 0.15 < (counts == 0).mean() < 0.6
    assert (counts > 20).sum() > 0


def test_model_refuses_indels_longer_than_the_candidates_allow():
    with pytest.raises(ValueError, match="indel lengths must be 1-20 bp"):
        VariantModel(indel_length_weights=(1.0,) * (MAX_INDEL + 1))


def test_written_files_read_back(contig, tmp_path):
    seq, variants = contig
    samples = [f"S{i}" for i in range(50)]
    fasta = write_fasta(tmp_path / "ref.fa", {"chr1": seq}, {"chr1": "synthetic"})
    header = variants_header({"chr1": len(seq)}, samples, "test")
    vcf = write_vcf(
        tmp_path / "v.vcf.gz", header, variant_lines(variants, chunk=97), ("csi", "tbi")
    )
    assert (tmp_path / "v.vcf.gz.csi").exists() and (tmp_path / "v.vcf.gz.tbi").exists()
    with pysam.FastaFile(str(fasta)) as ref:
        assert ref.fetch("chr1") == seq.tobytes().decode()
    with pysam.VariantFile(str(vcf)) as reader:
        records = list(reader.fetch("chr1", 0, len(seq)))  # through the index
    assert [(r.pos, r.ref, r.alts[0]) for r in records] == [(v.pos, v.ref, v.alt) for v in variants]
    for record, v in zip(records[::50], variants[::50], strict=True):
        alleles = [a for s in samples for a in record.samples[s]["GT"]]
        assert alleles == v.haps.tolist()
        assert all(record.samples[s].phased for s in samples)
        assert record.info["AF"][0] == pytest.approx(v.haps.mean(), abs=1e-6)


def test_fasta_accepts_text_bytes_and_arrays(tmp_path):
    seq = "ACGTN" * 25  # 125 bases: two full lines and a short one
    paths = [
        write_fasta(tmp_path / f"{kind}.fa", {"x": given})
        for kind, given in (
            ("str", seq),
            ("bytes", seq.encode()),
            ("array", np.frombuffer(seq.encode(), np.uint8)),
        )
    ]
    texts = {p.read_text() for p in paths}
    assert texts == {">x\n" + seq[:60] + "\n" + seq[60:120] + "\n" + seq[120:] + "\n"}


def test_phased_lines_and_header():
    haps = np.array([[0, 1, 1, 1], [1, 0, 0, 0]], np.uint8)
    text = phased_lines(["1\t5\t.\tA\tG\t.\tPASS\t.\tGT", "1\t9\t.\tC\tT\t.\tPASS\t.\tGT"], haps)
    assert text.decode().splitlines() == [
        "1\t5\t.\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1",
        "1\t9\t.\tC\tT\t.\tPASS\t.\tGT\t1|0\t0|0",
    ]
    header = vcf_header(contig_lines({"1": 10}, "DEMO"), ["a", "b"]).splitlines()
    assert header[0] == "##fileformat=VCFv4.2"
    assert header[1] == "##contig=<ID=1,length=10,assembly=DEMO>"
    assert header[-1].endswith("FORMAT\ta\tb")


def test_unknown_index_kind_is_refused(tmp_path):
    with pytest.raises(ValueError, match="'csi' or 'tbi'"):
        write_vcf(tmp_path / "v.vcf.gz", vcf_header([], ["a"]), [], ("bai",))
