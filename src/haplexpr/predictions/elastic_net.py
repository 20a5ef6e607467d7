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

import contextlib
import logging
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNetCV
from sklearn.model_selection import KFold

from haplexpr.study.design import REFERENCE_INDIVIDUAL, Study
from haplexpr.study.genes import GeneWindow
from haplexpr.vcf.genotypes import SampleGenotypes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ElasticNetSettings:
    """Config ``baselines.elastic_net`` plus ``training.seed``, which shuffles its CV folds.

    The schema requires every key and fills none; these defaults (config.yaml's) serve library
    callers such as the tests.
    """

    enabled: bool = True
    #: variants within this many bp of the TSS are the features
    cis_window: int = 2048
    #: a variant with fewer minor alleles among the training individuals is dropped
    min_minor_allele_count: int = 2
    #: elastic-net mixing (1 = lasso)
    l1_ratio: float = 0.5
    #: folds of the CV that chooses the penalty
    cv_folds: int = 5
    seed: int = 0

    @classmethod
    def from_config(cls, config: dict) -> ElasticNetSettings:
        """Settings from a validated config."""
        return cls(**config["baselines"]["elastic_net"], seed=config["training"]["seed"])


class CisGenotypes(NamedTuple):
    """ALT dosages (samples x variants) and each column's ``chrom:pos:ref:alt`` name."""

    dosages: np.ndarray
    variants: list[str]


def cis_genotypes(genotypes: SampleGenotypes, chrom: str, start: int, end: int) -> CisGenotypes:
    """ALT dosages of the samples at the records overlapping ``[start, end)``, named.

    Every ALT index counts (a multi-allelic record is one column); a missing allele counts 0.
    """
    records, alleles = genotypes.region(chrom, start, end)
    if not records:
        return CisGenotypes(np.zeros((len(genotypes.samples), 0)), [])
    names = [f"{r.CHROM}:{r.POS}:{r.REF}:{','.join(r.ALT)}" for r in records]
    return CisGenotypes((alleles > 0).sum(axis=2).T.astype(np.float64), names)


@contextlib.contextmanager
def cis_reader(
    vcfs: dict[str, str | Path], samples: list[str], cis_window: int
) -> Iterator[Callable[[GeneWindow], CisGenotypes]]:
    """Per gene window, ``samples``' genotypes within ``cis_window`` of its TSS.

    Each VCF is opened once for ``samples`` and closed on leaving.
    """
    handles: dict[str, SampleGenotypes] = {}
    try:
        for chrom, path in vcfs.items():
            handles[chrom] = SampleGenotypes(path, samples)
        yield lambda window: cis_genotypes(
            handles[window.chrom],
            window.chrom,
            window.tss - cis_window,
            window.tss + cis_window,
        )
    finally:
        for handle in handles.values():
            handle.close()


class ElasticNetFit(NamedTuple):
    """Predictions, per-gene fit and the weights a new cohort is predicted by.

    Columns: (sample, gene, prediction), :data:`HERITABILITY_COLUMNS` (the fit, with its
    intercept), :data:`WEIGHT_COLUMNS` (non-zero weights only).
    """

    predictions: pd.DataFrame
    heritability: pd.DataFrame
    weights: pd.DataFrame


HERITABILITY_COLUMNS = ["gene", "n_variants", "cv_r2", "intercept"]
WEIGHT_COLUMNS = ["gene", "variant", "weight"]


def elastic_net_predictions(
    study: Study,
    windows: list[GeneWindow],
    vcfs: dict[str, str | Path],
    settings: ElasticNetSettings,
) -> ElasticNetFit:
    """Fit one elastic net per gene on training individuals; predict everyone."""
    started = time.monotonic()
    individuals = study.individuals
    n_train = len(study.train_individuals)
    targets = study.table.pivot(index="gene", columns="sample", values=study.target_column)
    rows, fits, weights = [], [], []
    with cis_reader(vcfs, individuals, settings.cis_window) as genotypes_of:
        for number, window in enumerate(windows, start=1):
            dosages, variants = genotypes_of(window)
            train_x = dosages[:n_train]
            counts = train_x.sum(axis=0)
            keep = np.minimum(counts, 2 * n_train - counts) >= settings.min_minor_allele_count
            y = targets.loc[window.gene].reindex(study.train_individuals).to_numpy(np.float64)
            known = ~np.isnan(y)  # a row data.missing_targets dropped is not fitted
            predictions, cv_r2, intercept, coefficients = _fit_predict(
                train_x[known][:, keep], y[known], dosages[:, keep], settings
            )
            rows += [(ind, window.gene, p) for ind, p in zip(individuals, predictions, strict=True)]
            rows.append((REFERENCE_INDIVIDUAL, window.gene, intercept))  # all-REF dosages
            fits.append((window.gene, int(keep.sum()), cv_r2, intercept))
            kept = [v for v, k in zip(variants, keep, strict=True) if k]
            weights += [
                (window.gene, v, float(w))
                for v, w in zip(kept, coefficients, strict=True)
                if w != 0
            ]
            if number % 100 == 0:
                log.info("elastic net: %d/%d genes", number, len(windows))
    log.info("elastic net: %d genes in %.1f s", len(windows), time.monotonic() - started)
    return ElasticNetFit(
        pd.DataFrame(rows, columns=["sample", "gene", "prediction"]),
        pd.DataFrame(fits, columns=HERITABILITY_COLUMNS),
        pd.DataFrame(weights, columns=WEIGHT_COLUMNS),
    )


