"""Metrics of personal expression prediction, the question that matters first.

Per gene, Pearson R between predicted and observed expression across held-out
individuals (the cross-individual question), on genes seen in individual-level training
and on held-out genes; the same on training individuals (fit, not generalisation); the
share of genes whose R is positive (sign agreement: zero-shot models often get the sign
of the cross-individual effect wrong); across-gene R of the reference predictions; and a
shuffled-expression control: the same predictions scored against expression permuted
across individuals within each gene, which is what any model scores by chance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from haplexpr.study.design import REFERENCE_INDIVIDUAL, Study

PER_GENE_COLUMNS = ["individuals", "gene_set", "gene", "n", "r"]


def gene_sets(study: Study) -> dict[str, list[str]]:
    """Genes seen in individual-level training vs held-out genes (``split == test``)."""
    held_out = study.genes.loc[study.genes["split"] == "test", "gene"].tolist()
    return {"seen_genes": list(study.individual_genes), "unseen_genes": held_out}


def row_correlations(predicted: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Pearson R of each row pair; NaN where either row is constant."""
    p = predicted - predicted.mean(axis=1, keepdims=True)
    o = observed - observed.mean(axis=1, keepdims=True)
    denominator = np.sqrt((p**2).sum(axis=1) * (o**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (p * o).sum(axis=1) / denominator
    # A constant row need not centre to exact zeros (the float mean of c, c, ... can differ
    # from c), which would leave R = +-1e-17 instead of NaN: test constancy directly.
    constant = (predicted == predicted[:, :1]).all(axis=1)
    constant |= (observed == observed[:, :1]).all(axis=1)
    r[(denominator == 0) | constant] = np.nan
    return r


def evaluate(
    predictions: pd.DataFrame,
    study: Study,
    permutations: int,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (summary rows, per-gene rows) for one model's predictions.

    A gene whose predictions do not vary across individuals has R = NaN; it counts as 0 in
    the means, because a model that predicts no variation has predicted none of it.
    """
    merged = predictions.merge(study.observed(), on=["sample", "gene"], how="inner")
    rng = np.random.default_rng(seed)
    summary, per_gene = [], []
    for individuals_name, individuals in (
        ("held_out_individuals", study.test_individuals),
        ("training_individuals", study.train_individuals),
    ):
        for set_name, genes in gene_sets(study).items():
            if not genes:
                continue
            subset = merged[merged["sample"].isin(individuals) & merged["gene"].isin(genes)]
            obs_frame = subset.pivot(index="gene", columns="sample", values="observed")
            pred_frame = subset.pivot(index="gene", columns="sample", values="prediction")
            pred = pred_frame.loc[obs_frame.index, obs_frame.columns].to_numpy()
            obs = obs_frame.to_numpy()
            r = row_correlations(pred, obs)
            null = np.array(
                [
                    np.nanmean(np.nan_to_num(row_correlations(pred, rng.permuted(obs, axis=1))))
                    for _ in range(permutations)
                ]
            )
            filled = np.nan_to_num(r)
            summary.append(
                {
                    "individuals": individuals_name,
                    "gene_set": set_name,
                    "n_genes": len(r),
                    "n_individuals": obs.shape[1],
                    "mean_r": float(filled.mean()),
                    "median_r": float(np.median(filled)),
                    "sign_agreement": float((r > 0).mean()),
                    "n_constant_predictions": int(np.isnan(r).sum()),
                    "shuffled_mean_r": float(null.mean()) if permutations else np.nan,
                    "shuffled_p95_mean_r": float(np.quantile(null, 0.95))
                    if permutations
                    else np.nan,
                }
            )
            per_gene += [
                (individuals_name, set_name, g, obs.shape[1], v)
                for g, v in zip(obs_frame.index, r, strict=True)
            ]
    summary += across_gene_rows(predictions, merged, study)
    return pd.DataFrame(summary), pd.DataFrame(per_gene, columns=PER_GENE_COLUMNS)


def across_gene_rows(predictions: pd.DataFrame, merged: pd.DataFrame, study: Study) -> list[dict]:
    """Across-gene R: reference predictions vs reference targets, and per held-out person.

    ``merged`` is ``predictions`` joined with the observed targets.
    """
    rows = []
    held_out = merged[merged["sample"].isin(study.test_individuals)]
    for set_name, genes in gene_sets(study).items():
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
            r = row_correlations(pred.to_numpy(), obs.to_numpy())
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
