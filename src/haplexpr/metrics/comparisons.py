"""Model against model: per-gene differences in R, with their uncertainty.

Is one run's per-gene R really higher than another's? Every pair of runs
(``model/strategy``) is compared on the genes both scored for the same held-out
individuals: the per-gene difference in R, its mean with a bootstrap 95% CI over genes, and
a Wilcoxon signed-rank test, with Benjamini-Hochberg q-values over the pairs of a gene
set. So "rp beats p" or "Enformer beats the elastic net" is a statement with its
uncertainty. A genotype baseline was fitted on every gene, so on "unseen" genes it is
compared with nothing.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from haplexpr.metrics.evaluation import check_table
from haplexpr.statistics import benjamini_hochberg, paired_difference

COMPARISON_SCHEMA = {
    "individuals": "object",
    "gene_set": "object",
    "run_a": "object",
    "run_b": "object",
    "n_genes": "int64",
    "mean_difference": "float64",
    "mean_difference_low": "float64",
    "mean_difference_high": "float64",
    "median_difference": "float64",
    "a_better": "int64",
    "b_better": "int64",
    "wilcoxon_p": "float64",
    "q_value": "float64",
}

#: The individuals comparisons are made on: the held-out ones (generalisation).
INDIVIDUALS = "held_out_individuals"


def scored_genes(per_gene: pd.DataFrame, gene_set: str) -> pd.Series:
    """Per-gene R (held-out individuals) as the means count it: by gene, NaN as 0."""
    rows = per_gene[
        (per_gene["individuals"] == INDIVIDUALS)
        & (per_gene["gene_set"] == gene_set)
        & ~per_gene["constant_observed"].astype(bool)
    ]
    return rows.set_index("gene")["r"].fillna(0.0)


def compare_runs(
    per_genes: dict[str, pd.DataFrame],
    kinds: dict[str, str],
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per pair of runs and gene set: ``run_a - run_b`` (runs in the given order)."""
    rows = []
    for gene_set in ("seen_genes", "unseen_genes"):
        runs = [
            run
            for run in per_genes
            if not (gene_set == "unseen_genes" and kinds[run] == "genotype_baseline")
        ]
        scores = {run: scored_genes(per_genes[run], gene_set) for run in runs}
        pairs = []
        for run_a, run_b in itertools.combinations(runs, 2):
            genes = scores[run_a].index.intersection(scores[run_b].index)
            if len(genes) == 0:
                continue
            numbers = paired_difference(
                scores[run_a].loc[genes].to_numpy(),
                scores[run_b].loc[genes].to_numpy(),
                n_boot,
                seed,
            )
            pairs.append(
                {"individuals": INDIVIDUALS, "gene_set": gene_set, "run_a": run_a,
                 "run_b": run_b, **numbers}
            )  # fmt: skip
        q = benjamini_hochberg(np.array([pair["wilcoxon_p"] for pair in pairs], dtype=float))
        rows += [{**pair, "q_value": value} for pair, value in zip(pairs, q, strict=True)]
    frame = pd.DataFrame(rows, columns=list(COMPARISON_SCHEMA))
    for column in ("n_genes", "a_better", "b_better"):
        frame[column] = frame[column].astype("int64")
    return check_table(frame, COMPARISON_SCHEMA, "comparisons")


def difference_matrix(comparisons: pd.DataFrame, gene_set: str, runs: list[str]) -> pd.DataFrame:
    """Square table of mean ΔR (row minus column) for one gene set; NaN where not compared."""
    matrix = pd.DataFrame(np.nan, index=runs, columns=runs)
    for row in comparisons[comparisons["gene_set"] == gene_set].itertuples():
        if row.run_a in matrix.index and row.run_b in matrix.index:
            matrix.loc[row.run_a, row.run_b] = row.mean_difference
            matrix.loc[row.run_b, row.run_a] = -row.mean_difference
    return matrix
