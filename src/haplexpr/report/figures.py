"""The report's figures: each draws result tables and returns an embedded-PNG ``<figure>``.

Page assembly (tables, notes, the page itself) is :mod:`haplexpr.report.page`; the
variant-effects section's figures are in :mod:`haplexpr.report.effects`.
"""

from __future__ import annotations

import base64
import html
import io
import itertools

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from haplexpr.metrics.comparisons import difference_matrix  # noqa: E402
from haplexpr.study.design import STRATEGIES  # noqa: E402

#: Published per-gene R across held-out individuals (shared/science.md): other studies'
#: numbers on other data, shown beside ours for scale only.
PUBLISHED_ANCHORS = [
    ("Sasse et al. 2023", "ROSMAP brain, 839 individuals", "Enformer zero-shot", "median", 0.006),
    (
        "Sasse et al. 2023",
        "ROSMAP brain, 839 individuals",
        "PrediXcan (elastic net)",
        "median",
        0.24,
    ),
    ("Rastogi et al. 2024", "Geuvadis LCL", "Enformer zero-shot", "mean", 0.055),
    ("Rastogi et al. 2024", "Geuvadis LCL", "elastic net", "mean", 0.28),
    ("Rastogi et al. 2024", "Geuvadis LCL", "fine-tuned Enformer, seen genes", "mean", 0.28),
    ("Rastogi et al. 2024", "Geuvadis LCL", "fine-tuned Enformer, unseen genes", "mean", 0.05),
]

GENE_SETS = ("seen_genes", "unseen_genes")
HELD_OUT = "held_out_individuals"


def figure_html(figure: plt.Figure, caption: str) -> str:
    """``figure`` as an inline PNG with its caption (closes the figure)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode()
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def held_out_rows(frame: pd.DataFrame, gene_set: str) -> pd.DataFrame:
    """The rows of ``frame`` on held-out individuals for one gene set."""
    return frame[(frame["individuals"] == HELD_OUT) & (frame["gene_set"] == gene_set)]


def comparable(summary: pd.DataFrame, run: str, gene_set: str) -> bool:
    """False for a genotype baseline's "unseen" genes, which it was fitted on."""
    kind = summary.loc[summary["run"] == run, "kind"]
    return not (gene_set == "unseen_genes" and (kind == "genotype_baseline").any())


def run_order(runs) -> list[str]:
    """Runs grouped by model, strategies in study order (r, p, rp, then zs)."""
    rank = {s: n for n, s in enumerate([*STRATEGIES, "zs"])}
    return sorted(runs, key=lambda run: (run.split("/")[0], rank.get(run.split("/")[1], 9)))


def per_gene_figure(per_gene: pd.DataFrame, summary: pd.DataFrame) -> str:
    """Box plots of per-gene R (held-out individuals), seen vs unseen genes, with controls."""
    runs = run_order(per_gene["run"].unique())
    figure, axes = plt.subplots(2, 1, figsize=(max(10, 0.75 * len(runs)), 9), sharey=True)
    for ax, gene_set in zip(axes, GENE_SETS, strict=True):
        shown = [run for run in runs if comparable(summary, run, gene_set)]
        rows = held_out_rows(per_gene, gene_set)
        data = [rows[rows["run"] == run]["r"].fillna(0).to_numpy() for run in shown]
        ax.boxplot(data, tick_labels=shown, showmeans=True)
        controls = held_out_rows(summary, gene_set).set_index("run")
        for position, run in enumerate(shown, start=1):
            if run in controls.index:
                ax.hlines(
                    controls.loc[run, "shuffled_p95_mean_r"], position - 0.4, position + 0.4,
                    colors="tab:red", linestyles="dashed",
                )  # fmt: skip
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_title(f"held-out individuals, {gene_set.replace('_', ' ')}")
        ax.set_ylabel("per-gene Pearson R")
        ax.tick_params(axis="x", rotation=45)
    figure.tight_layout()
    return figure_html(
        figure,
        "Per-gene R across held-out individuals (box: genes; triangle: mean; red dashes: 95th"
        " percentile of the mean R under shuffled expression). Look for boxes above the red"
        " line: those runs predict who expresses more better than chance.",
    )


