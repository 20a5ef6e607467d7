"""Tests for haplexpr.demo.dataset: the embedded demo dataset is reproducible, well-formed and
carries a learnable signal."""

import gzip
import hashlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest
from support import ROOT

DEMO = ROOT / "data" / "demo"
MOTIF = "TGACGTCA"  # restated here on purpose: the test must not trust the generator's constants

try:
    from haplexpr.demo.dataset import DemoDesign, write_demo_dataset
except ImportError:  # package not installed: use the source tree
    sys.path.insert(0, str(ROOT / "src"))
    from haplexpr.demo.dataset import DemoDesign, write_demo_dataset

BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    write_demo_dataset(out)
    return out


def read_records(folder):
    """All VCF records as plain tuples, per contig, in file order."""
    out = {}
    for chrom in ("1", "2"):
        with pysam.VariantFile(str(folder / "vcf" / f"demo.chr{chrom}.vcf.gz")) as vcf:
            samples = list(vcf.header.samples)
            rows = []
            for rec in vcf:
                gts = [rec.samples[s]["GT"] for s in samples]
                phased = all(rec.samples[s].phased for s in samples)
                rows.append((rec.chrom, rec.pos, rec.ref, rec.alts, gts, phased))
            out[chrom] = (samples, rows)
    return out


def read_truth(folder):
    return pd.read_csv(folder / "truth.tsv", sep="\t", dtype={"chrom": str}, keep_default_na=False)


def count_copies(seq, motif):
    """Copies of motif on the + strand, overlaps included (same as str.count for TGACGTCA)."""
    return len(re.findall(f"(?={motif})", seq))


def recount_dosage(fasta, g, samples, rows, motif):
    """Per individual, mean motif count of the two haplotypes around the TSS, from the VCF.

    Checks on the way that the variants near the TSS are exactly truth's causal variants and
    that the reference window carries truth's number of copies.
    """
    lo, hi = g.tss - 300, g.tss + 300  # 1-based, inclusive
    near = [r for r in rows if r[1] <= g.tss + 400 and r[1] + len(r[2]) - 1 >= g.tss - 400]
    labels = [f"{r[0]}:{r[1]}:{r[2]}:{r[3][0]}" for r in near]
    assert labels == (g.causal_variants.split(",") if g.causal_variants else [])
    window = fasta.fetch(g.chrom, lo - 1, hi).upper()
    assert count_copies(window, motif) == g.n_motifs_ref
    counts = np.zeros(len(samples))
    for i in range(len(samples)):
        for h in (0, 1):
            hap = window
            for _, pos, ref, alts, gts, _ in sorted(near, key=lambda r: -r[1]):
                if lo <= pos and pos + len(ref) - 1 <= hi and gts[i][h] == 1:
                    k = pos - lo
                    assert hap[k : k + len(ref)] == ref
                    hap = hap[:k] + alts[0] + hap[k + len(ref) :]
            counts[i] += count_copies(hap, motif) / 2
    return counts


def dosage_correlations(folder, motif, effect):
    """Correlations of recounted dosage with log_TPM over genes with causal variants.

    Also returns the correlation the design implies for each such gene,
    sqrt(genetic variance / (genetic variance + noise variance)), from truth.tsv.
    """
    records = read_records(folder)
    truth = read_truth(folder)
    fasta = pysam.FastaFile(str(folder / "reference.fa"))
    table = pd.read_csv(folder / "all_partition_data.csv.gz")
    observed, implied = [], []
    for g in truth.itertuples():
        samples, rows = records[g.chrom]
        counts = recount_dosage(fasta, g, samples, rows, motif)
        expr = table[table.gene == g.gene].set_index("sample")["log_TPM"]
        assert np.isclose(np.var(effect * counts), g.genetic_variance, atol=1e-6)
        if g.n_causal_variants:
            assert counts.std() > 0
            observed.append(np.corrcoef(counts, expr.loc[samples].to_numpy())[0, 1])
            gv = g.genetic_variance
            implied.append(np.sqrt(gv / (gv + g.noise_variance)))
        else:
            assert counts.std() == 0
    return np.array(observed), np.array(implied)


def check_lists(folder, samples, genes, n_train, n_test, n_chosen):
    """Individual lists disjoint and covering ``samples``; individual genes among train genes."""
    train = (folder / "train_indivs.txt").read_text().split()
    test = (folder / "test_indivs.txt").read_text().split()
    assert len(train) == n_train and len(test) == n_test
    assert not set(train) & set(test) and set(train) | set(test) == set(samples)
    chosen = (folder / "random_genes.txt").read_text().split()
    assert len(chosen) == len(set(chosen)) == n_chosen
    assert set(chosen) <= set(genes.index[genes["split"] == "train"])


@pytest.fixture(scope="module")
def truth():
    return read_truth(DEMO)


@pytest.fixture(scope="module")
def records():
    return read_records(DEMO)


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


def test_tables(records):
    samples = records["1"][0]
    assert records["2"][0] == samples
    table = pd.read_csv(DEMO / "all_partition_data.csv.gz")
    assert list(table.columns) == ["split", "sample", "gene", "chr", "TSS", "strand", "log_TPM"]
    assert len(table) == 41 * 60
    assert set(table["sample"]) == set(samples) | {"ref"}
    assert not table.duplicated(["sample", "gene"]).any()
    assert set(table["chr"]) == {"chr1", "chr2"} and set(table["strand"]) == {"+", "-"}
    assert table["TSS"].dtype.kind == "i"
    per_gene = table.groupby("gene")[["split", "chr", "TSS", "strand"]].nunique()
    assert (per_gene == 1).all().all()
    genes = table.drop_duplicates("gene").set_index("gene")
    assert genes["split"].value_counts().to_dict() == {"train": 45, "test": 15}
    assert all(g.startswith("ENSG00000") and len(g) == 15 for g in genes.index)
    check_lists(DEMO, samples, genes, n_train=24, n_test=16, n_chosen=36)


def test_planted_signal(truth):
    """Recount motifs from the VCF itself and check they explain expression."""
    assert (truth["n_causal_variants"] > 0).mean() >= 0.8
    correlations, _ = dosage_correlations(DEMO, MOTIF, 1.0)
    assert len(correlations) >= 48
    print(f"mean r = {np.mean(correlations):.3f}, min r = {np.min(correlations):.3f}")
    assert np.mean(correlations) > 0.6


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


def test_default_design_is_todays():
    d = DemoDesign()
    assert (d.seed, d.motif, d.effect, d.noise_sd) == (20261125, MOTIF, 1.0, 0.25)
    assert (d.n_genes, d.n_individuals, d.n_train_individuals, d.n_test_genes) == (60, 40, 24, 15)
    assert (d.n_individual_genes, d.n_genes_without_causal) == (36, 8)
    assert d.contigs == (("1", 700_037, 35), ("2", 500_011, 25))
    assert d.id_counts == (20, 8, 12)
    assert d.describe() == "seed=20261125"
    assert DemoDesign(motif="gataagct").motif == "GATAAGCT"
    for bad in ({"motif": "GATAA"}, {"motif": "GATAAGCTGATAA"}, {"motif": "GATNAGCT"}):
        with pytest.raises(ValueError, match="motif"):
            DemoDesign(**bad)
    with pytest.raises(ValueError, match="n_genes"):
        DemoDesign(n_genes=3)
    with pytest.raises(ValueError, match="noise_sd"):
        DemoDesign(noise_sd=-1.0)


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
