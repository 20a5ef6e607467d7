"""Metrics of personal expression prediction, the question that matters first.

Per gene, Pearson and Spearman R between predicted and observed expression across held-out
individuals (the cross-individual question), on genes seen in individual-level training
and on held-out genes; the same on training individuals (fit, not generalisation). Over
genes: mean and median with bootstrap 95% CIs; the share of genes whose R is positive (sign
agreement: zero-shot models often get the sign of the cross-individual effect wrong); how
many genes are predicted significantly (permutation test per gene, Benjamini-Hochberg);
genes with constant observed or predicted values, counted. Also across-gene R of the
reference predictions, and a shuffled-expression control: the same predictions scored
against expression permuted across individuals within each gene, which is what any model
scores by chance. Model-to-model comparisons are in :mod:`haplexpr.metrics.comparisons`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from haplexpr.statistics import (
    benjamini_hochberg,
    bootstrap_ci,
    constant_rows,
    pearson_rows,
    permutation_pvalues,
    spearman_rows,
)
from haplexpr.study.design import REFERENCE_INDIVIDUAL, Study

#: Per-gene table: one row per (individuals, gene set, gene); ``p_value`` tests R > 0 by
#: permutation within the gene, ``q_value`` is its Benjamini-Hochberg q over the gene set.
PER_GENE_SCHEMA = {
    "individuals": "object",
    "gene_set": "object",
    "gene": "object",
    "n": "int64",
    "r": "float64",
    "spearman": "float64",
    "p_value": "float64",
    "q_value": "float64",
    "constant_observed": "bool",
    "constant_predicted": "bool",
}
PER_GENE_COLUMNS = list(PER_GENE_SCHEMA)

#: Summary table: one row per (individuals, gene set); ``_low``/``_high`` bound the 95%
#: bootstrap CI over genes. Across-gene rows fill only the counts and ``across_gene_r``.
SUMMARY_SCHEMA = {
    "individuals": "object",
    "gene_set": "object",
    "kind": "object",
    "n_genes": "int64",
    "n_individuals": "int64",
    "n_constant_observed": "float64",
    "n_constant_predictions": "float64",
    "mean_r": "float64",
    "mean_r_low": "float64",
    "mean_r_high": "float64",
    "median_r": "float64",
    "median_r_low": "float64",
    "median_r_high": "float64",
    "mean_spearman": "float64",
    "mean_spearman_low": "float64",
    "mean_spearman_high": "float64",
    "median_spearman": "float64",
    "sign_agreement": "float64",
    "n_significant": "float64",
    "share_significant": "float64",
    "shuffled_mean_r": "float64",
    "shuffled_p95_mean_r": "float64",
    "across_gene_r": "float64",
}

#: What produced a run's predictions: a sequence model, or a per-gene genotype model
#: (the elastic net), which is fitted on every gene and so has no genes it has not seen.
KINDS = ("sequence_model", "genotype_baseline")


class TableSchemaError(ValueError):
    """A metrics table whose columns or types are not what the schema says."""


def check_table(frame: pd.DataFrame, schema: dict[str, str], what: str) -> pd.DataFrame:
    """Return ``frame`` with the schema's columns in order, or raise naming what is wrong."""
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise TableSchemaError(f"{what}: missing columns {missing}")
    frame = frame[list(schema)]
    for column, dtype in schema.items():
        kind = frame[column].dtype
        ok = {
            "object": pd.api.types.is_object_dtype(kind) or pd.api.types.is_string_dtype(kind),
            "int64": pd.api.types.is_integer_dtype(kind),
            "float64": pd.api.types.is_numeric_dtype(kind) and not pd.api.types.is_bool_dtype(kind),
            "bool": pd.api.types.is_bool_dtype(kind),
        }[dtype]
        if not ok:
            raise TableSchemaError(f"{what}: column {column} is {kind}, expected {dtype}")
    return frame


def read_table(path: str | Path, schema: dict[str, str]) -> pd.DataFrame:
    """Read a metrics TSV and check it against its schema (errors name the file)."""
    return check_table(pd.read_csv(path, sep="\t"), schema, str(path))


@dataclass(frozen=True)
class EvaluationSettings:
    """Config ``evaluation`` plus the seed: permutations, bootstrap resamples and the FDR."""

    permutations: int = 200
    bootstrap: int = 2000
    gene_permutations: int = 10000
    fdr: float = 0.05
    seed: int = 0
    #: held-out genes evaluated (None = all); read by :meth:`Study.unseen_genes`
    unseen_genes: int | None = None
    #: a new cohort's gene is usable at this q-value (:mod:`haplexpr.cohorts.tables`)
    usable_q_value: float = 0.05

    @classmethod
    def from_config(cls, config: dict) -> EvaluationSettings:
        """Settings from a validated config."""
        return cls(**config["evaluation"], seed=config["training"]["seed"])


class MissingPredictionsError(ValueError):
    """Predictions that lack genes of a gene set the evaluation scores."""


