"""A self-contained HTML report: every model and strategy side by side, plots inline.

The first figure answers the study's question: per-gene R across held-out individuals,
for genes seen in individual-level training and for held-out genes, next to the
shuffled-expression control. Which models ran with tiny random weights (demo) and which
could not run here (GPU-only) is stated on the page, so no number is mistaken for more
than it is.
"""

from __future__ import annotations

import base64
import html
import io
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from haplexpr.atomic import atomic_path  # noqa: E402
from haplexpr.models.embedding_windows import EmbeddingWindows  # noqa: E402
from haplexpr.models.registry import architecture  # noqa: E402
from haplexpr.study.design import STRATEGIES  # noqa: E402


def _figure_html(figure: plt.Figure, caption: str) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode()
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def per_gene_figure(per_gene: pd.DataFrame, summary: pd.DataFrame) -> str:
    """Box plots of per-gene R (held-out individuals), seen vs unseen genes, with controls."""
    held_out = per_gene[per_gene["individuals"] == "held_out_individuals"]
    runs = sorted(held_out["run"].unique())
    sets = ["seen_genes", "unseen_genes"]
    figure, axes = plt.subplots(1, 2, figsize=(max(6, 1.2 * len(runs)) * 2, 4.5), sharey=True)
    for ax, gene_set in zip(axes, sets, strict=True):
        data = [
            held_out[(held_out["run"] == run) & (held_out["gene_set"] == gene_set)]["r"]
            .fillna(0)
            .to_numpy()
            for run in runs
        ]
        ax.boxplot(data, tick_labels=runs, showmeans=True)
        controls = summary[
            (summary["individuals"] == "held_out_individuals") & (summary["gene_set"] == gene_set)
        ].set_index("run")
        for position, run in enumerate(runs, start=1):
            if run in controls.index:
                ax.hlines(
                    controls.loc[run, "shuffled_p95_mean_r"], position - 0.4, position + 0.4,
                    colors="tab:red", linestyles="dashed",
                )  # fmt: skip
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_title(f"held-out individuals, {gene_set.replace('_', ' ')}")
        ax.set_ylabel("per-gene Pearson R across individuals")
        ax.tick_params(axis="x", rotation=45)
    return _figure_html(
        figure,
        "Per-gene R across held-out individuals (box: genes; triangle: mean; red dashes: 95th "
        "percentile of the mean R under shuffled expression).",
    )


def _kept(log: pd.DataFrame) -> pd.DataFrame:
    """The row of the epoch whose weights were kept (none in logs older than ``kept``)."""
    return log[log["kept"]] if "kept" in log.columns else log.iloc[:0]


