"""Tests for haplexpr.effects.scoring (with its scorers): every SNV's effect on a motif-counting
model, in both backgrounds, the forward passes it takes and the sampled individuals."""

from __future__ import annotations

from functools import partial

import pytest
from support.motif_effects import (
    LENGTH,
    REF,
    SAMPLES,
    SNVS,
    WINDOWS,
    MotifCounter,
    carried,
    motif_count,
    planted_motif_store,
    snv_window,
)

from haplexpr.effects.scorers import CountingScorer, ForwardPassLimitError, S2FScorer
from haplexpr.effects.scoring import EffectBudget, sample_individuals, score_genes


@pytest.fixture(scope="module")
def motif_store(tmp_path_factory):
    return planted_motif_store(tmp_path_factory.mktemp("motif"))


def test_snv_effects_are_the_motif_counts_in_both_backgrounds(motif_store):
    store, vcfs = motif_store
    model = MotifCounter()
    scorer = CountingScorer(S2FScorer(model, LENGTH, device="cpu"), batch_size=3)
    tables = score_genes(scorer, store, ["gA", "gB"], vcfs, SAMPLES, EffectBudget())
    assert tables.mismatched_haplotypes == []
    found = {(r.gene, r.pos - 1, r.background): r.effect for r in tables.effects.itertuples()}
    expected = {}
    for window in WINDOWS:
        on_gene = [(p, alt) for p, alt, *_ in SNVS if abs(p - window.tss) <= LENGTH // 2]
        count = partial(motif_count, REF, window.tss, window.strand)
        for p, alt in on_gene:
            expected[(window.gene, p, "reference")] = count({p: alt}) - count({})
        for sample in SAMPLES:
            for h in (1, 2):
                own = {p: a for p, a in carried(sample, h).items() if (p, a) in on_gene}
                own_all = carried(sample, h)
                for p in own:
                    reverted = {q: a for q, a in own_all.items() if q != p}
                    expected[(window.gene, p, f"{sample}:{h}")] = count(own_all) - count(reverted)
    assert found == pytest.approx(expected, abs=1e-6)
    # two SNVs that each break the same copy: -1 alone, 0 on S's haplotype 1, which has both
    assert found[("gA", 141, "reference")] == -1 and found[("gA", 141, "S:1")] == 0
    assert 120 not in {p for _, p, _ in found}  # outside the model's input
    own = tables.predictions.set_index(["gene", "background"])["prediction"]
    assert own[("gB", "T:1")] == motif_count(REF, 400, "-", carried("T", 1))


def test_forward_passes_are_the_distinct_windows_and_bounded(motif_store):
    store, vcfs = motif_store
    model = MotifCounter()
    scorer = CountingScorer(S2FScorer(model, LENGTH, device="cpu"), batch_size=4)
    tables = score_genes(scorer, store, ["gA"], vcfs, SAMPLES, EffectBudget())
    assert model.windows == scorer.forward_passes == tables.forward_passes["gA"]
    # every distinct window gA needs, built apart: the reference, each variant alone, each
    # haplotype, and each haplotype with one of its variants reverted
    on_gene = {p: alt for p, alt, *_ in SNVS if abs(p - 150) <= LENGTH // 2}
    needed = {snv_window(150, "+", {}), *(snv_window(150, "+", {p: a}) for p, a in on_gene.items())}
    for sample in SAMPLES:
        for h in (1, 2):
            own = carried(sample, h)
            needed.add(snv_window(150, "+", own))
            needed |= {snv_window(150, "+", {q: a for q, a in own.items() if q != p})
                       for p in own if p in on_gene}  # fmt: skip
    assert scorer.forward_passes == len(needed)
    limited = CountingScorer(S2FScorer(MotifCounter(), LENGTH, device="cpu"), 4, limit=5)
    with pytest.raises(ForwardPassLimitError, match="limit of 5"):
        score_genes(limited, store, ["gA"], vcfs, SAMPLES, EffectBudget())
    assert limited.scorer.model.windows == 0  # refused before running
    bounded = CountingScorer(S2FScorer(MotifCounter(), LENGTH, device="cpu"), 4)
    small = score_genes(bounded, store, ["gA"], vcfs, ["S"], EffectBudget(max_variants_per_gene=2))
    assert set(small.effects["pos"] - 1) == {143, 156}  # the two nearest the TSS
    assert bounded.forward_passes < scorer.forward_passes


def test_individuals_are_sampled_with_the_seed():
    people = [f"I{i}" for i in range(20)]
    first = sample_individuals(people, EffectBudget(max_individuals=5, seed=1))
    assert first == sample_individuals(people, EffectBudget(max_individuals=5, seed=1))
    assert first != sample_individuals(people, EffectBudget(max_individuals=5, seed=2))
    assert len(first) == 5 and set(first) <= set(people)