def check_covered(predictions: pd.DataFrame, study: Study) -> None:
    """Raise unless every gene of each evaluated set was predicted, for reference and people.

    Predictions follow the design (:meth:`Study.gene_sets`); a table made before a change
    of ``data.individual_genes`` or ``evaluation.unseen_genes`` lacks some. A table without
    reference rows (no across-gene rows then) is checked for the individuals only.
    """
    is_reference = predictions["sample"] == REFERENCE_INDIVIDUAL
    predicted = {"the individuals": set(predictions.loc[~is_reference, "gene"])}
    if is_reference.any():
        predicted["the reference"] = set(predictions.loc[is_reference, "gene"])
    for set_name, genes in study.gene_sets().items():
        for who, present in predicted.items():
            missing = sorted(set(genes) - present)
            if missing:
                raise MissingPredictionsError(
                    f"the predictions lack {len(missing)} of the {len(genes)} genes of gene set"
                    f" {set_name!r} for {who}, e.g. {missing[:3]}: they were made for another"
                    " design (data.individual_genes or evaluation.unseen_genes changed?);"
                    " rerun the prediction job"
                )


def scored_r(r: np.ndarray, constant_observed: np.ndarray) -> np.ndarray:
    """Per-gene R as the means count it: genes with nothing to predict left out, NaN as 0.

    A gene whose observed expression does not vary has no cross-individual question; a gene
    whose predictions do not vary was asked and predicted no variation, so it scores 0.
    """
    return np.nan_to_num(r[~constant_observed])


