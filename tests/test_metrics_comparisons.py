"""Model-to-model comparisons: per-gene differences in R, their CI, Wilcoxon and BH."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_metrics_evaluation import predictions_from, settings

from haplexpr.metrics.comparisons import COMPARISON_SCHEMA, compare_runs, difference_matrix
from haplexpr.metrics.evaluation import evaluate
from haplexpr.study.design import Study
from haplexpr.study.genes import gene_table


def many_gene_study(n_genes: int = 40, n_individuals: int = 12) -> Study:
    """Seen genes s0.. and unseen genes u0.., expression varying across individuals."""
    rng = np.random.default_rng(0)
    train = [f"tr{i}" for i in range(n_individuals)]
    test = [f"te{i}" for i in range(n_individuals)]
    seen = [f"s{k}" for k in range(n_genes)]
    unseen = [f"u{k}" for k in range(n_genes // 2)]
    rows = [
        ("train" if gene in seen else "test", sample, gene, "chr1", 1000 * k + 1, "+",
         rng.normal(k % 5, 1.0))
        for k, gene in enumerate(seen + unseen)
        for sample in [*train, *test]
    ]  # fmt: skip
    table = pd.DataFrame(rows, columns=["split", "sample", "gene", "chr", "TSS", "strand", "y"])
    study = Study(table, gene_table(table), train, test, seen, "y", "ref")
    study.check()
    return study


@pytest.fixture(scope="module")
def runs():
    """Three runs: close to the truth, noisier, and the noisy one as a genotype baseline."""
    study = many_gene_study()
    rng = np.random.default_rng(1)
    per_genes, kinds = {}, {}
    for run, noise, kind in (
        ("good/p", 0.3, "sequence_model"),
        ("poor/p", 3.0, "sequence_model"),
        ("elastic_net/p", 3.0, "genotype_baseline"),
    ):
        predictions = predictions_from(study, lambda v, s, noise=noise: v + rng.normal(0, noise))
        predictions = predictions[predictions["sample"] != "reference"]
        _, per_genes[run] = evaluate(predictions, study, settings(0), kind=kind)
        kinds[run] = kind
    return per_genes, kinds


def held_out_r(per_gene: pd.DataFrame, gene_set: str = "seen_genes") -> pd.Series:
    rows = per_gene[
        (per_gene["individuals"] == "held_out_individuals") & (per_gene["gene_set"] == gene_set)
    ]
    return rows.set_index("gene")["r"]


def test_a_better_run_wins_with_a_ci_above_zero(runs):
    per_genes, kinds = runs
    comparisons = compare_runs(per_genes, kinds, n_boot=500, seed=2)
    assert list(comparisons.columns) == list(COMPARISON_SCHEMA)
    row = comparisons.set_index(["gene_set", "run_a", "run_b"]).loc[
        ("seen_genes", "good/p", "poor/p")
    ]
    difference = held_out_r(per_genes["good/p"]) - held_out_r(per_genes["poor/p"])
    assert row["n_genes"] == 40
    assert row["mean_difference"] == pytest.approx(difference.mean(), abs=1e-12)
    assert row["median_difference"] == pytest.approx(difference.median(), abs=1e-12)
    assert 0 < row["mean_difference_low"] < row["mean_difference"] < row["mean_difference_high"]
    assert row["wilcoxon_p"] == pytest.approx(stats.wilcoxon(difference).pvalue, rel=1e-12)
    assert row["q_value"] < 0.01 and row["a_better"] > row["b_better"]


def test_the_baseline_is_compared_on_seen_genes_only(runs):
    comparisons = compare_runs(*runs, n_boot=200)
    pairs = {(row.gene_set, row.run_a, row.run_b) for row in comparisons.itertuples()}
    assert pairs == {
        ("seen_genes", "good/p", "poor/p"),
        ("seen_genes", "good/p", "elastic_net/p"),
        ("seen_genes", "poor/p", "elastic_net/p"),
        ("unseen_genes", "good/p", "poor/p"),
    }
    unseen = comparisons[comparisons["gene_set"] == "unseen_genes"]
    assert unseen["n_genes"].tolist() == [20]
    # One test in the unseen set: its q-value is its p-value.
    assert unseen["q_value"].iloc[0] == pytest.approx(unseen["wilcoxon_p"].iloc[0])


def test_difference_matrix_is_antisymmetric(runs):
    comparisons = compare_runs(*runs, n_boot=200)
    order = ["good/p", "poor/p", "elastic_net/p"]
    matrix = difference_matrix(comparisons, "seen_genes", order)
    np.testing.assert_allclose(matrix.to_numpy(), -matrix.to_numpy().T)
    assert np.isnan(np.diag(matrix.to_numpy())).all()
    unseen = difference_matrix(comparisons, "unseen_genes", order)
    assert unseen.loc["good/p", "poor/p"] > 0 and np.isnan(unseen.loc["good/p", "elastic_net/p"])


def test_constant_genes_are_left_out_and_constant_predictions_count_as_zero(runs):
    per_genes, kinds = runs
    changed = {run: frame.copy() for run, frame in per_genes.items()}
    seen = changed["good/p"]["gene"] == "s0"
    changed["good/p"].loc[seen, "r"] = np.nan  # a constant prediction: R 0 in the comparison
    changed["poor/p"].loc[changed["poor/p"]["gene"] == "s1", "constant_observed"] = True
    row = compare_runs(changed, kinds, n_boot=200).iloc[0]
    assert (row["run_a"], row["run_b"], row["n_genes"]) == ("good/p", "poor/p", 39)
    difference = held_out_r(changed["good/p"]).fillna(0) - held_out_r(changed["poor/p"])
    assert row["mean_difference"] == pytest.approx(difference.drop("s1").mean(), abs=1e-12)
