"""The statistics behind the evaluation, vectorised over genes (rows of a matrix).

The study's unit is the gene: per gene, how well predictions follow observed expression
across individuals. So every uncertainty here resamples or permutes within that frame:

- bootstrap confidence intervals resample *genes* (a mean over genes is the headline, and
  genes, not individuals, are the population it generalises to);
- per-gene significance permutes observed expression *across individuals within a gene*
  (the null: this gene's predictions carry no information about who expresses more), with
  Phipson & Smyth's (1 + hits) / (1 + permutations), which is never 0, then
  Benjamini-Hochberg over a set of genes;
- two models are compared on the same genes by their per-gene difference in R, with a
  bootstrap CI of its mean and a Wilcoxon signed-rank test.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats

#: Rows of resampled or permuted values handled at once: bounds memory at large sizes.
_CHUNK_ELEMENTS = 4_000_000


def _check_pair(predicted: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    predicted, observed = np.asarray(predicted, float), np.asarray(observed, float)
    if predicted.shape != observed.shape or predicted.ndim != 2:
        raise ValueError(
            f"predicted {predicted.shape} and observed {observed.shape} must be the same"
            " (genes, individuals) shape"
        )
    if predicted.shape[1] < 2:
        raise ValueError(f"a correlation needs at least 2 individuals, got {predicted.shape[1]}")
    if np.isnan(predicted).any() or np.isnan(observed).any():
        raise ValueError("predicted and observed must have no missing values")
    return predicted, observed


def constant_rows(values: np.ndarray) -> np.ndarray:
    """Rows whose values are all equal (tested directly: a float mean of c, c, ... may not be c)."""
    return (values == values[:, :1]).all(axis=1)


def _correlate(predicted: np.ndarray, observed: np.ndarray) -> np.ndarray:
    p = predicted - predicted.mean(axis=-1, keepdims=True)
    o = observed - observed.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (p * o).sum(axis=-1) / np.sqrt((p * p).sum(axis=-1) * (o * o).sum(axis=-1))


def pearson_rows(predicted: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Pearson R of each row pair of two (genes, individuals) arrays; NaN for constant rows."""
    predicted, observed = _check_pair(predicted, observed)
    r = _correlate(predicted, observed)
    r[constant_rows(predicted) | constant_rows(observed)] = np.nan
    return r


def spearman_rows(predicted: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Spearman's rho per row: Pearson R of average-tie ranks; NaN for constant rows."""
    predicted, observed = _check_pair(predicted, observed)
    rho = _correlate(stats.rankdata(predicted, axis=1), stats.rankdata(observed, axis=1))
    rho[constant_rows(predicted) | constant_rows(observed)] = np.nan
    return rho


def bootstrap_ci(
    values: np.ndarray,
    statistic: str = "mean",
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """``(estimate, low, high)``: the statistic of ``values`` and its percentile bootstrap CI.

    ``values`` are one number per gene, missing ones already decided on by the caller (the
    evaluation counts a constant prediction's R as 0); the genes are resampled with
    replacement ``n_boot`` times. Fewer than two values give a NaN interval.
    """
    values = np.asarray(values, float)
    reduce = {"mean": np.mean, "median": np.median}[statistic]
    if values.size == 0:
        return np.nan, np.nan, np.nan
    estimate = float(reduce(values))
    if values.size < 2:
        return estimate, np.nan, np.nan
    rng = np.random.default_rng(seed)
    rows = max(1, _CHUNK_ELEMENTS // values.size)
    resampled = np.concatenate(
        [
            reduce(values[rng.integers(0, values.size, (min(rows, n_boot - lo), values.size))], 1)
            for lo in range(0, n_boot, rows)
        ]
    )
    tail = (1 - level) / 2
    low, high = np.quantile(resampled, [tail, 1 - tail])
    return estimate, float(low), float(high)


def permutation_pvalues(
    predicted: np.ndarray,
    observed: np.ndarray,
    permutations: int = 1000,
    seed: int = 0,
    method: str = "pearson",
) -> np.ndarray:
    """Per gene, the one-sided p-value of R > 0 by permuting observed values within the gene.

    ``p = (1 + #{permuted R >= R}) / (1 + permutations)`` (Phipson & Smyth 2010: an exact
    test that is never 0); NaN where R is (a constant row). ``method: spearman`` permutes
    ranks and tests Spearman's rho.
    """
    predicted, observed = _check_pair(predicted, observed)
    nan = constant_rows(predicted) | constant_rows(observed)
    if method == "spearman":
        predicted, observed = stats.rankdata(predicted, axis=1), stats.rankdata(observed, axis=1)
    elif method != "pearson":
        raise ValueError(f"method must be pearson or spearman, got {method!r}")
    r = _correlate(predicted, observed)
    rng = np.random.default_rng(seed)
    hits = np.zeros(len(r))
    rows = max(1, _CHUNK_ELEMENTS // predicted.size)
    for lo in range(0, permutations, rows):
        n = min(rows, permutations - lo)
        shuffled = rng.permuted(np.broadcast_to(observed, (n, *observed.shape)), axis=2)
        null = _correlate(predicted[None], shuffled)
        # A permutation equal to the observed order ties with R; rounding must not hide it.
        hits += (null >= r[None] - 1e-12).sum(axis=0)
    p = (1 + hits) / (1 + permutations)
    p[nan] = np.nan
    return p


def benjamini_hochberg(pvalues: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values (step-up, monotone, at most 1); NaN p-values stay NaN.

    Missing p-values (genes with no R) are not tests, so they do not count in m.
    """
    pvalues = np.asarray(pvalues, float)
    q = np.full(pvalues.shape, np.nan)
    tested = ~np.isnan(pvalues)
    p = pvalues[tested]
    if p.size:
        order = np.argsort(p)
        ranked = p[order] * p.size / np.arange(1, p.size + 1)
        monotone = np.minimum.accumulate(ranked[::-1])[::-1]
        q_tested = np.empty(p.size)
        q_tested[order] = np.minimum(monotone, 1.0)
        q[tested] = q_tested
    return q


def paired_difference(
    r_a: np.ndarray, r_b: np.ndarray, n_boot: int = 2000, seed: int = 0
) -> dict[str, float]:
    """Model a against model b on the same genes: per-gene ``r_a - r_b`` summarised.

    Returns the number of genes, the mean difference with its bootstrap 95% CI over genes,
    the median difference, how many genes a wins, and the two-sided Wilcoxon signed-rank
    p-value (NaN when every difference is 0 or fewer than two genes remain).
    """
    r_a, r_b = np.asarray(r_a, float), np.asarray(r_b, float)
    if r_a.shape != r_b.shape:
        raise ValueError(f"per-gene R of {r_a.shape} and {r_b.shape} genes: not the same genes")
    difference = r_a - r_b
    mean, low, high = bootstrap_ci(difference, "mean", n_boot, seed=seed)
    p = np.nan
    if difference.size >= 2 and np.any(difference != 0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy warns on ties and zeros, then copes
            p = float(stats.wilcoxon(difference, zero_method="wilcox").pvalue)
    return {
        "n_genes": int(difference.size),
        "mean_difference": mean,
        "mean_difference_low": low,
        "mean_difference_high": high,
        "median_difference": float(np.median(difference)) if difference.size else np.nan,
        "a_better": int((difference > 0).sum()),
        "b_better": int((difference < 0).sum()),
        "wilcoxon_p": p,
    }
