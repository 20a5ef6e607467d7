"""A self-contained HTML report: every model and strategy side by side, plots inline.

The first figure answers the study's question: per-gene R across held-out individuals,
for genes seen in individual-level training and for held-out genes, next to the
shuffled-expression control. Which models ran with tiny random weights (demo) and which
could not run here (GPU-only) is stated on the page, so no number is mistaken for more
than it is. This module assembles the page (tables, notes, sections); the figures are
:mod:`haplexpr.report.figures`.
"""

from __future__ import annotations

import html
import time
from pathlib import Path

import pandas as pd

from haplexpr.atomic import atomic_path
from haplexpr.models import registry
from haplexpr.models.embedding_windows import EmbeddingWindows
from haplexpr.models.settings import GLMSettings, S2FSettings
from haplexpr.report.figures import (
    HELD_OUT,
    anchors_figure,
    comparable,
    comparison_figure,
    heritability_figure,
    kept_epoch,
    per_gene_figure,
    run_order,
    scatter_figure,
    strategy_figure,
    training_figure,
)
from haplexpr.runlog import machine_name


def _interval(row: pd.Series, name: str) -> str:
    if pd.isna(row[name]):
        return ""
    if pd.isna(row.get(f"{name}_low")):
        return f"{row[name]:.3f}"
    return f"{row[name]:.3f} [{row[f'{name}_low']:.3f}, {row[f'{name}_high']:.3f}]"


def summary_table(summary: pd.DataFrame, individuals: str = HELD_OUT) -> pd.DataFrame:
    """Every row of one set of individuals with its 95% CIs, formatted for reading."""
    rows = summary[summary["individuals"] == individuals]
    table = []
    for row in rows.itertuples(index=False):
        row = pd.Series(row._asdict())
        label = row["gene_set"].replace("_", " ")
        if not comparable(summary, row["run"], row["gene_set"]):
            label += " (fitted per gene)"
        table.append(
            {"gene set": label, "run": row["run"],
             "genes": f"{row['n_genes']:.0f}", "individuals": f"{row['n_individuals']:.0f}",
             "mean R [95% CI]": _interval(row, "mean_r"),
             "median R [95% CI]": _interval(row, "median_r"),
             "mean Spearman [95% CI]": _interval(row, "mean_spearman"),
             "sign agreement": f"{row['sign_agreement']:.2f}",
             "significant (BH)": f"{row['n_significant']:.0f} ({row['share_significant']:.0%})",
             "shuffled p95": f"{row['shuffled_p95_mean_r']:.3f}",
             "constant obs. / pred.":
                 f"{row['n_constant_observed']:.0f} / {row['n_constant_predictions']:.0f}"}
        )  # fmt: skip
    frame = pd.DataFrame(table)
    order = {run: n for n, run in enumerate(run_order(frame["run"].unique()))}
    return frame.sort_values(["gene set", "run"], key=lambda c: c.map(order) if c.name == "run"
                             else c).set_index(["gene set", "run"])  # fmt: skip


