"""Variant effects checked against the genotypes and, where it is known, the truth.

- **eQTL agreement**: per gene, the share of variants whose model effect has the sign of
  the marginal eQTL effect (OLS slope of expression on ALT dosage over the training
  individuals), and the Spearman correlation of the two; the same against the elastic
  net's coefficients. Sequence models often get the direction wrong (Huang et al. 2023,
  Sasse et al. 2023): this is the number that shows it.
- **Deviation explained**: how much of each individual's predicted deviation from the
  reference the sum of its personal-background effects accounts for.
- **Causal recovery** (data with truth, as the demo): precision at ``k`` (``k`` = the gene's
  causal variants) and AUROC of ``|effect|`` ranking causal variants above the rest,
  beside a random ranking's expectation and a seeded permutation of the effects.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import rankdata, spearmanr

from haplexpr.effects.variants import WindowVariants, read_window_variants
from haplexpr.predictions.elastic_net import ElasticNetSettings, fit_elastic_net
from haplexpr.study.design import REFERENCE_INDIVIDUAL, Study
from haplexpr.study.genes import GeneWindow

#: The checks table's background kinds: the reference's, and the mean over haplotypes.
PERSONAL = "personal"
CHECK_COLUMNS = [
    "gene", "background", "n_variants", "eqtl_n_signed", "eqtl_sign_agreement",
    "eqtl_spearman", "enet_n_signed", "enet_sign_agreement", "enet_spearman", "explained",
    "explained_slope", "forward_passes", "n_causal", "precision_at_k", "precision_at_k_random",
    "precision_at_k_permuted", "precision_at_k_p", "precision_at_k_baseline", "auroc",
    "auroc_random", "auroc_permuted", "auroc_p", "auroc_baseline",
]  # fmt: skip


def marginal_eqtl(variants: WindowVariants, samples: list[str], y: np.ndarray) -> pd.Series:
    """OLS slope of ``y`` on each variant's ALT dosage over ``samples``, by variant key.

    NaN for a variant without dosage variation among them (nothing to estimate from).
    """
    x = variants.dosages(samples)
    x = x - x.mean(axis=0)
    y = np.asarray(y, np.float64) - np.mean(y)
    variance = (x**2).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(variance > 0, x.T @ y / variance, np.nan)
    return pd.Series(slope, index=[v.key for v in variants.variants], dtype=float)


def elastic_net_coefficients(
    variants: WindowVariants,
    samples: list[str],
    y: np.ndarray,
    settings: ElasticNetSettings,
) -> pd.Series:
    """The baseline's per-variant weights, fitted as the pipeline fits it (by variant key).

    ``variants`` should be the baseline's features (records within ``cis_window`` of the
    TSS); variants its allele-count filter drops get NaN (no weight to compare with).
    """
    x = variants.dosages(samples)
    counts = x.sum(axis=0)
    keep = np.minimum(counts, 2 * len(samples) - counts) >= settings.min_minor_allele_count
    coefficients = np.full(len(variants.variants), np.nan)
    if keep.any() and len(y) >= settings.cv_folds:
        model = fit_elastic_net(x[:, keep], np.asarray(y, np.float64), settings)
        coefficients[keep] = model.coef_
    return pd.Series(coefficients, index=[v.key for v in variants.variants], dtype=float)


def agreement(model: pd.Series, other: pd.Series) -> dict[str, float]:
    """Sign agreement and Spearman of two per-variant effects (aligned by variant key).

    Sign agreement counts variants where both are finite and non-zero (a zero has no
    direction); Spearman uses every variant where both are finite. NaN with too few.
    """
    both = pd.concat([model.rename("model"), other.rename("other")], axis=1, join="inner")
    both = both[np.isfinite(both["model"]) & np.isfinite(both["other"])]
    signed = both[(both["model"] != 0) & (both["other"] != 0)]
    agree = (
        float((np.sign(signed["model"]) == np.sign(signed["other"])).mean())
        if len(signed)
        else np.nan
    )
    constant = both["model"].nunique() < 2 or both["other"].nunique() < 2
    rho = np.nan if len(both) < 3 or constant else float(spearmanr(both).statistic)
    return {"n_variants": len(both), "n_signed": len(signed), "sign_agreement": agree,
            "spearman": rho}  # fmt: skip


def deviation_explained(effects: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """Per individual and gene: predicted deviation from the reference, and what effects add.

    ``deviation`` = mean over the individual's haplotypes of ``f(h)`` minus ``f(reference)``
    (the model averages haplotypes); ``attributed`` = mean over its haplotypes of the sum
    of that haplotype's personal-background effects. They are equal when effects add up.
    """
    own = predictions[predictions["background"] != REFERENCE_INDIVIDUAL].copy()
    if own.empty:
        return pd.DataFrame(columns=["gene", "individual", "deviation", "attributed"])
    reference = predictions[predictions["background"] == REFERENCE_INDIVIDUAL]
    reference = reference.set_index("gene")["prediction"]
    sums = effects[effects["background"] != REFERENCE_INDIVIDUAL]
    sums = sums.groupby(["gene", "background"])["effect"].sum()
    own["attributed"] = [
        sums.get((g, b), 0.0) for g, b in zip(own["gene"], own["background"], strict=True)
    ]
    own["deviation"] = own["prediction"] - own["gene"].map(reference)
    own["individual"] = own["background"].str.rsplit(":", n=1).str[0]
    table = own.groupby(["gene", "individual"])[["deviation", "attributed"]].mean()
    return table.reset_index()


def explained_share(table: pd.DataFrame) -> pd.DataFrame:
    """Per gene: ``1 - sum (d - a)^2 / sum d^2`` and the slope ``sum a d / sum d^2``.

    The first is the share of the deviations' sum of squares the attributions account for
    (1 when effects add up exactly); the second how large attributions are on average
    relative to deviations. NaN for a gene whose deviations are all zero.
    """

    def one(group: pd.DataFrame) -> pd.Series:
        d, a = group["deviation"].to_numpy(), group["attributed"].to_numpy()
        total = float((d**2).sum())
        share = 1 - float(((d - a) ** 2).sum()) / total if total else np.nan
        slope = float((a * d).sum()) / total if total else np.nan
        return pd.Series({"n_individuals": len(d), "explained": share, "slope": slope})

    return table.groupby("gene")[["deviation", "attributed"]].apply(one).reset_index()


def precision_at_k(scores: np.ndarray, causal: np.ndarray, k: int) -> float:
    """Expected share of causal variants among the ``k`` highest scores, ties broken at random."""
    order = np.sort(np.unique(scores))[::-1]
    taken = found = 0.0
    for value in order:
        tied = scores == value
        room = k - taken
        if room <= 0:
            break
        take = min(room, tied.sum())
        found += take * causal[tied].mean()
        taken += take
    return found / k


def auroc(scores: np.ndarray, causal: np.ndarray) -> float:
    """Probability that a causal variant outscores a non-causal one (ties count half)."""
    n_pos, n_neg = int(causal.sum()), int((~causal).sum())
    if n_pos == 0 or n_neg == 0:
        return np.nan
    ranks = rankdata(scores)
    return float((ranks[causal].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def causal_recovery(
    effects: pd.Series,
    causal: set[str],
    permutations: int,
    seed: int,
    baseline: pd.Series | None = None,
) -> dict[str, float]:
    """How well ``|effect|`` (by variant key) ranks the ``causal`` keys above the rest.

    Beside each statistic: its expectation under a random ranking (``k / n`` and 0.5), the
    mean over ``permutations`` seeded shuffles of the effects, the permutation p-value
    (the share of shuffles at least as good, counting the observed one) and, given
    ``baseline`` (scores by variant key that use no model, e.g. minus the distance to the
    TSS), the same statistic for that ranking: a model whose readout favours the TSS ranks
    central variants first without having learned anything.
    """
    scores = np.abs(effects.to_numpy(np.float64))
    is_causal = np.array([key in causal for key in effects.index])
    k = int(is_causal.sum())
    result = {"n_variants": len(scores), "n_causal": k}
    if k == 0 or k == len(scores):
        return result | {"precision_at_k": np.nan, "auroc": np.nan}
    rng = np.random.default_rng(seed)
    shuffles = [rng.permutation(scores) for _ in range(permutations)]
    for name, statistic, expected in (
        ("precision_at_k", lambda s: precision_at_k(s, is_causal, k), k / len(scores)),
        ("auroc", lambda s: auroc(s, is_causal), 0.5),
    ):
        observed = statistic(scores)
        null = np.array([statistic(s) for s in shuffles])
        result |= {
            name: observed,
            f"{name}_random": expected,
            f"{name}_permuted": float(null.mean()) if permutations else np.nan,
            f"{name}_p": float((1 + (null >= observed).sum()) / (1 + permutations)),
        }
        if baseline is not None:
            result[f"{name}_baseline"] = statistic(baseline.reindex(effects.index).to_numpy())
    return result


def read_truth(path: str | Path) -> dict[str, set[str]]:
    """Causal variant keys per gene from a demo ``truth.tsv`` (``chrom:pos:ref:alt``)."""
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    absent = {"gene", "causal_variants"} - set(table.columns)
    if absent:
        raise ValueError(f"{path}: no column(s) {', '.join(sorted(absent))}; not a truth table")
    return {
        gene: {key for key in keys.split(",") if key}
        for gene, keys in zip(table["gene"], table["causal_variants"], strict=True)
    }


def check_effects(
    effects: pd.DataFrame,
    backgrounds: pd.DataFrame,
    study: Study,
    windows: list[GeneWindow],
    vcfs: dict[str, str | Path],
    input_length: int,
    elastic_net: ElasticNetSettings,
    truth: dict[str, set[str]] | None = None,
    permutations: int = 0,
    permutation_seed: int = 0,
) -> pd.DataFrame:
    """Per gene and background kind (reference; personal = mean over haplotypes): the checks.

    ``effects`` and ``backgrounds`` are a scored run's tables (``effects.runs.score_run``);
    ``windows`` the study's gene windows. Marginal eQTL slopes (variants in the model's
    input) and elastic-net weights (the baseline's settings: its features within
    ``cis_window`` of the TSS, seeded as the baseline is) are fitted on the training
    individuals; causal recovery (genes in ``truth``) is permuted seeded; explained
    share and forward passes are per gene, the same in both rows.
    """
    truth = truth or {}
    targets = study.table.pivot(index="gene", columns="sample", values=study.target_column)
    explained = explained_share(deviation_explained(effects, backgrounds)).set_index("gene")
    passes = backgrounds.groupby("gene")["forward_passes"].first()
    rows = []
    for window in (w for w in windows if w.gene in set(effects["gene"])):
        gene, chrom, tss, vcf = window.gene, window.chrom, window.tss, vcfs[window.chrom]
        y = targets.loc[gene].reindex(study.train_individuals).dropna()
        samples, first = y.index.tolist(), tss - input_length // 2
        eqtl = marginal_eqtl(
            read_window_variants(vcf, chrom, first, first + input_length, samples), samples, y
        )
        cis = elastic_net.cis_window
        enet = elastic_net_coefficients(
            read_window_variants(vcf, chrom, tss - cis, tss + cis, samples), samples,
            y.to_numpy(), elastic_net,
        )  # fmt: skip
        mine = effects[effects["gene"] == gene]
        nearest = -mine.groupby("key")["tss_distance"].first().abs()  # uses no model
        reference = mine["background"] == REFERENCE_INDIVIDUAL
        for name, part in ((REFERENCE_INDIVIDUAL, mine[reference]), (PERSONAL, mine[~reference])):
            model = part.groupby("key")["effect"].mean()
            e, n = agreement(model, eqtl), agreement(model, enet)
            row = {
                "gene": gene, "background": name, "n_variants": len(model),
                "eqtl_n_signed": e["n_signed"], "eqtl_sign_agreement": e["sign_agreement"],
                "eqtl_spearman": e["spearman"], "enet_n_signed": n["n_signed"],
                "enet_sign_agreement": n["sign_agreement"], "enet_spearman": n["spearman"],
                "explained": explained["explained"].get(gene, np.nan),
                "explained_slope": explained["slope"].get(gene, np.nan),
                "forward_passes": passes.get(gene, 0),
            }  # fmt: skip
            if gene in truth and len(model):
                row |= causal_recovery(model, truth[gene], permutations, permutation_seed, nearest)
            rows.append(row)
    return pd.DataFrame(rows).reindex(columns=CHECK_COLUMNS)
