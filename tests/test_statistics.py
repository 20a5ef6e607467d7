"""The evaluation's statistics against scipy and against simulations with a known answer."""

import warnings

import numpy as np
import pytest
from scipy import stats

from haplexpr.statistics import (
    benjamini_hochberg,
    bootstrap_ci,
    paired_difference,
    pearson_rows,
    permutation_pvalues,
    spearman_rows,
)


def random_pairs(seed: int, genes: int = 40, individuals: int = 17, ties: bool = False):
    rng = np.random.default_rng(seed)
    predicted = rng.normal(size=(genes, individuals))
    observed = 0.5 * predicted + rng.normal(size=(genes, individuals))
    if ties:  # few distinct values: ranks with many ties
        predicted, observed = np.round(predicted), np.round(observed)
    return predicted, observed


@pytest.mark.parametrize("ties", [False, True])
def test_pearson_and_spearman_equal_scipy(ties):
    predicted, observed = random_pairs(1, ties=ties)
    pearson, spearman = pearson_rows(predicted, observed), spearman_rows(predicted, observed)
    for row in range(len(predicted)):
        if np.ptp(predicted[row]) == 0 or np.ptp(observed[row]) == 0:
            continue
        want = stats.pearsonr(predicted[row], observed[row]).statistic
        assert abs(pearson[row] - want) < 1e-12
        want = stats.spearmanr(predicted[row], observed[row]).statistic
        assert abs(spearman[row] - want) < 1e-12
    assert np.isfinite(pearson).all() and np.isfinite(spearman).all()


def test_constant_rows_give_nan_not_a_rounding_residue():
    predicted, observed = random_pairs(2, genes=4, individuals=9)
    predicted[0] = 3.0  # constant prediction
    observed[1] = -1.0  # constant observation
    predicted[2] = np.full(9, 0.1)  # whose float mean is not exactly 0.1
    for correlate in (pearson_rows, spearman_rows):
        r = correlate(predicted, observed)
        assert np.isnan(r[:3]).all() and np.isfinite(r[3])


@pytest.mark.parametrize(
    ("predicted", "observed", "why"),
    [
        (np.zeros((2, 5)), np.zeros((2, 4)), "same"),
        (np.zeros((2, 1)), np.zeros((2, 1)), "at least 2"),
        (np.full((1, 4), np.nan), np.zeros((1, 4)), "no missing"),
    ],
)
def test_bad_shapes_and_missing_values_are_refused(predicted, observed, why):
    with pytest.raises(ValueError, match=why):
        pearson_rows(predicted, observed)


def test_bootstrap_ci_covers_the_true_mean_at_the_nominal_rate():
    """1,000 simulated studies of 60 genes: the 95% CI holds the true mean 92-98% of the time."""
    rng = np.random.default_rng(11)
    covered = 0
    for study in range(1000):
        values = rng.normal(0.2, 0.15, size=60)
        _, low, high = bootstrap_ci(values, "mean", n_boot=400, seed=study)
        covered += low <= 0.2 <= high
    assert 0.92 <= covered / 1000 <= 0.98


def test_bootstrap_ci_is_seeded_and_brackets_its_estimate():
    values = np.random.default_rng(3).normal(size=50)
    first = bootstrap_ci(values, "median", n_boot=500, seed=4)
    assert first == bootstrap_ci(values, "median", n_boot=500, seed=4)
    assert first != bootstrap_ci(values, "median", n_boot=500, seed=5)
    estimate, low, high = first
    assert estimate == np.median(values) and low < estimate < high
    assert np.isnan(bootstrap_ci(values[:1])[1]) and np.isnan(bootstrap_ci(values[:0])[0])


def test_permutation_pvalues_are_uniform_under_the_null_and_never_zero():
    rng = np.random.default_rng(5)
    predicted, observed = rng.normal(size=(2, 400, 12))
    p = permutation_pvalues(predicted, observed, permutations=200, seed=1)
    assert p.min() >= 1 / 201 and p.max() <= 1
    assert 0.02 < (p < 0.05).mean() < 0.09  # 0.05 expected; binomial sd 0.011 over 400 genes
    assert 0.4 < np.median(p) < 0.6


def test_a_strong_gene_gets_the_smallest_p_and_a_negative_one_the_largest():
    x = np.arange(15.0)
    predicted = np.stack([x, x, x])
    observed = np.stack([x + 0.01 * np.sin(x), -x, np.full(15, 2.0)])
    for method in ("pearson", "spearman"):
        p = permutation_pvalues(predicted, observed, permutations=999, seed=0, method=method)
        assert p[0] == 1 / 1000 and p[1] == 1.0 and np.isnan(p[2])


def test_permutation_pvalue_is_near_the_exact_test_for_normal_data():
    predicted, observed = random_pairs(7, genes=30, individuals=40)
    p = permutation_pvalues(predicted, observed, permutations=20000, seed=2)
    exact = stats.pearsonr(predicted, observed, axis=1, alternative="greater").pvalue
    # Monte Carlo error of p ~ sqrt(p (1 - p) / 20000) <= 0.0035; the t-test is exact here.
    np.testing.assert_allclose(p, exact, atol=0.015)


def test_benjamini_hochberg_equals_scipy_and_skips_missing_pvalues():
    p = np.random.default_rng(8).uniform(size=200) ** 3
    np.testing.assert_allclose(
        benjamini_hochberg(p), stats.false_discovery_control(p, method="bh"), rtol=0, atol=1e-12
    )
    with_nan = np.concatenate([p[:50], [np.nan, np.nan]])
    q = benjamini_hochberg(with_nan)
    assert np.isnan(q[50:]).all()
    np.testing.assert_allclose(q[:50], stats.false_discovery_control(p[:50]), atol=1e-12)
    assert benjamini_hochberg(np.array([])).size == 0


@pytest.mark.filterwarnings("error")
def test_paired_difference_against_scipy_and_its_edge_cases():
    rng = np.random.default_rng(9)
    r_b = rng.uniform(-0.2, 0.5, size=80)
    r_a = r_b + rng.normal(0.05, 0.1, size=80)
    result = paired_difference(r_a, r_b, n_boot=1000, seed=3)
    assert result["n_genes"] == 80 and result["a_better"] + result["b_better"] == 80
    assert result["mean_difference"] == pytest.approx(np.mean(r_a - r_b), abs=1e-15)
    assert (
        result["mean_difference_low"] < result["mean_difference"] < result["mean_difference_high"]
    )
    assert result["wilcoxon_p"] == pytest.approx(stats.wilcoxon(r_a - r_b).pvalue, rel=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = paired_difference(r_b, r_b)
        assert np.isnan(same["wilcoxon_p"]) and same["mean_difference"] == 0
        assert np.isnan(paired_difference(r_a[:1], r_b[:1])["wilcoxon_p"])
    with pytest.raises(ValueError, match="not the same genes"):
        paired_difference(r_a, r_b[:-1])
