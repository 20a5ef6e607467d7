"""A run's result tables as the report reads them, tiny and hand-set, and the figures it draws.

``summary``, ``per_gene`` and ``train_log`` are one run's tables (mean R set by hand);
``FigureRecorder`` notes what each figure shows (titles, labels, ticks, legends) before the
report would embed it, so tests check a figure's axes without drawing it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from haplexpr.metrics.evaluation import PER_GENE_SCHEMA, SUMMARY_SCHEMA, check_table


def summary(mean_r: float, kind: str = "sequence_model") -> pd.DataFrame:
    """One run's summary table: every individuals x gene set row at mean R ``mean_r``."""
    rows = [
        {"individuals": ind, "gene_set": gs, "kind": kind, "n_genes": 3, "n_individuals": 4,
         "n_constant_observed": 0, "n_constant_predictions": 0,
         **{f"{m}{end}": mean_r + d for m in ("mean_r", "median_r", "mean_spearman")
            for end, d in (("", 0), ("_low", -0.1), ("_high", 0.1))},
         "median_spearman": mean_r, "sign_agreement": 0.5, "n_significant": 1,
         "share_significant": 1 / 3, "shuffled_mean_r": 0.0, "shuffled_p95_mean_r": 0.05,
         "across_gene_r": float("nan")}
        for ind in ("held_out_individuals", "training_individuals")
        for gs in ("seen_genes", "unseen_genes")
    ]  # fmt: skip
    rows.append({**rows[0], "individuals": "reference_genome", "gene_set": "all_genes",
                 "across_gene_r": 0.6})  # fmt: skip
    return check_table(pd.DataFrame(rows), SUMMARY_SCHEMA, "test summary")


def per_gene(mean_r: float) -> pd.DataFrame:
    """One run's per-gene R on held-out individuals: three genes around ``mean_r``."""
    rows = pd.DataFrame(
        [
            {"individuals": "held_out_individuals", "gene_set": gs, "gene": g, "n": 4, "r": r,
             "spearman": r, "p_value": 0.01, "q_value": 0.03, "constant_observed": False,
             "constant_predicted": False}
            for gs in ("seen_genes", "unseen_genes")
            for g, r in (("g1", mean_r - 0.1), ("g2", mean_r), ("g3", mean_r + 0.1))
        ]
    )  # fmt: skip
    return check_table(rows, PER_GENE_SCHEMA, "test per-gene table")


def train_log(scores: list[float], kept: int | None) -> pd.DataFrame:
    """A training log of these validation scores; ``kept``: the epoch kept (None: no column)."""
    n = len(scores)
    log = pd.DataFrame(
        {"epoch": range(1, n + 1), "steps": range(2, 2 * n + 1, 2), "valid_score": scores,
         "train_loss": [1.0 / e for e in range(1, n + 1)], "learning_rate": 1e-4, "seconds": 1.0}
    )  # fmt: skip
    if kept is not None:
        log["kept"] = log["epoch"] == kept
    return log


class FigureRecorder:
    """Stands in for ``figure_html`` in the modules given: notes each figure's axes and
    caption, and closes it unsaved (``test_report_figures.py`` tests the PNG itself)."""

    def __init__(self, monkeypatch, *modules):
        self.figures: list[list[dict]] = []
        self.captions: list[str] = []
        for module in modules:
            monkeypatch.setattr(module, "figure_html", self)

    def __call__(self, figure, caption: str) -> str:
        self.figures.append([axes_text(ax) for ax in figure.axes if ax.get_visible()])
        self.captions.append(caption)
        plt.close(figure)
        return "<figure></figure>"


def axes_text(ax) -> dict:
    """What one axes says: title, axis labels, tick labels and legend entries."""
    legend = ax.get_legend()
    return {
        "title": ax.get_title(),
        "xlabel": ax.get_xlabel(),
        "ylabel": ax.get_ylabel(),
        "xticks": [t.get_text() for t in ax.get_xticklabels()],
        "yticks": [t.get_text() for t in ax.get_yticklabels()],
        "legend": [t.get_text() for t in legend.get_texts()] if legend else [],
    }
