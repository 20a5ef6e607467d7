"""Tests for haplexpr.effects.checks: eQTL slopes, sign and rank agreement, ranking statistics, the
explained deviation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support.motif_effects import (
    LENGTH,
    SAMPLES,
    MotifCounter,
    planted_motif_store,
)

from haplexpr.effects.checks import (
    agreement,
    auroc,
    causal_recovery,
    deviation_explained,
    explained_share,
    marginal_eqtl,
    precision_at_k,
)
from haplexpr.effects.scorers import CountingScorer, S2FScorer
from haplexpr.effects.scoring import EffectBudget, score_genes
from haplexpr.effects.variants import Variant, WindowVariants


@pytest.fixture(scope="module")
def motif_store(tmp_path_factory):
    return planted_motif_store(tmp_path_factory.mktemp("motif"))


def test_marginal_eqtl_is_the_ols_slope():
    variants = [Variant("1", p, "A", "C") for p in (10, 20, 30)]
    rng = np.random.default_rng(0)
    carried = rng.random((2 * 30, 3)) < 0.4
    carried[:, 2] = False  # no variation: no estimate
    table = WindowVariants(variants, [f"s{i}" for i in range(30)], carried)
    dosage = table.dosages(table.samples)
    y = 0.7 * dosage[:, 0] - 0.2 * dosage[:, 1] + rng.normal(0, 0.01, 30)
    slope = marginal_eqtl(table, table.samples, y)
    assert slope.iloc[0] == pytest.approx(0.7, abs=0.05)
    assert np.isnan(slope.iloc[2])
    expected = np.polyfit(dosage[:, 1], y, 1)[0]
    assert slope.iloc[1] == pytest.approx(expected, rel=1e-9)


def test_agreement_counts_signs_and_ranks():
    keys = list("abcde")
    model = pd.Series([1.0, -2.0, 3.0, 0.0, 5.0], index=keys)
    other = pd.Series([2.0, 1.0, 4.0, -1.0, np.nan], index=keys)
    result = agreement(model, other)
    assert result["n_signed"] == 3 and result["sign_agreement"] == pytest.approx(2 / 3)
    assert result["spearman"] == pytest.approx(0.8)


def test_ranking_statistics():
    causal = np.array([True, False, False, True, False])
    assert auroc(np.array([5.0, 1, 2, 4, 3]), causal) == 1.0
    assert auroc(np.array([1.0, 1, 1, 1, 1]), causal) == 0.5
    assert precision_at_k(np.array([5.0, 1, 2, 4, 3]), causal, 2) == 1.0
    # ties at the cut: 1 of the 2 places goes to a 3-way tie holding one causal variant
    assert precision_at_k(np.array([5.0, 1, 1, 1, 0]), causal, 2) == pytest.approx(0.5 + 1 / 6)
    effects = pd.Series([5.0, -1, 2, -4, 3], index=list("abcde"))
    result = causal_recovery(effects, {"a", "d"}, permutations=200, seed=0)
    assert result["auroc"] == 1.0 and result["precision_at_k_random"] == pytest.approx(0.4)
    assert abs(result["auroc_permuted"] - 0.5) < 0.1 and result["auroc_p"] < 0.2


def test_deviation_is_explained_when_effects_add_up(motif_store):
    store, vcfs = motif_store
    scorer = CountingScorer(S2FScorer(MotifCounter(), LENGTH, device="cpu"), 8)
    tables = score_genes(scorer, store, ["gB"], vcfs, SAMPLES, EffectBudget())
    table = deviation_explained(tables.effects, tables.predictions)
    # gB has one variant in the input: attributions are exact
    assert np.allclose(table["deviation"], table["attributed"])
    assert explained_share(table)["explained"].iloc[0] == pytest.approx(1.0)
