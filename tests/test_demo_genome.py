"""The synthetic genome: the committed demo's reference and VCFs, and the benchmark's settings.

The demo's own use is held byte for byte by tests/test_demo_dataset.py; here its reference
(GC, masks kept clear of the TSSs) and VCFs (format, sorted, parsimonious left-aligned indels),
then the other settings: 1000-Genomes-like variants (neutral spectrum, indels up to 20 bp,
nothing kept clear), and files read back by pysam.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pysam
import pytest
from support.demo_files import DEMO, read_records, read_truth

from haplexpr.demo.fasta_vcf import write_fasta, write_vcf
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

BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
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


@pytest.fixture(scope="module")
def truth():
    return read_truth(DEMO)


@pytest.fixture(scope="module")
def records():
    return read_records(DEMO)


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


def test_reference(truth):
    fasta = pysam.FastaFile(str(DEMO / "reference.fa"))
    assert list(fasta.references) == ["1", "2"]
    lines = (DEMO / "reference.fa").read_text().splitlines()
    assert {len(line) for line in lines if not line.startswith(">")} <= set(range(1, 61))
    for chrom in ("1", "2"):
        seq = fasta.fetch(chrom)
        gc = sum(seq.upper().count(b) for b in "GC") / len(seq)
        assert 0.39 < gc < 0.43
        masked = np.array([c.islower() or c in "Nn" for c in seq])
        assert masked.any()
        tss = truth.loc[truth.chrom == chrom, "tss"].to_numpy()
        for t in tss:
            assert not masked[max(0, t - 1 - 2999) : t - 1 + 3000].any()
            assert 10_000 <= t <= len(seq) - 10_000
        assert np.all(np.diff(np.sort(tss)) >= 10_000)


def test_vcf_files(records):
    fasta = pysam.FastaFile(str(DEMO / "reference.fa"))
    urls = (DEMO / "vcf_urls.txt").read_text().split("\n")
    assert urls[-1] == ""
    for line in urls[:-1]:
        url, md5 = line.split()
        path = DEMO / url.removeprefix("file:")
        assert url.startswith("file:vcf/") and path.exists()
        assert hashlib.md5(path.read_bytes()).hexdigest() == md5
        assert path.read_bytes().endswith(BGZF_EOF)
        assert not Path(str(path) + ".tbi").exists() and not Path(str(path) + ".csi").exists()
        text = gzip.open(path, "rt").read()
        assert text.startswith("##fileformat=VCFv4.2\n")
        for tag in ("##reference=", "##contig=<ID=1,length=", "##FORMAT=<ID=GT", "##INFO=<ID=AF"):
            assert tag in text
    for chrom, (samples, rows) in records.items():
        assert len(samples) == 40 and len(set(samples)) == 40
        assert any(s.startswith("HG") for s in samples) and any(s.startswith("NA") for s in samples)
        assert len(rows) > fasta.get_reference_length(chrom) / 300
        prev_stop = 0
        n_indel = 0
        for rchrom, pos, ref, alts, gts, phased in rows:
            assert rchrom == chrom and len(alts) == 1 and phased
            assert all(None not in gt and len(gt) == 2 for gt in gts)
            assert (
                ref == ref.upper()
                and ref == fasta.fetch(chrom, pos - 1, pos - 1 + len(ref)).upper()
            )
            assert pos - 1 > prev_stop  # sorted, and >= 1 bp between REF spans
            prev_stop = pos - 1 + len(ref)
            alt = alts[0]
            if len(ref) != len(alt):
                n_indel += 1
                assert ref[0] == alt[0] and min(len(ref), len(alt)) == 1  # parsimonious
                assert 1 <= abs(len(ref) - len(alt)) <= 10
                changed = ref[1:] if len(ref) > 1 else alt[1:]
                assert changed[-1] != ref[0]  # left-aligned: cannot shift one base left
        assert 0.05 < n_indel / len(rows) < 0.2
