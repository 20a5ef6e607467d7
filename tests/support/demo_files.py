"""The demo dataset's files read back: records, truth, motif dosages and the lists.

Shared by the demo's tests (tests/test_demo_*.py), which check the committed ``data/demo`` and
regenerated datasets against the design without trusting the generator's own counting.
"""

import re

import numpy as np
import pandas as pd
import pysam

from support import ROOT

DEMO = ROOT / "data" / "demo"
MOTIF = "TGACGTCA"  # restated here on purpose: the test must not trust the generator's constants


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
