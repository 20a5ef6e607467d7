"""Tests for haplexpr.report.figures: each figure drawn from tiny result tables is an embedded
PNG with its caption, and shows the runs, gene sets and labels it says it does."""

from __future__ import annotations

import base64
import re

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from support.report_tables import FigureRecorder, per_gene, summary, train_log

from haplexpr.report import figures

PNG = b"\x89PNG\r\n\x1a\n"
RUNS = {"b/p": 0.3, "a/zs": 0.05, "a/rp": 0.5, "a/p": 0.4, "elastic_net/p": 0.25}


@pytest.fixture
def drawn(monkeypatch):
    return FigureRecorder(monkeypatch, figures)


def tables():
    """The report's stacked summary and per-gene tables of ``RUNS`` (the net: a baseline)."""
    kind = {"elastic_net/p": "genotype_baseline"}
    summaries = [
        summary(r, kind.get(run, "sequence_model")).assign(run=run) for run, r in RUNS.items()
    ]
    per_genes = [per_gene(r).assign(run=run) for run, r in RUNS.items()]
    return pd.concat(summaries, ignore_index=True), pd.concat(per_genes, ignore_index=True)


def test_a_figure_is_an_inline_png_with_its_caption_escaped():
    figure, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [1, 0])
    html = figures.figure_html(figure, 'R < 0 & "chance"')
    data = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', html)[1])
    assert data.startswith(PNG) and data[12:16] == b"IHDR"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert 100 <= width <= 300 and 50 <= height <= 200  # 2 x 1 inches at 100 dpi, trimmed
    assert 'alt="R &lt; 0 &amp; &quot;chance&quot;"' in html
    assert "<figcaption>R &lt; 0 &amp; &quot;chance&quot;</figcaption>" in html
    assert not plt.get_fignums()  # closed


def test_runs_are_grouped_by_model_in_study_order():
    assert figures.run_order(RUNS) == ["a/p", "a/rp", "a/zs", "b/p", "elastic_net/p"]
    assert figures.run_order(["m/r", "m/x", "m/rp", "m/p"]) == ["m/r", "m/p", "m/rp", "m/x"]


def test_per_gene_figure_leaves_the_baseline_out_of_unseen_genes(drawn):
    summary_table, per_gene_table = tables()
    figures.per_gene_figure(per_gene_table, summary_table)
    (seen, unseen) = drawn.figures[0]
    assert seen["title"] == "held-out individuals, seen genes"
    assert unseen["title"] == "held-out individuals, unseen genes"
    assert seen["xticks"] == ["a/p", "a/rp", "a/zs", "b/p", "elastic_net/p"]
    assert unseen["xticks"] == ["a/p", "a/rp", "a/zs", "b/p"]  # fitted on every gene
    assert seen["ylabel"] == "per-gene Pearson R"


def test_strategy_figure_has_a_bar_group_per_model(drawn):
    summary_table, _ = tables()
    figures.strategy_figure(summary_table)
    (seen, unseen) = drawn.figures[0]
    assert seen["xticks"] == unseen["xticks"] == ["a", "b", "elastic_net"]
    assert seen["legend"] == ["p", "rp", "zs"]  # strategies in study order, zero-shot last
    assert seen["ylabel"] == "mean per-gene R (95% CI over genes)"


def test_comparison_figure_is_a_matrix_of_the_runs(drawn):
    runs = ["a/p", "b/p"]
    comparisons = pd.DataFrame(
        {"gene_set": ["seen_genes", "unseen_genes"], "run_a": "a/p", "run_b": "b/p",
         "mean_difference": [0.2, -0.1], "q_value": [0.01, 0.5]}
    )  # fmt: skip
    figures.comparison_figure(comparisons, runs)
    seen, unseen, *_colour_bars = drawn.figures[0]
    assert seen["title"] == "mean ΔR (row − column), seen genes"
    assert unseen["title"] == "mean ΔR (row − column), unseen genes"
    assert seen["xticks"] == seen["yticks"] == runs


def test_heritability_figure_has_a_panel_per_model(drawn):
    _, per_gene_table = tables()
    heritability = pd.DataFrame({"gene": ["g1", "g2", "g3"], "cv_r2": [-0.1, 0.2, 0.4]})
    figures.heritability_figure(per_gene_table, heritability)
    panels = drawn.figures[0]
    assert [p["title"] for p in panels] == ["a", "b", "elastic_net"]  # 3 of a 3-column grid
    assert panels[0]["legend"] == ["p", "rp", "zs"]
    assert panels[0]["xlabel"] == "elastic-net CV R² (training individuals)"


def test_scatter_figure_shows_each_models_best_strategy(drawn):
    _, per_gene_table = tables()
    predictions = {
        run: pd.DataFrame({"gene": ["g1", "g2", "g3"] * 2, "observed": range(6),
                           "prediction": range(6)})
        for run in ("a/p", "a/rp", "b/p")
    }  # fmt: skip
    figures.scatter_figure(per_gene_table, predictions)
    titles = [panel["title"] for panel in drawn.figures[0]]
    assert titles == [
        "a/rp: best gene g3 (R 0.60)", "a/rp: median gene g2 (R 0.50)",
        "a/rp: worst gene g1 (R 0.40)", "b/p: best gene g3 (R 0.40)",
        "b/p: median gene g2 (R 0.30)", "b/p: worst gene g1 (R 0.20)",
    ]  # fmt: skip


def test_anchors_figure_sets_our_runs_below_the_published_numbers(drawn):
    summary_table, _ = tables()
    figures.anchors_figure(summary_table)
    (panel,) = drawn.figures[0]
    ours = ["a/p", "a/rp", "a/zs", "b/p", "elastic_net/p"]
    assert panel["yticks"][-len(ours) :] == ours
    assert len(panel["yticks"]) == len(figures.PUBLISHED_ANCHORS) + len(ours)
    assert (
        panel["yticks"][0] == "Sasse et al. 2023: Enformer zero-shot (ROSMAP brain, 839 "
        "individuals, median)"
    )


def test_training_figure_has_a_column_per_strategy(drawn):
    logs = {"m/p": train_log([0.3, 0.2], kept=1), "n/p": train_log([0.1, 0.4], kept=2),
            "m/r": train_log([0.5, 0.6], kept=None)}  # fmt: skip
    figures.training_figure(logs)
    r_top, p_top, r_bottom, p_bottom = drawn.figures[0]
    assert (r_top["title"], p_top["title"]) == ("strategy r", "strategy p")
    assert p_top["legend"] == ["m", "n"] and p_top["ylabel"] == "validation score"
    assert r_bottom["ylabel"] == p_bottom["ylabel"] == "training loss"
    assert p_bottom["xlabel"] == "epoch"
    kept = figures.kept_epoch(logs["n/p"])
    assert kept["epoch"].tolist() == [2] and figures.kept_epoch(logs["m/r"]).empty
