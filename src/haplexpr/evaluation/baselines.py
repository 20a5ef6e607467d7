"""Genotype-only baseline: a per-gene elastic net on cis variant dosages (PrediXcan-style).

Published cross-individual baselines (Sasse 2023, Rastogi 2024) put elastic net at a
per-gene R of about 0.24-0.28, far above zero-shot sequence models; the deep models are
judged beside it. Each gene's model is fitted on the training individuals only, and every
gene gets one, so the baseline has no genes it has not seen.

Its cross-validated R² on the training individuals is also each gene's cis heritability
proxy: how much of the gene's expression the nearby genotypes explain at all. A sequence
model can only do well where that is high.
"""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pysam
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNetCV
from sklearn.model_selection import KFold

from haplexpr.study.design import REFERENCE_INDIVIDUAL, Study
from haplexpr.study.genes import GeneWindow

log = logging.getLogger(__name__)


def cis_dosages(
    vcf: pysam.VariantFile, chrom: str, start: int, end: int, samples: list[str]
) -> np.ndarray:
    """ALT dosages (samples x variants) of records overlapping ``[start, end)``."""
    columns = []
    for record in vcf.fetch(chrom, max(start, 0), end):
        columns.append(
            [sum(a is not None and a > 0 for a in record.samples[s]["GT"]) for s in samples]
        )
    if not columns:
        return np.zeros((len(samples), 0))
    return np.asarray(columns, dtype=np.float64).T


class ElasticNetFit(NamedTuple):
    """Predictions (sample, gene, prediction) and per-gene fit (gene, n_variants, cv_r2)."""

    predictions: pd.DataFrame
    heritability: pd.DataFrame


HERITABILITY_COLUMNS = ["gene", "n_variants", "cv_r2"]


def elastic_net_predictions(
    study: Study,
    windows: list[GeneWindow],
    vcfs: dict[str, str | Path],
    cis_window: int,
    min_minor_allele_count: int,
    l1_ratio: float,
    cv_folds: int,
    seed: int,
) -> ElasticNetFit:
    """Fit one elastic net per gene on training individuals; predict everyone."""
    started = time.monotonic()
    individuals = study.individuals
    n_train = len(study.train_individuals)
    targets = study.table.pivot(index="gene", columns="sample", values=study.target_column)
    rows, fits = [], []
    handles = {chrom: pysam.VariantFile(str(path)) for chrom, path in vcfs.items()}
    for handle in handles.values():
        handle.subset_samples(individuals)
    try:
        for number, window in enumerate(windows, start=1):
            dosages = cis_dosages(
                handles[window.chrom],
                window.chrom,
                window.tss - cis_window,
                window.tss + cis_window,
                individuals,
            )
            train_x = dosages[:n_train]
            counts = train_x.sum(axis=0)
            keep = np.minimum(counts, 2 * n_train - counts) >= min_minor_allele_count
            y = targets.loc[window.gene].reindex(study.train_individuals).to_numpy(np.float64)
            known = ~np.isnan(y)  # a row data.missing_targets dropped is not fitted
            predictions, reference, cv_r2 = _fit_predict(
                train_x[known][:, keep], y[known], dosages[:, keep], l1_ratio, cv_folds, seed
            )
            rows += [(ind, window.gene, p) for ind, p in zip(individuals, predictions, strict=True)]
            rows.append((REFERENCE_INDIVIDUAL, window.gene, reference))
            fits.append((window.gene, int(keep.sum()), cv_r2))
            if number % 100 == 0:
                log.info("elastic net: %d/%d genes", number, len(windows))
    finally:
        for handle in handles.values():
            handle.close()
    log.info("elastic net: %d genes in %.1f s", len(windows), time.monotonic() - started)
    return ElasticNetFit(
        pd.DataFrame(rows, columns=["sample", "gene", "prediction"]),
        pd.DataFrame(fits, columns=HERITABILITY_COLUMNS),
    )


def _fit_predict(
    train_x: np.ndarray,
    y: np.ndarray,
    all_x: np.ndarray,
    l1_ratio: float,
    cv_folds: int,
    seed: int,
) -> tuple[np.ndarray, float, float]:
    """Predictions for ``all_x`` and the all-reference genotype (dosage 0), and the CV R².

    The CV R² is one minus the best penalty's mean out-of-fold squared error over the
    variance of ``y`` (a little optimistic: the penalty is the one CV liked best); it is 0
    without cis variants (nothing to explain with) and NaN with fewer individuals than folds.
    Folds are shuffled with ``seed``, so the seed is what picks them.
    """
    if len(y) < cv_folds:
        return np.full(len(all_x), y.mean()), float(y.mean()), float("nan")
    if train_x.shape[1] == 0:
        return np.full(len(all_x), y.mean()), float(y.mean()), 0.0
    model = fit_elastic_net(train_x, y, l1_ratio, cv_folds, seed)
    reference = float(model.predict(np.zeros((1, train_x.shape[1])))[0])
    variance = float(np.var(y))
    cv_r2 = 1 - float(model.mse_path_.mean(axis=1).min()) / variance if variance else 0.0
    return model.predict(all_x), reference, cv_r2


def fit_elastic_net(
    train_x: np.ndarray, y: np.ndarray, l1_ratio: float, cv_folds: int, seed: int
) -> ElasticNetCV:
    """One gene's elastic net, its penalty chosen by ``cv_folds``-fold CV shuffled with ``seed``.

    Its ``coef_`` are the per-variant weights that variant effects are compared with
    (``haplexpr.effects.checks``).
    """
    folds = KFold(n_splits=cv_folds, shuffle=True, random_state=seed)
    model = ElasticNetCV(l1_ratio=l1_ratio, cv=folds, random_state=seed, alphas=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(train_x, y)
    return model
