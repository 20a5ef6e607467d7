"""A cohort's predictions as tables a TWAS reads, each gene with the study's evidence for it.

Per gene: the run's Pearson R across the study's held-out individuals (the metrics'
per-gene table), its 95% CI (Fisher z, ``n`` individuals), the Benjamini-Hochberg
q-value of the one-sided permutation test of R > 0 over its gene set, and ``usable``:
R > 0 with q at most ``evaluation.usable_q_value``. A gene the run did not predict across
held-out individuals (constant predictions, too few individuals) is not usable.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.stats import norm

#: Columns before the individuals' in the wide table, in order.
GENE_COLUMNS = [
    "gene",
    "gene_set",
    "held_out_n",
    "held_out_r",
    "held_out_r_low",
    "held_out_r_high",
    "held_out_q_value",
    "usable",
]
LONG_COLUMNS = ["sample", "gene", "prediction", "usable"]


def r_confidence_interval(
    r: np.ndarray, n: np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Fisher-z interval of Pearson's R from ``n`` pairs; NaN where ``n`` < 4 or R is NaN."""
    r = np.asarray(r, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    half = norm.ppf(0.5 + level / 2) / np.sqrt(np.where(n > 3, n - 3, np.nan))
    z = np.arctanh(np.clip(r, -1 + 1e-12, 1 - 1e-12))
    return np.tanh(z - half), np.tanh(z + half)


def gene_evidence(per_gene: pd.DataFrame, usable_q_value: float) -> pd.DataFrame:
    """The study's held-out evidence per gene (:data:`GENE_COLUMNS`) from a metrics table."""
    held_out = per_gene[per_gene["individuals"] == "held_out_individuals"]
    low, high = r_confidence_interval(held_out["r"], held_out["n"])
    usable = (
        (held_out["r"] > 0)
        & (held_out["q_value"] <= usable_q_value)
        & ~held_out["constant_predicted"].astype(bool)
    )
    return pd.DataFrame(
        {
            "gene": held_out["gene"].to_numpy(),
            "gene_set": held_out["gene_set"].to_numpy(),
            "held_out_n": held_out["n"].to_numpy(),
            "held_out_r": held_out["r"].to_numpy(),
            "held_out_r_low": low,
            "held_out_r_high": high,
            "held_out_q_value": held_out["q_value"].to_numpy(),
            "usable": usable.to_numpy(),
        }
    )


class CohortTables(NamedTuple):
    """Genes x individuals (with :data:`GENE_COLUMNS` first) and one row per prediction."""

    wide: pd.DataFrame
    long: pd.DataFrame


def cohort_tables(
    predictions: pd.DataFrame, evidence: pd.DataFrame, samples: list[str]
) -> CohortTables:
    """Join a cohort's predictions (sample, gene, prediction) with the genes' evidence.

    Genes keep the predictions' order and individuals ``samples``' order; a predicted gene
    the metrics never scored gets empty evidence and ``usable`` false.
    """
    clash = sorted(set(samples) & set(GENE_COLUMNS))
    if clash:
        raise ValueError(
            f"cohort individuals named like the table's gene columns: {clash}; rename them"
        )
    genes = list(dict.fromkeys(predictions["gene"]))
    matrix = predictions.pivot(index="gene", columns="sample", values="prediction")
    missing = [s for s in samples if s not in matrix.columns]
    if missing:
        raise ValueError(f"no predictions for cohort individuals {missing[:5]}")
    evidence = evidence.set_index("gene").reindex(genes)
    evidence["usable"] = evidence["usable"].fillna(False).astype(bool)
    wide = pd.concat([evidence, matrix.loc[genes, samples]], axis=1).reset_index(names="gene")
    long = predictions[predictions["sample"].isin(samples)].merge(
        evidence["usable"].reset_index(), on="gene", how="left"
    )
    return CohortTables(wide[GENE_COLUMNS + samples], long[LONG_COLUMNS])