def complete_groups(obs: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rows that miss the same columns (NaN), as (row numbers, columns present) pairs.

    Rows with fewer than two values present are left out: nothing can vary in them.
    """
    masks, group_of = np.unique(~np.isnan(obs), axis=0, return_inverse=True)
    groups = [(np.flatnonzero(group_of.ravel() == n), mask) for n, mask in enumerate(masks)]
    return [(rows, mask) for rows, mask in groups if mask.sum() >= 2]


def gene_statistics(
    pred: np.ndarray, obs: np.ndarray, settings: EvaluationSettings, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Per-gene columns of a (genes x individuals) pair, and ``null``: permuted R per gene.

    Individuals without an observed value (NaN) in a gene are left out of that gene only:
    genes are handled in groups that miss the same individuals, each group vectorised.
    """
    n_genes = len(obs)
    out = {
        "n": (~np.isnan(obs)).sum(axis=1),
        **{k: np.full(n_genes, np.nan) for k in ("r", "spearman", "p_value")},
        "constant_observed": np.ones(n_genes, bool),
        "constant_predicted": np.zeros(n_genes, bool),
        "null": np.full((settings.permutations, n_genes), np.nan),
    }
    for rows, mask in complete_groups(obs):
        p, o = pred[np.ix_(rows, mask)], obs[np.ix_(rows, mask)]
        out["constant_observed"][rows] = constant_rows(o)
        out["constant_predicted"][rows] = constant_rows(p)
        out["r"][rows] = pearson_rows(p, o)
        out["spearman"][rows] = spearman_rows(p, o)
        out["p_value"][rows] = permutation_pvalues(p, o, settings.gene_permutations, settings.seed)
        for k in range(settings.permutations):
            out["null"][k, rows] = pearson_rows(p, rng.permuted(o, axis=1))
    out["q_value"] = benjamini_hochberg(out["p_value"])
    return out


def summarise(genes: dict[str, np.ndarray], settings: EvaluationSettings) -> dict:
    """Summary numbers over genes: means and medians with CIs, significance, the control."""
    varies = ~genes["constant_observed"]
    scored, scored_rho = scored_r(genes["r"], ~varies), scored_r(genes["spearman"], ~varies)
    significant = genes["q_value"][varies] < settings.fdr
    null = np.array([np.mean(scored_r(r, ~varies)) for r in genes["null"]])

    def ci(names: list[str], values: np.ndarray, statistic: str) -> dict[str, float]:
        numbers = bootstrap_ci(values, statistic, settings.bootstrap, seed=settings.seed)
        return dict(zip(names, numbers, strict=True))

    return {
        "n_genes": len(varies),
        "n_individuals": int(genes["n"].max()) if len(varies) else 0,
        "n_constant_observed": int((~varies).sum()),
        "n_constant_predictions": int((genes["constant_predicted"] & varies).sum()),
        **ci(["mean_r", "mean_r_low", "mean_r_high"], scored, "mean"),
        **ci(["median_r", "median_r_low", "median_r_high"], scored, "median"),
        **ci(["mean_spearman", "mean_spearman_low", "mean_spearman_high"], scored_rho, "mean"),
        "median_spearman": float(np.median(scored_rho)) if scored_rho.size else np.nan,
        "sign_agreement": float((scored > 0).mean()) if scored.size else np.nan,
        "n_significant": int(significant.sum()),
        "share_significant": float(significant.mean()) if significant.size else np.nan,
        "shuffled_mean_r": float(null.mean()) if null.size else np.nan,
        "shuffled_p95_mean_r": float(np.quantile(null, 0.95)) if null.size else np.nan,
    }


def evaluate(
    predictions: pd.DataFrame,
    study: Study,
    settings: EvaluationSettings,
    kind: str = "sequence_model",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (summary rows, per-gene rows) for one model's predictions.

    ``kind`` labels the rows (:data:`KINDS`): a genotype baseline's "unseen genes" were
    fitted like the others, so readers and comparisons must not set them beside a sequence
    model's.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    check_covered(predictions, study)
    merged = predictions.merge(study.observed(), on=["sample", "gene"], how="inner")
    rng = np.random.default_rng(settings.seed)
    summary, per_gene = [], []
    for individuals_name, individuals in (
        ("held_out_individuals", study.test_individuals),
        ("training_individuals", study.train_individuals),
    ):
        for set_name, genes in study.gene_sets().items():
            if not genes:
                continue
            subset = merged[merged["sample"].isin(individuals) & merged["gene"].isin(genes)]
            obs_frame = subset.pivot(index="gene", columns="sample", values="observed")
            pred_frame = subset.pivot(index="gene", columns="sample", values="prediction")
            pred = pred_frame.loc[obs_frame.index, obs_frame.columns].to_numpy()
            genes_found = gene_statistics(pred, obs_frame.to_numpy(), settings, rng)
            where = {"individuals": individuals_name, "gene_set": set_name}
            summary.append({**where, **summarise(genes_found, settings)})
            columns = {k: v for k, v in genes_found.items() if k != "null"}
            per_gene.append(pd.DataFrame({**where, "gene": obs_frame.index, **columns}))
    summary += across_gene_rows(predictions, merged, study)
    summary = pd.DataFrame(summary).assign(kind=kind).reindex(columns=list(SUMMARY_SCHEMA))
    for column in ("n_genes", "n_individuals"):
        summary[column] = summary[column].astype("int64")
    per_gene = pd.concat(per_gene, ignore_index=True)
    return (
        check_table(summary, SUMMARY_SCHEMA, "summary"),
        check_table(per_gene, PER_GENE_SCHEMA, "per-gene table"),
    )


def across_gene_rows(predictions: pd.DataFrame, merged: pd.DataFrame, study: Study) -> list[dict]:
    """Across-gene R: reference predictions vs reference targets, and per held-out person.

    ``merged`` is ``predictions`` joined with the observed targets.
    """
    rows = []
    held_out = merged[merged["sample"].isin(study.test_individuals)]
    for set_name, genes in study.gene_sets().items():
        ref = predictions[
            (predictions["sample"] == REFERENCE_INDIVIDUAL) & predictions["gene"].isin(genes)
        ].set_index("gene")["prediction"]
        targets = pd.Series(study.reference_targets(list(ref.index)))
        if len(ref) > 2:
            r = np.corrcoef(ref.to_numpy(), targets.loc[ref.index].to_numpy())[0, 1]
            rows.append(
                {"individuals": "reference_genome", "gene_set": set_name, "n_genes": len(ref),
                 "n_individuals": 1, "across_gene_r": float(r)}
            )  # fmt: skip
        subset = held_out[held_out["gene"].isin(genes)]
        pred = subset.pivot(index="sample", columns="gene", values="prediction")
        obs = subset.pivot(index="sample", columns="gene", values="observed").loc[:, pred.columns]
        if pred.shape[1] > 2:
            pred, obs = pred.to_numpy(), obs.to_numpy()
            r = np.full(len(obs), np.nan)
            for people, genes_present in complete_groups(obs):
                cells = np.ix_(people, genes_present)
                r[people] = pearson_rows(pred[cells], obs[cells])
            rows.append(
                {"individuals": "held_out_individuals_across_genes", "gene_set": set_name,
                 "n_genes": pred.shape[1], "n_individuals": pred.shape[0],
                 "across_gene_r": float(np.nanmean(r))}
            )  # fmt: skip
    return rows


def primary_row(summary: pd.DataFrame) -> pd.Series:
    """The row that answers the study's question: held-out individuals, seen genes."""
    rows = summary[
        (summary["individuals"] == "held_out_individuals") & (summary["gene_set"] == "seen_genes")
    ]
    return rows.iloc[0]


HELD_OUT_COLUMNS = [
    "run",
    "gene_set",
    "n_genes",
    "mean_r",
    "shuffled_mean_r",
    "shuffled_p95_mean_r",
    "sign_agreement",
]


def held_out_table(metrics_dir: str | Path) -> pd.DataFrame:
    """Every run's held-out-individual rows (seen and unseen genes) beside its control.

    ``metrics_dir`` holds ``{model}/{strategy}.tsv`` summaries (``results/metrics``).
    """
    metrics_dir = Path(metrics_dir)
    paths = sorted(p for p in metrics_dir.glob("*/*.tsv") if not p.name.endswith(".per_gene.tsv"))
    if not paths:
        raise FileNotFoundError(
            f"no metrics summaries ({{model}}/{{strategy}}.tsv) in {metrics_dir}"
        )
    rows = []
    for path in paths:
        summary = pd.read_csv(path, sep="\t")
        held_out = summary[summary["individuals"] == "held_out_individuals"]
        rows.append(held_out.assign(run=f"{path.parent.name}/{path.stem}"))
    return pd.concat(rows, ignore_index=True)[HELD_OUT_COLUMNS]