def _fit_predict(
    train_x: np.ndarray,
    y: np.ndarray,
    all_x: np.ndarray,
    settings: ElasticNetSettings,
) -> tuple[np.ndarray, float, float, np.ndarray]:
    """Predictions for ``all_x``, the CV R², the intercept and the weights.

    The intercept is the prediction for the all-reference genotype (dosage 0). The CV R² is
    one minus the best penalty's mean out-of-fold squared error over the variance of ``y``
    (a little optimistic: the penalty is the one CV liked best); it is 0 without cis
    variants (nothing to explain with) and NaN with fewer individuals than folds, where the
    prediction is the training mean. Folds are shuffled with ``seed``, so the seed is what
    picks them.
    """
    no_weights = np.zeros(train_x.shape[1])
    if len(y) < settings.cv_folds:
        return np.full(len(all_x), y.mean()), float("nan"), float(y.mean()), no_weights
    if train_x.shape[1] == 0:
        return np.full(len(all_x), y.mean()), 0.0, float(y.mean()), no_weights
    model = fit_elastic_net(train_x, y, settings)
    variance = float(np.var(y))
    cv_r2 = 1 - float(model.mse_path_.mean(axis=1).min()) / variance if variance else 0.0
    return model.predict(all_x), cv_r2, float(model.intercept_), model.coef_


def elastic_net_cohort_predictions(
    fits: pd.DataFrame,
    weights: pd.DataFrame,
    windows: list[GeneWindow],
    vcfs: dict[str, str | Path],
    samples: list[str],
    cis_window: int,
) -> pd.DataFrame:
    """A new cohort's predictions from the study's stored fits: intercept + weights x dosages.

    Matched by ``chrom:pos:ref:alt`` in VCFs normalised as the study's were. A weighted
    variant with no record in the cohort's VCF counts as dosage 0 (a cohort's VCF leaves out
    sites where nobody carries the ALT), as a missing genotype does in the fit; how many
    such variants there were is logged.
    """
    intercepts = fits.set_index("gene")["intercept"]
    by_gene = {gene: part for gene, part in weights.groupby("gene")}
    rows, absent, total = [], 0, 0
    with cis_reader(vcfs, samples, cis_window) as genotypes_of:
        for window in windows:
            prediction = np.full(len(samples), float(intercepts[window.gene]))
            gene_weights = by_gene.get(window.gene)
            if gene_weights is not None:
                dosages, variants = genotypes_of(window)
                column = {v: i for i, v in enumerate(variants)}
                found = gene_weights["variant"].map(column)
                present = found.notna().to_numpy()
                absent += int((~present).sum())
                total += len(found)
                prediction = (
                    prediction
                    + dosages[:, found[present].astype(int).to_numpy()]
                    @ (gene_weights["weight"].to_numpy()[present])
                )
            rows += [(s, window.gene, p) for s, p in zip(samples, prediction, strict=True)]
    log.info(
        "elastic net: %d genes x %d individuals; %d of %d weighted variants not in the "
        "cohort's VCFs (dosage 0)",
        len(windows),
        len(samples),
        absent,
        total,
    )
    return pd.DataFrame(rows, columns=["sample", "gene", "prediction"])


def fit_elastic_net(
    train_x: np.ndarray, y: np.ndarray, settings: ElasticNetSettings
) -> ElasticNetCV:
    """One gene's elastic net, its penalty chosen by ``cv_folds``-fold CV shuffled with ``seed``.

    Its ``coef_`` are the per-variant weights that variant effects are compared with
    (``haplexpr.effects.checks``).
    """
    folds = KFold(n_splits=settings.cv_folds, shuffle=True, random_state=settings.seed)
    model = ElasticNetCV(
        l1_ratio=settings.l1_ratio, cv=folds, random_state=settings.seed, alphas=30
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(train_x, y)
    return model