def training_summary(train_logs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per trained run: epochs run, the epoch kept and its score, the last score and loss."""
    rows = []
    for run, log in train_logs.items():
        kept = kept_epoch(log)
        rows.append(
            {"run": run, "epochs": len(log),
             "kept_epoch": kept["epoch"].iloc[0] if len(kept) else None,
             "kept_valid_score": kept["valid_score"].iloc[0] if len(kept) else None,
             "last_valid_score": log["valid_score"].iloc[-1],
             "last_train_loss": log["train_loss"].iloc[-1]}
        )  # fmt: skip
    return pd.DataFrame(rows).set_index("run")


def training_section(train_logs: dict[str, pd.DataFrame]) -> list[str]:
    """The training curves (:func:`training_figure`) and the per-run table of epochs."""
    return [
        "<h2>Training</h2>",
        training_figure(train_logs),
        training_summary(train_logs).round(3).to_html(border=0),
    ]


#: Runs in the page once it has loaded: every figure's image must have decoded. A browser
#: test reads the result from the body's data attributes.
LOAD_CHECK = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  document.body.dataset.figures = images.length;
  document.body.dataset.figuresLoaded = images.filter(i => i.complete && i.naturalWidth > 0).length;
});
</script>"""


def write_report(
    summaries: dict[str, pd.DataFrame],
    per_genes: dict[str, pd.DataFrame],
    notes: list[str],
    path: str | Path,
    train_logs: dict[str, pd.DataFrame] | None = None,
    *,
    comparisons: pd.DataFrame | None = None,
    predictions: dict[str, pd.DataFrame] | None = None,
    heritability: pd.DataFrame | None = None,
    effects_section: list[str] | None = None,
) -> Path:
    """Write ``report.html`` from each run's (``model/strategy``) summary and per-gene R.

    Optional parts: ``train_logs`` (``model/strategy`` → ``train_log.tsv``) adds the
    training curves; ``comparisons`` (:func:`~haplexpr.metrics.comparisons.compare_runs`)
    the pairwise matrix; ``predictions`` (per run: sample, gene, prediction, observed) the
    predicted-vs-observed panels; ``heritability`` (gene, cv_r2) R against it;
    ``effects_section`` (:func:`~haplexpr.report.effects.effects_section`) the
    variant effects.
    """
    summary = pd.concat([s.assign(run=run) for run, s in summaries.items()], ignore_index=True)
    per_gene = pd.concat([p.assign(run=run) for run, p in per_genes.items()], ignore_index=True)
    if "kind" not in summary.columns:
        summary["kind"] = "sequence_model"
    body = [*_opening(notes), *_cross_individual_section(summary, per_gene)]
    if comparisons is not None and len(comparisons):
        body += _comparison_section(comparisons, run_order(summaries))
    if heritability is not None:
        body += ["<h2>Where genotypes explain expression</h2>",
                 heritability_figure(per_gene, heritability)]  # fmt: skip
    if predictions:
        body += ["<h2>Predicted against observed</h2>", scatter_figure(per_gene, predictions)]
    body += [
        *_context_sections(summary),
        *(training_section(train_logs) if train_logs else []),
        *(effects_section or []),
    ]
    with atomic_path(path) as tmp:
        tmp.write_text(_page(body))
    return Path(path)


def _opening(notes: list[str]) -> list[str]:
    """Title, when and where the page was made, and the notes on what ran."""
    return [
        "<h1>haplexpr: personal gene expression from personal genomes</h1>",
        f"<p>Generated {time.strftime('%Y-%m-%d %H:%M:%S')} on {html.escape(machine_name())}.</p>",
        "<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>",
    ]


def _cross_individual_section(summary: pd.DataFrame, per_gene: pd.DataFrame) -> list[str]:
    """The study's question first: the held-out table, per-gene R and the strategies."""
    return [
        "<h2>Cross-individual prediction (the question that matters)</h2>",
        "<p>Per gene, Pearson R between predicted and observed expression across the held-out"
        " individuals; means and medians over genes with bootstrap 95% CIs (genes resampled);"
        " significant = genes whose R &gt; 0 by a within-gene permutation test at BH"
        " FDR 5%. A genotype baseline is fitted on every gene, so its rows on unseen genes"
        " are marked <i>fitted per gene</i> and compared with nothing.</p>",
        '<div id="summary-table">',
        summary_table(summary).to_html(border=0, classes="summary"),
        "</div>",
        per_gene_figure(per_gene, summary),
        strategy_figure(summary),
    ]


def _comparison_section(comparisons: pd.DataFrame, runs: list[str]) -> list[str]:
    """The pairwise ΔR matrix and, folded, every pair's numbers."""
    return [
        "<h2>Model against model</h2>",
        comparison_figure(comparisons, runs),
        "<details><summary>Every pair (mean ΔR with 95% CI, Wilcoxon p, BH q)</summary>",
        comparisons.round(4).to_html(border=0, index=False),
        "</details>",
    ]


def _context_sections(summary: pd.DataFrame) -> list[str]:
    """Published numbers for scale, the fit on training individuals, across-gene R."""
    across = summary[summary["individuals"].str.contains("reference_genome|across_genes")]
    across_table = across.pivot_table(
        index="run", columns=["individuals", "gene_set"], values="across_gene_r"
    ).round(3)
    return [
        "<h2>Beside published numbers</h2>",
        anchors_figure(summary),
        "<h2>Fit on the training individuals</h2>",
        "<details><summary>The same metrics on the individuals the models trained on</summary>",
        summary_table(summary, "training_individuals").to_html(border=0),
        "</details>",
        "<h2>Across-gene prediction</h2>",
        across_table.to_html(border=0),
    ]


def _page(body: list[str]) -> str:
    """The whole HTML document around ``body``'s parts, with its style and load check."""
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>haplexpr report</title>"
        "<style>body{font-family:sans-serif;max-width:1400px;margin:auto;padding:0 1em}"
        "table{border-collapse:collapse;font-size:90%}"
        "td,th{padding:2px 6px;text-align:right;white-space:nowrap}"
        # headers wrap, so tables fit a laptop; row labels stay at the top of their group
        "th{white-space:normal}thead th{vertical-align:bottom}tbody th{vertical-align:top}"
        "tr:nth-child(even){background:#f4f4f4}figure{margin:1em 0}"
        "figcaption{font-size:95%;color:#333;max-width:1100px}"
        "img{max-width:100%}</style></head><body>" + "\n".join(body) + LOAD_CHECK
        + "</body></html>\n"
    )  # fmt: skip