def strategy_figure(summary: pd.DataFrame) -> str:
    """Mean R with its CI per model and strategy, seen and unseen genes side by side."""
    models = sorted({run.split("/")[0] for run in summary["run"]})
    strategies = [s for s in [*STRATEGIES, "zs"] if any(summary["run"].str.endswith(f"/{s}"))]
    figure, axes = plt.subplots(1, 2, figsize=(14, 5), sharey=True)
    width = 0.8 / len(strategies)
    for ax, gene_set in zip(axes, GENE_SETS, strict=True):
        rows = held_out_rows(summary, gene_set).set_index("run")
        for k, strategy in enumerate(strategies):
            xs, means, errors = [], [], [[], []]
            for m, model in enumerate(models):
                run = f"{model}/{strategy}"
                if run not in rows.index or not comparable(summary, run, gene_set):
                    continue
                row = rows.loc[run]
                xs.append(m + (k - (len(strategies) - 1) / 2) * width)
                means.append(row["mean_r"])
                errors[0].append(row["mean_r"] - row["mean_r_low"])
                errors[1].append(row["mean_r_high"] - row["mean_r"])
            ax.bar(xs, means, width, yerr=errors, capsize=3, label=strategy)
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_xticks(range(len(models)), models, rotation=30)
        ax.set_title(f"held-out individuals, {gene_set.replace('_', ' ')}")
        ax.set_ylabel("mean per-gene R (95% CI over genes)")
        ax.legend(title="strategy")
    figure.tight_layout()
    return figure_html(
        figure,
        "Mean per-gene R by model and strategy (r: reference only, p: individuals, rp: both;"
        " zs: zero-shot), seen vs unseen genes. Look at whether rp's bar clears p's beyond"
        " the error bars, and how far unseen genes fall below seen ones.",
    )


def comparison_figure(comparisons: pd.DataFrame, runs: list[str]) -> str:
    """Heat maps of mean ΔR (row minus column), a star where the Wilcoxon q < 0.05."""
    side = max(8.0, 0.7 * len(runs))
    figure, axes = plt.subplots(2, 1, figsize=(side + 2, 2 * side + 1))
    for ax, gene_set in zip(axes, GENE_SETS, strict=True):
        matrix = difference_matrix(comparisons, gene_set, runs)
        q = difference_matrix(
            comparisons.assign(mean_difference=comparisons["q_value"]), gene_set, runs
        ).abs()
        limit = max(0.05, float(np.nanmax(np.abs(matrix.to_numpy()), initial=0)))
        image = ax.imshow(matrix.to_numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit)
        for i, j in itertools.product(range(len(runs)), repeat=2):
            value = matrix.iat[i, j]
            if not np.isnan(value):
                star = "*" if q.iat[i, j] < 0.05 else ""
                ax.text(j, i, f"{value:+.2f}{star}", ha="center", va="center", fontsize=7)
        ax.set_xticks(range(len(runs)), runs, rotation=90)
        ax.set_yticks(range(len(runs)), runs)
        ax.set_title(f"mean ΔR (row − column), {gene_set.replace('_', ' ')}")
        figure.colorbar(image, ax=ax, shrink=0.7)
    figure.tight_layout()
    return figure_html(
        figure,
        "Pairwise comparison on the same genes and held-out individuals: mean per-gene"
        " difference in R, row minus column; * = Wilcoxon signed-rank q < 0.05 (BH over the"
        " pairs). Look for red rows with stars: runs that beat others on most genes.",
    )