def training_summary(train_logs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per trained run: epochs run, the epoch kept and its score, the last score and loss."""
    rows = []
    for run, log in train_logs.items():
        kept = _kept(log)
        rows.append(
            {"run": run, "epochs": len(log),
             "kept_epoch": kept["epoch"].iloc[0] if len(kept) else None,
             "kept_valid_score": kept["valid_score"].iloc[0] if len(kept) else None,
             "last_valid_score": log["valid_score"].iloc[-1],
             "last_train_loss": log["train_loss"].iloc[-1]}
        )  # fmt: skip
    return pd.DataFrame(rows).set_index("run")


def training_section(train_logs: dict[str, pd.DataFrame]) -> list[str]:
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
            kept = _kept(log)
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
    return [
        "<h2>Training</h2>",
        _figure_html(
            figure,
            "Validation score per epoch (within-gene R over held-out training individuals for "
            "p and rp; across-gene R over held-out genes for r); circles: the epoch whose "
            "weights were kept. Below: training loss.",
        ),
        training_summary(train_logs).round(3).to_html(border=0),
    ]


def write_report(
    summaries: dict[str, pd.DataFrame],
    per_genes: dict[str, pd.DataFrame],
    notes: list[str],
    path: str | Path,
    train_logs: dict[str, pd.DataFrame] | None = None,
) -> Path:
    """Write ``report.html`` from each run's (``model/strategy``) summary and per-gene R.

    ``train_logs`` (``model/strategy`` → ``train_log.tsv``) adds the training curves.
    """
    summary = pd.concat([s.assign(run=run) for run, s in summaries.items()], ignore_index=True)
    per_gene = pd.concat([p.assign(run=run) for run, p in per_genes.items()], ignore_index=True)
    within = summary[summary["individuals"].isin(["held_out_individuals", "training_individuals"])]
    table = (
        within.set_index(["individuals", "gene_set", "run"])[
            ["n_genes", "n_individuals", "mean_r", "median_r", "sign_agreement"]
            + ["shuffled_mean_r", "shuffled_p95_mean_r"]
        ]
        .sort_index()
        .round(3)
    )
    across = summary[summary["individuals"].str.contains("reference_genome|across_genes")]
    across_table = across.pivot_table(
        index="run", columns=["individuals", "gene_set"], values="across_gene_r"
    ).round(3)
    body = [
        "<h1>haplexpr: personal gene expression from personal genomes</h1>",
        f"<p>Generated {time.strftime('%Y-%m-%d %H:%M:%S')}.</p>",
        "<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>",
        "<h2>Cross-individual prediction (the question that matters)</h2>",
        per_gene_figure(per_gene, summary),
        "<h3>Per-gene R across individuals: mean, median, sign agreement (share of genes "
        "with R &gt; 0) and the shuffled-expression control</h3>",
        table.to_html(border=0),
        "<h2>Across-gene prediction</h2>",
        across_table.to_html(border=0),
        *(training_section(train_logs) if train_logs else []),
    ]
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>haplexpr report</title>"
        "<style>body{font-family:sans-serif;max-width:1200px;margin:auto}"
        "table{border-collapse:collapse;font-size:90%}td,th{padding:2px 8px;text-align:right}"
        "img{max-width:100%}</style></head><body>" + "\n".join(body) + "</body></html>\n"
    )
    with atomic_path(path) as tmp:
        tmp.write_text(page)
    return Path(path)


def model_configuration(model: dict) -> str:
    """One line of what ran: architecture, sizes, input and, for gLMs, layer and pooling."""
    parts = [model["architecture"], f"input {model['input_length']:,} bp"]
    if model["pretrained"] is None and model.get("tiny"):
        parts.append(", ".join(f"{k} {v}" for k, v in model["tiny"].items()))
    if model["family"] == "glm":
        windows = EmbeddingWindows.from_config("", model)
        tiles = (
            f"tiles of {windows.context:,} bp every {windows.stride:,} bp"
            if windows.context < windows.input_length
            else "one pass per window"
        )
        kept = "whole window" if windows.region == "window" else f"{windows.tss_window:,} bp at TSS"
        parts += [
            f"layer {model['layer']}",
            tiles,
            f"{kept} in bins of {windows.bin_size} bp ({windows.positions:,} positions)",
        ]
    return "; ".join(parts)


def report_notes(models: dict) -> list[str]:
    """What each configured model really was in this run (tiny, pretrained, or not run)."""
    notes = []
    for name, model in models.items():
        if not model["enabled"]:
            why = architecture(model["architecture"]).disabled_reason
            reason = f" ({why})" if why else ""
            notes.append(f"{name}: not run in this configuration{reason}.")
        elif model["pretrained"] is None:
            notes.append(
                f"{name}: tiny random-initialised configuration of the real architecture "
                "(demo/test scale); its numbers say the pipeline works, not how the "
                f"pretrained model performs. Ran: {model_configuration(model)}."
            )
        else:
            notes.append(
                f"{name}: pretrained weights from {model['pretrained']}."
                f" Ran: {model_configuration(model)}."
            )
        if model["enabled"] and model.get("zero_shot"):
            untrained = model["pretrained"] is None
            notes.append(
                f"{name}/zs: zero-shot, output track {model.get('track_index')} of the model as "
                "it is (no fine-tuning), averaged over the central bins"
                + (
                    "; random weights here, so it shows what an untrained network's readout "
                    "picks up, not a pretrained model's zero-shot skill."
                    if untrained
                    else "."
                )
            )
    notes.append(
        "elastic_net: genotype-only baseline (per-gene elastic net on cis dosages), "
        "fitted on the training individuals for every gene, so its 'unseen genes' are "
        "unseen only by the sequence models."
    )
    return notes
