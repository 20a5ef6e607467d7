"""Tests for haplexpr.report.effects: the variant-effects section from tiny effect and check
tables: pooled sign agreement, a row per run and background, the gene tracked, the figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support.report_tables import FigureRecorder

from haplexpr.effects.checks import CHECK_COLUMNS
from haplexpr.report import effects as report_effects
from haplexpr.report.effects import (
    NOTHING_SCORED,
    chosen_gene,
    effects_section,
    pooled_sign_agreement,
    run_summary,
)

RUN = "m/p"


def check_row(gene: str, background: str, **values) -> dict:
    return {**dict.fromkeys(CHECK_COLUMNS, np.nan), "gene": gene, "background": background,
            **values}  # fmt: skip


def checks(auroc: float = 0.9) -> pd.DataFrame:
    """gA (4 variants, 3 of 4 signs as the eQTL's, with truth) and gB (1 variant, against)."""
    gene_a = {"n_variants": 4, "eqtl_n_signed": 4, "eqtl_sign_agreement": 0.75,
              "forward_passes": 100}  # fmt: skip
    gene_b = {"n_variants": 1, "eqtl_n_signed": 1, "eqtl_sign_agreement": 0.0,
              "forward_passes": 50}  # fmt: skip
    truth = {"auroc": auroc, "auroc_baseline": 1.0, "precision_at_k": 0.5}
    return pd.DataFrame(
        [check_row("gA", "reference", **gene_a, **truth), check_row("gB", "reference", **gene_b),
         check_row("gA", "personal", **gene_a), check_row("gB", "personal", **gene_b)]
    )  # fmt: skip


def effects() -> pd.DataFrame:
    """gB has three variants scored in the reference, gA two."""
    rows = [("gA", "reference", "1:10:A:C"), ("gA", "reference", "1:12:A:G")]
    rows += [("gB", "reference", f"1:{p}:C:T") for p in (40, 41, 42)]
    rows += [("gA", "S:1", "1:10:A:C")]
    frame = pd.DataFrame(rows, columns=["gene", "background", "key"])
    return frame.assign(tss_distance=range(-3, 3), effect=[0.5, -0.2, 0.1, 0.0, -0.3, 0.4])


def test_sign_agreement_is_pooled_over_the_genes_variants():
    assert pooled_sign_agreement(checks()) == pytest.approx(2 * 3 / (2 * 5))  # 3 of 5, twice
    unsigned = checks().assign(eqtl_n_signed=np.nan)
    assert np.isnan(pooled_sign_agreement(unsigned))


def test_a_row_per_run_and_background():
    summary = run_summary({RUN: checks(), "n/p": checks(auroc=0.7)})
    assert list(summary.index) == [(RUN, "reference"), (RUN, "personal"), ("n/p", "reference"),
                                   ("n/p", "personal")]  # fmt: skip
    row = summary.loc[(RUN, "reference")]
    assert (row["genes"], row["variants"], row["genes with truth"]) == (2, 5, 1)
    assert row["eQTL sign agreement"] == pytest.approx(0.6)
    assert row["AUROC"] == 0.9 and row["AUROC, TSS distance"] == 1.0
    assert row["forward passes"] == 150  # each gene's passes once, not once per background
    assert np.isnan(summary.loc[(RUN, "personal"), "AUROC"])


def test_the_tracked_gene_is_the_one_asked_for_or_the_most_scored():
    assert chosen_gene({RUN: effects()}, None) == "gB"
    assert chosen_gene({RUN: effects()}, "gA") == "gA"
    with pytest.raises(ValueError, match=r"effects.track_gene 'gZ' has no scored variants"):
        chosen_gene({RUN: effects()}, "gZ")
    personal_only = effects()[lambda f: f["background"] != "reference"]
    assert chosen_gene({RUN: personal_only}, None) is None


@pytest.mark.parametrize("with_truth", [True, False])
def test_the_section_shows_direction_recovery_and_one_genes_track(monkeypatch, with_truth):
    drawn = FigureRecorder(monkeypatch, report_effects)
    table = checks(auroc=0.9 if with_truth else np.nan)
    section = "".join(effects_section({RUN: effects()}, {RUN: table}, causal={"gB": {"1:41:C:T"}}))
    assert "<h2>Variant effects</h2>" in section and "<h3>Effects along gB</h3>" in section
    assert "<td>0.6</td>" in section  # the pooled eQTL sign agreement, in the table
    direction, *recovery, track = drawn.figures
    assert len(recovery) == (1 if with_truth else 0)  # recovery only where truth is known
    assert direction[0]["ylabel"] == "share of variants, sign as eQTL"
    assert direction[0]["xticks"] == [RUN]
    assert set(direction[0]["legend"]) == {"chance (50%)", "reference", "personal"}
    if with_truth:
        assert set(recovery[0][0]["legend"]) == {"random ranking", "AUROC", "AUROC, TSS distance"}
    assert track[0]["ylabel"] == RUN
    assert track[0]["xlabel"] == "gB: bases from the TSS along the gene's strand"
    assert track[0]["legend"] == ["personal (each haplotype)", "reference", "causal (truth)"]


def test_a_report_without_scored_variants_says_so():
    effects = pd.DataFrame(columns=["gene", "background", "key", "tss_distance", "effect"])
    checks = pd.DataFrame(columns=CHECK_COLUMNS)
    section = "".join(effects_section({"enformer/p": effects}, {"enformer/p": checks}))
    assert "<img" not in section and NOTHING_SCORED in section