def heritability_figure(per_gene: pd.DataFrame, heritability: pd.DataFrame) -> str:
    """Per-gene R of every model's best strategy against the genes' cis heritability proxy."""
    proxy = heritability.set_index("gene")["cv_r2"].clip(lower=0)
    held_out = per_gene[per_gene["individuals"] == HELD_OUT]
    models = sorted({run.split("/")[0] for run in held_out["run"]})
    columns = min(3, len(models))
    rows = -(-len(models) // columns)
    figure, axes = plt.subplots(
        rows, columns, figsize=(5 * columns, 4 * rows), squeeze=False, sharex=True, sharey=True
    )
    for ax, model in zip(axes.flat, models, strict=False):
        for run in run_order(r for r in held_out["run"].unique() if r.startswith(f"{model}/")):
            rows_of = held_out[held_out["run"] == run]
            genes = rows_of["gene"].isin(proxy.index)
            ax.scatter(proxy[rows_of["gene"][genes]], rows_of["r"][genes].fillna(0), s=12,
                       alpha=0.7, label=run.split("/")[1])  # fmt: skip
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_title(model)
        ax.set_xlabel("elastic-net CV R² (training individuals)")
        ax.set_ylabel("per-gene R, held-out individuals")
        ax.legend(fontsize="small")
    for ax in list(axes.flat)[len(models) :]:
        ax.set_visible(False)
    figure.tight_layout()
    return figure_html(
        figure,
        "Each gene's R against its cis heritability proxy (the elastic net's cross-validated"
        " R² on training individuals; 0 = the genotypes near the TSS explain nothing). Look"
        " for R rising to the right: models should do well where genotypes explain expression.",
    )


def scatter_figure(per_gene: pd.DataFrame, predictions: dict[str, pd.DataFrame]) -> str:
    """Predicted vs observed over held-out individuals: best, median, worst gene per model.

    Each model shows the strategy with the highest mean R on seen genes.
    """
    held_out = held_out_rows(per_gene, "seen_genes")
    means = held_out.groupby("run")["r"].apply(lambda r: r.fillna(0).mean())
    best_runs = {}
    for run, mean in means.items():
        model = run.split("/")[0]
        if run in predictions and (model not in best_runs or mean > means[best_runs[model]]):
            best_runs[model] = run
    figure, axes = plt.subplots(
        len(best_runs), 3, figsize=(13, 3.4 * len(best_runs)), squeeze=False
    )
    for row_axes, (_model, run) in zip(axes, sorted(best_runs.items()), strict=True):
        genes = held_out[held_out["run"] == run].dropna(subset=["r"]).sort_values("r")
        frame = predictions[run]
        for ax, (label, position) in zip(
            row_axes, (("best", -1), ("median", len(genes) // 2), ("worst", 0)), strict=True
        ):
            if genes.empty:
                ax.set_visible(False)
                continue
            gene = genes.iloc[position]
            points = frame[frame["gene"] == gene["gene"]]
            ax.scatter(points["observed"], points["prediction"], s=18)
            ax.set_title(f"{run}: {label} gene {gene['gene']} (R {gene['r']:.2f})", fontsize=9)
            ax.set_xlabel("observed")
            ax.set_ylabel("predicted")
    figure.tight_layout()
    return figure_html(
        figure,
        "Predicted against observed expression across held-out individuals for each model's"
        " best, median and worst seen gene (the model's best strategy). Look at the median"
        " gene: it is what a typical gene looks like.",
    )


def anchors_figure(summary: pd.DataFrame) -> str:
    """Our held-out means beside the published numbers, clearly apart."""
    ours = held_out_rows(summary, "seen_genes").set_index("run")
    ours = ours.loc[run_order(ours.index)]
    labels = [f"{src}: {model} ({cohort}, {stat})" for src, cohort, model, stat, _ in
              PUBLISHED_ANCHORS]  # fmt: skip
    values = [anchor[-1] for anchor in PUBLISHED_ANCHORS]
    figure, ax = plt.subplots(figsize=(12, 0.32 * (len(labels) + len(ours)) + 1.5))
    y_pub = np.arange(len(labels))[::-1] + len(ours) + 1
    ax.scatter(
        values, y_pub, color="grey", marker="s", label="published (other studies, other data)"
    )
    y_ours = np.arange(len(ours))[::-1]
    ax.errorbar(
        ours["mean_r"], y_ours,
        xerr=[ours["mean_r"] - ours["mean_r_low"], ours["mean_r_high"] - ours["mean_r"]],
        fmt="o", color="tab:blue", capsize=3, label="this run, mean R, seen genes (95% CI)",
    )  # fmt: skip
    ax.set_yticks([*y_pub, *y_ours], [*labels, *ours.index])
    ax.axhline(len(ours), color="black", linewidth=0.6)
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("per-gene Pearson R across held-out individuals")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, fontsize="small")
    figure.tight_layout()
    return figure_html(
        figure,
        "Our numbers (blue) beside published ones (grey): other studies on other cohorts,"
        " shown for scale only, not as a benchmark of this run. Look at where pretrained"
        " runs fall between zero-shot (~0) and the elastic net (~0.25).",
    )


def kept_epoch(log: pd.DataFrame) -> pd.DataFrame:
    """The row of the epoch whose weights were kept (none in logs older than ``kept``)."""
    return log[log["kept"]] if "kept" in log.columns else log.iloc[:0]


def training_figure(train_logs: dict[str, pd.DataFrame]) -> str:
    """Validation score and loss per epoch of every trained run, and the epoch kept.

    A small validation split makes the best epoch a noisy choice (an early, barely trained
    epoch can win by chance); the curves show when that happened.
    """
    strategies = [s for s in STRATEGIES if any(r.endswith(f"/{s}") for r in train_logs)]
    figure, axes = plt.subplots(
        2, len(strategies), figsize=(4.5 * len(strategies), 6), squeeze=False, sharex="col"
    )
    for column, strategy in enumerate(strategies):
        top, bottom = axes[0, column], axes[1, column]
        for run, log in train_logs.items():
            model, run_strategy = run.split("/")
            if run_strategy != strategy:
                continue
            (line,) = top.plot(log["epoch"], log["valid_score"], marker=".", label=model)
            kept = kept_epoch(log)
            top.scatter(
                kept["epoch"], kept["valid_score"], s=90, facecolors="none",
                edgecolors=line.get_color(), linewidths=1.5,
            )  # fmt: skip
            bottom.plot(log["epoch"], log["train_loss"], color=line.get_color(), label=model)
        top.set_title(f"strategy {strategy}")
        top.set_ylabel("validation score")
        top.legend(fontsize="small")
        bottom.set_yscale("log")
        bottom.set_ylabel("training loss")
        bottom.set_xlabel("epoch")
    return figure_html(
        figure,
        "Validation score per epoch (within-gene R over held-out training individuals for "
        "p and rp; across-gene R over held-out genes for r); circles: the epoch whose "
        "weights were kept. Below: training loss.",
    )
