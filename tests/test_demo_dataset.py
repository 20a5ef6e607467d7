"""Tests for haplexpr.demo.dataset: the embedded demo dataset regenerates byte for byte, and a
custom design (from Python and from make_demo.py) gives its files and a learnable signal.

The committed files' parts are tested by the module that draws them: test_demo_design.py,
test_demo_genome.py (reference and VCFs), test_demo_genes.py (the planted signal) and
test_demo_tables.py."""

import gzip
import subprocess
import sys

import numpy as np
import pandas as pd
import pysam
import pytest
from support.demo_files import DEMO, check_lists, dosage_correlations, read_records, read_truth

from haplexpr.demo.dataset import DemoDesign, write_demo_dataset


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    write_demo_dataset(out)
    return out


def test_regenerates_byte_identically(regenerated):
    made = sorted(p.relative_to(regenerated) for p in regenerated.rglob("*") if p.is_file())
    expected = {
        "reference.fa",
        "reference.fa.fai",
        "vcf/demo.chr1.vcf.gz",
        "vcf/demo.chr2.vcf.gz",
        "vcf_urls.txt",
        "all_partition_data.csv.gz",
        "train_indivs.txt",
        "test_indivs.txt",
        "random_genes.txt",
        "truth.tsv",
    }
    assert {str(p) for p in made} == expected
    for rel in made:
        assert (regenerated / rel).read_bytes() == (DEMO / rel).read_bytes(), rel
    total = sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file())
    assert total < 3_000_000


# A non-default design. Its derived sizes are restated here, rounded half up from the default
# proportions: 53/37 genes on contigs 1/2 (35:25), 23 test genes (25%), 54 individual-level
# genes (80% of 67 train genes), 12 genes without causal variants (8/60), 36 train individuals
# (60%), 30 HG + 12 CEU-like + 18 YRI-like IDs (20:8:12).
CUSTOM = {
    "seed": 7,
    "motif": "GATAAGCT",  # not palindromic: reverse complement AGCTTATC
    "effect": 0.6,
    "noise_sd": 0.3,
    "n_genes": 90,
    "n_individuals": 60,
}


@pytest.fixture(scope="module")
def custom(tmp_path_factory):
    out = tmp_path_factory.mktemp("custom")
    write_demo_dataset(out, DemoDesign(**CUSTOM))
    return out


def test_custom_design_files(custom):
    records = read_records(custom)
    samples = records["1"][0]
    assert records["2"][0] == samples
    assert len(samples) == len(set(samples)) == 60 and samples == sorted(samples)
    assert sum(s.startswith("HG") for s in samples) == 30
    coriell = [int(s[2:]) for s in samples if s.startswith("NA")]
    assert sum(6_984 <= n < 12_900 for n in coriell) == 12  # CEU-like
    assert sum(18_486 <= n < 19_260 for n in coriell) == 18  # YRI-like
    for chrom in ("1", "2"):
        header = gzip.open(custom / "vcf" / f"demo.chr{chrom}.vcf.gz", "rt").read(2000)
        assert (
            "##source=haplexpr.demo.dataset(seed=7,motif=GATAAGCT,effect=0.6,noise_sd=0.3,"
            "n_genes=90,n_individuals=60)\n" in header
        )
        assert "in the 60 samples" in header
    fasta = pysam.FastaFile(str(custom / "reference.fa"))
    assert list(fasta.references) == ["1", "2"]
    assert all(fasta.get_reference_length(c) % 60 for c in ("1", "2"))

    table = pd.read_csv(custom / "all_partition_data.csv.gz")
    assert len(table) == 61 * 90
    assert set(table["sample"]) == set(samples) | {"ref"}
    assert not table.duplicated(["sample", "gene"]).any()
    genes = table.drop_duplicates("gene").set_index("gene")
    assert genes["split"].value_counts().to_dict() == {"train": 67, "test": 23}
    assert genes["chr"].value_counts().to_dict() == {"chr1": 53, "chr2": 37}
    assert genes["strand"].value_counts().to_dict() == {"+": 45, "-": 45}
    tss = genes.groupby("chr")["TSS"].apply(lambda t: np.diff(np.sort(t.to_numpy())).min())
    assert (tss >= 10_000).all()

    check_lists(custom, samples, genes, n_train=36, n_test=24, n_chosen=54)

    truth = read_truth(custom)
    assert list(truth["gene"]) == list(genes.index)
    assert (truth["n_causal_variants"] == 0).sum() == 12
    assert np.allclose(truth["noise_variance"], 0.09)
    for key, value in CUSTOM.items():  # the design is recorded in every row
        assert (truth[key].astype(str) == str(value)).all(), key


def test_custom_design_signal(custom):
    """Dosage of the design's motif, recounted from reference + VCF, explains expression."""
    observed, implied = dosage_correlations(custom, CUSTOM["motif"], CUSTOM["effect"])
    assert len(observed) == 78
    print(f"mean r = {observed.mean():.3f} (implied by the design {implied.mean():.3f})")
    assert observed.mean() > 0.5
    assert abs(observed.mean() - implied.mean()) < 0.1


def test_self_overlapping_motif(tmp_path):
    """Overlapping copies of a motif like AAAAAA each count, and the planted rule holds."""
    design = DemoDesign(seed=3, motif="AAAAAA", n_genes=8, n_individuals=10)
    write_demo_dataset(tmp_path, design)
    observed, _ = dosage_correlations(tmp_path, "AAAAAA", 1.0)
    assert len(observed) == 7


def test_cli_options(tmp_path):
    out = tmp_path / "made"
    args = ["--out", str(out), "--seed", "11", "--motif", "GTTACGCA", "--effect", "0.5"]
    args += ["--noise-sd", "0.2", "--genes", "8", "--individuals", "10"]
    run = subprocess.run(
        [sys.executable, str(DEMO / "make_demo.py"), *args], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert {p.name for p in out.iterdir()} >= {"reference.fa", "truth.tsv", "vcf"}
    assert not (tmp_path / "truth.tsv").exists()
    header = gzip.open(out / "vcf" / "demo.chr1.vcf.gz", "rt").read(2000)
    expected = "seed=11,motif=GTTACGCA,effect=0.5,noise_sd=0.2,n_genes=8,n_individuals=10"
    assert f"##source=haplexpr.demo.dataset({expected})\n" in header
    table = pd.read_csv(out / "all_partition_data.csv.gz")
    assert len(table) == 11 * 8
    assert len((out / "train_indivs.txt").read_text().split()) == 6
    assert (read_truth(out)["seed"] == 11).all()
    observed, _ = dosage_correlations(out, "GTTACGCA", 0.5)
    assert len(observed) == 7
    bad = subprocess.run(
        [
            sys.executable,
            str(DEMO / "make_demo.py"),
            "--out",
            str(tmp_path / "x"),
            "--motif",
            "GATAA",
        ],
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "motif must be 6-12 bases" in bad.stderr
