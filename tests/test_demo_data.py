"""The embedded demo dataset: reproducible, well-formed, and carrying a learnable signal."""

import gzip
import hashlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
MOTIF = "TGACGTCA"  # restated here on purpose: the test must not trust the generator's constants

try:
    from haplexpr.demo_data import write_demo_dataset
except ImportError:  # package not installed: use the source tree
    sys.path.insert(0, str(ROOT / "src"))
    from haplexpr.demo_data import write_demo_dataset

BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    write_demo_dataset(out)
    return out


@pytest.fixture(scope="module")
def truth():
    return pd.read_csv(DEMO / "truth.tsv", sep="\t", dtype={"chrom": str}, keep_default_na=False)


@pytest.fixture(scope="module")
def records():
    """All VCF records as plain tuples, per contig, in file order."""
    out = {}
    for chrom in ("1", "2"):
        with pysam.VariantFile(str(DEMO / "vcf" / f"demo.chr{chrom}.vcf.gz")) as vcf:
            samples = list(vcf.header.samples)
            rows = []
            for rec in vcf:
                gts = [rec.samples[s]["GT"] for s in samples]
                phased = all(rec.samples[s].phased for s in samples)
                rows.append((rec.chrom, rec.pos, rec.ref, rec.alts, gts, phased))
            out[chrom] = (samples, rows)
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
    train = (DEMO / "train_indivs.txt").read_text().split()
    test = (DEMO / "test_indivs.txt").read_text().split()
    assert len(train) == 24 and len(test) == 16
    assert not set(train) & set(test) and set(train) | set(test) == set(samples)
    chosen = (DEMO / "random_genes.txt").read_text().split()
    assert len(chosen) == len(set(chosen)) == 36
    assert set(chosen) <= set(genes.index[genes["split"] == "train"])


def test_planted_signal(records, truth):
    """Recount motifs from the VCF itself and check they explain expression."""
    fasta = pysam.FastaFile(str(DEMO / "reference.fa"))
    table = pd.read_csv(DEMO / "all_partition_data.csv.gz")
    assert (truth["n_causal_variants"] > 0).mean() >= 0.8
    correlations = []
    for g in truth.itertuples():
        samples, rows = records[g.chrom]
        lo, hi = g.tss - 300, g.tss + 300  # 1-based, inclusive
        near = [r for r in rows if r[1] <= g.tss + 400 and r[1] + len(r[2]) - 1 >= g.tss - 400]
        labels = [f"{r[0]}:{r[1]}:{r[2]}:{r[3][0]}" for r in near]
        assert labels == (g.causal_variants.split(",") if g.causal_variants else [])
        window = fasta.fetch(g.chrom, lo - 1, hi).upper()
        assert window.count(MOTIF) == g.n_motifs_ref
        counts = np.zeros(len(samples))
        for i in range(len(samples)):
            for h in (0, 1):
                hap = window
                for _, pos, ref, alts, gts, _ in sorted(near, key=lambda r: -r[1]):
                    if lo <= pos and pos + len(ref) - 1 <= hi and gts[i][h] == 1:
                        k = pos - lo
                        assert hap[k : k + len(ref)] == ref
                        hap = hap[:k] + alts[0] + hap[k + len(ref) :]
                counts[i] += hap.count(MOTIF) / 2
        expr = table[table.gene == g.gene].set_index("sample")["log_TPM"]
        assert np.isclose(np.var(counts), g.genetic_variance, atol=1e-6)
        if g.n_causal_variants:
            assert counts.std() > 0
            correlations.append(np.corrcoef(counts, expr.loc[samples].to_numpy())[0, 1])
        else:
            assert counts.std() == 0
    assert len(correlations) >= 48
    print(f"mean r = {np.mean(correlations):.3f}, min r = {np.min(correlations):.3f}")
    assert np.mean(correlations) > 0.6
