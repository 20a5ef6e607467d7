"""Variant effects on small real stores: a hand-built motif counter gives exact answers."""

from __future__ import annotations

import re
from functools import partial

import numpy as np
import pandas as pd
import pytest
import torch
from support.vcf_files import record_line, write_fasta, write_vcf
from torch import nn

from haplexpr.coordinates import Interval
from haplexpr.effects.checks import (
    agreement,
    auroc,
    causal_recovery,
    deviation_explained,
    explained_share,
    marginal_eqtl,
    precision_at_k,
)
from haplexpr.effects.scorers import CountingScorer, ForwardPassLimitError, S2FScorer
from haplexpr.effects.scoring import EffectBudget, sample_individuals, score_genes
from haplexpr.effects.sequences import GeneWindowSequence
from haplexpr.effects.variants import Variant, WindowVariants
from haplexpr.sequence_encoding import reverse_complement
from haplexpr.sequences.personal_sequences import build_haplotype_store, build_reference_store
from haplexpr.sequences.store import HaplotypeStore
from haplexpr.study.genes import GeneWindow

MOTIF = "GATTACA"
LENGTH = 40
BASE = "".join(np.random.default_rng(3).choice(list("CG"), 600))  # no A/T: no stray motif


def planted_reference() -> str:
    """gA (+, TSS 150): motif at 140 and a one-off copy at 152; gB (-, TSS 400): motif at 395."""
    ref = list(BASE)
    ref[140:147] = MOTIF
    ref[152:159] = "GATTCCA"  # 156 C>A completes it
    ref[395:402] = reverse_complement(MOTIF)  # the minus-strand gene reads it forwards
    return "".join(ref)


REF = planted_reference()
WINDOWS = [
    GeneWindow("gA", "1", 150, "+", Interval("1", 100, 200)),
    GeneWindow("gB", "1", 400, "-", Interval("1", 350, 450)),
]
# (0-based position, ALT, genotypes of S, T): 141 and 143 each break gA's motif, 156
# completes its near-copy, 165 touches nothing, 120 lies outside the 40-base input;
# 397 breaks gB's motif.
SNVS = [
    (120, "A", "1|0", "0|0"), (141, "C", "1|0", "0|1"), (143, "C", "1|1", "0|0"),
    (156, "A", "0|1", "1|1"), (165, "A", "0|0", "1|0"), (397, "C", "1|0", "1|1"),
]  # fmt: skip
SAMPLES = ["S", "T"]


class MotifCounter(nn.Module):
    """Counts exact copies of ``MOTIF`` in a one-hot window: a conv with a 0/1 filter."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 1, len(MOTIF), bias=False)
        weight = torch.zeros(1, 4, len(MOTIF))
        for i, base in enumerate(MOTIF):
            weight[0, "ACGT".index(base), i] = 1.0
        self.conv.weight.data = weight
        self.windows = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.windows += len(x)
        hits = self.conv(x.transpose(1, 2)) >= len(MOTIF) - 0.5
        return hits.float().sum(dim=(1, 2))


def build_store(root, ref, variants, samples=SAMPLES, windows=WINDOWS):
    """Reference, VCF (``(pos, ref, alt, *genotypes)``, 0-based) and store under ``root``."""
    fasta = write_fasta(root / "ref.fa", {"1": ref})
    lines = [record_line("1", p + 1, r, a, gts) for p, r, a, *gts in variants]
    vcf = write_vcf(root / "1.vcf.gz", lines, samples, {"1": len(ref)}, index=True)
    build_reference_store(fasta, windows, root / "reference")
    shard = build_haplotype_store(fasta, {"1": vcf}, samples, windows, root / "s.haplotypes.npz")
    return HaplotypeStore(root / "reference", [shard]), {"1": vcf}


def snv_window(tss: int, strand: str, edits: dict[int, str], ref: str = REF) -> str:
    """The oriented 40-base input with SNVs ``edits`` (0-based position: ALT), written apart."""
    bases = list(ref)
    for position, alt in edits.items():
        bases[position] = alt
    window = "".join(bases[tss - LENGTH // 2 : tss + LENGTH // 2])
    return window if strand == "+" else reverse_complement(window)


def motif_count(ref: str, tss: int, strand: str, edits: dict[int, str]) -> int:
    """Copies of MOTIF in the oriented 40-base input with SNVs ``edits``."""
    return len(re.findall(f"(?={MOTIF})", snv_window(tss, strand, edits, ref)))


@pytest.fixture(scope="module")
def motif_store(tmp_path_factory):
    variants = [(p, REF[p], alt, *gts) for p, alt, *gts in SNVS]
    return build_store(tmp_path_factory.mktemp("motif"), REF, variants)


def carried(sample: str, haplotype: int) -> dict[int, str]:
    column = 1 + SAMPLES.index(sample)
    return {p: row[0] for p, *row in SNVS if row[column].split("|")[haplotype - 1] == "1"}


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