def model_configuration(model: dict) -> str:
    """One line of what ran: architecture, sizes, input and, for gLMs, layer and pooling."""
    settings = registry.settings(model)
    parts = [model["architecture"], f"input {settings.input_length:,} bp"]
    if settings.pretrained is None and settings.tiny:
        parts.append(", ".join(f"{k} {v}" for k, v in settings.tiny.items()))
    if isinstance(settings, S2FSettings) and settings.head != "track":
        parts.append(finetune_setting(settings))
    if isinstance(settings, GLMSettings):
        windows = EmbeddingWindows.from_settings("", settings)
        tiles = (
            f"tiles of {windows.context:,} bp every {windows.stride:,} bp"
            if windows.context < windows.input_length
            else "one pass per window"
        )
        kept = "whole window" if windows.region == "window" else f"{windows.tss_window:,} bp at TSS"
        parts += [
            f"layer {settings.layer}",
            tiles,
            f"{kept} in bins of {windows.bin_size} bp ({windows.positions:,} positions)",
        ]
    return "; ".join(parts)


def finetune_setting(settings: S2FSettings) -> str:
    """What of an S2F model trained: ``finetune full``, ``heads`` or ``lora`` with its keys."""
    if settings.finetune != "lora":
        return f"finetune {settings.finetune}"
    lora = settings.lora_settings
    targets = lora["target_modules"] or "attention and convolutions"
    return f"finetune lora (rank {lora['rank']}, alpha {lora['alpha']}, targets {targets})"


def report_notes(models: dict, data_description: str) -> list[str]:
    """What the data were, and what each configured model really was (tiny, pretrained, off)."""
    notes = [f"Data: {data_description}."]
    for name, model in models.items():
        if not model["enabled"]:
            why = registry.architecture(model["architecture"]).disabled_reason
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
        settings = registry.settings(model)
        if model["enabled"] and isinstance(settings, S2FSettings) and settings.zero_shot:
            untrained = settings.pretrained is None
            notes.append(
                f"{name}/zs: zero-shot, output track {settings.track_index} of the model as "
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
