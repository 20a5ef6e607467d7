"""Tests for haplexpr.effects.sequences: an edited gene window stays on its TSS through indels."""

from __future__ import annotations

from support.motif_effects import (
    BASE,
    LENGTH,
    SAMPLES,
    MotifCounter,
    build_store,
)

from haplexpr.effects.scorers import CountingScorer, S2FScorer
from haplexpr.effects.scoring import EffectBudget, score_genes
from haplexpr.effects.sequences import GeneWindowSequence
from haplexpr.effects.variants import Variant


def test_indels_keep_the_window_on_the_tss(tmp_path):
    """Indels before, over and after the TSS: rebuilt windows equal the store's."""
    ref = BASE
    indels = [  # (0-based position, REF, ALT, genotypes of S, T)
        (130, ref[130], ref[130] + "AAT", "1|0", "0|1"),  # insertion upstream of gA's TSS
        (135, ref[135:139], ref[135], "0|1", "1|0"),  # deletion upstream
        (148, ref[148:153], ref[148], "1|0", "0|0"),  # deletion over the TSS (150)
        (160, ref[160], ref[160] + "TT", "1|1", "0|0"),  # insertion downstream
        (395, ref[395:399], ref[395], "1|0", "0|1"),  # deletion downstream of gB's TSS (-)
        (405, ref[405], ref[405] + "A", "0|1", "1|1"),  # insertion upstream of gB's TSS (-)
    ]
    store, vcfs = build_store(tmp_path, ref, indels)
    scorer = CountingScorer(S2FScorer(MotifCounter(), LENGTH, device="cpu"), 8)
    tables = score_genes(scorer, store, ["gA", "gB"], vcfs, SAMPLES, EffectBudget())
    assert tables.mismatched_haplotypes == []  # every haplotype rebuilt as the store has it
    assert len(tables.effects) == 6 + sum(
        gt.split("|")[h] == "1" for *_, s, t in indels for gt in (s, t) for h in (0, 1)
    )
    window = GeneWindowSequence.from_store(store, "gA")
    insertion = Variant("1", 131, ref[130], ref[130] + "AAT")
    edited, tss, _ = window.edited([insertion])
    assert tss == window.tss_offset + 3 and edited[tss] == ref[150]
    cropped, _ = window.model_input([insertion], LENGTH)
    assert cropped[LENGTH // 2] == ref[150] and len(cropped) == LENGTH
