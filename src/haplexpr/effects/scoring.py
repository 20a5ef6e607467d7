"""Variant effects in the reference's background and in each person's own haplotypes.

For a gene, with ``f`` the model's per-haplotype prediction of a window:

- reference background: ``f(reference + v) - f(reference)`` for each scored variant ``v``;
- personal background, for each haplotype ``h`` that carries ``v``:
  ``f(h) - f(h without v)``, the ALT's effect given everything else ``h`` carries.

Both are ALT minus REF, so one column means one thing (the issue's "reverted minus own"
is its negative). Every window a gene needs is gathered first and each distinct one is run
once (:class:`~haplexpr.effects.scorers.CountingScorer`); a gene costs at most
``1 + V + sum_h (1 + V_h)`` forward passes for ``V`` scored variants and ``V_h`` of them
on haplotype ``h``. Haplotypes are rebuilt from the VCF; where one differs from the
store's (an overlap the consensus engine resolved otherwise) it is left out and counted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from haplexpr.effects.scorers import CountingScorer
from haplexpr.effects.sequences import GeneWindowSequence
from haplexpr.effects.variants import WindowVariants, read_window_variants
from haplexpr.sequences.store import HaplotypeStore
from haplexpr.study.design import REFERENCE_INDIVIDUAL

log = logging.getLogger(__name__)

EFFECT_COLUMNS = ["chrom", "pos", "ref", "alt", "variant_id", "gene", "background", "effect"]
PREDICTION_COLUMNS = ["gene", "background", "prediction"]


@dataclass(frozen=True)
class EffectBudget:
    """Bounds on the work: variants scored per gene and individuals sampled (seeded)."""

    max_variants_per_gene: int | None = None
    max_individuals: int | None = None
    seed: int = 0


@dataclass
class EffectTables:
    """Effects (``EFFECT_COLUMNS``), each background's own prediction, and the cost."""

    effects: pd.DataFrame
    predictions: pd.DataFrame
    forward_passes: dict[str, int] = field(default_factory=dict)
    mismatched_haplotypes: list[str] = field(default_factory=list)


def background_name(individual: str, haplotype: int) -> str:
    """``individual:haplotype``, or ``reference``."""
    return (
        REFERENCE_INDIVIDUAL if individual == REFERENCE_INDIVIDUAL else f"{individual}:{haplotype}"
    )


def sample_individuals(individuals: list[str], budget: EffectBudget) -> list[str]:
    """At most ``max_individuals`` of ``individuals``, drawn with the budget's seed, in order."""
    if budget.max_individuals is None or budget.max_individuals >= len(individuals):
        return list(individuals)
    rng = np.random.default_rng(budget.seed)
    chosen = rng.choice(len(individuals), budget.max_individuals, replace=False)
    return [individuals[i] for i in sorted(chosen)]


def select_variants(
    window: GeneWindowSequence, variants: WindowVariants, length: int, budget: EffectBudget
) -> list[int]:
    """Variants overlapping the reference's model input, nearest the TSS first, bounded.

    Variants outside the input cannot change the reference's prediction, so they are not
    scored; past ``max_variants_per_gene`` the ones farthest from the TSS are dropped.
    """
    first, last = window.crop(length)
    tss = window.start + window.tss_offset
    inside = [i for i, v in enumerate(variants.variants) if v.end > first and v.start < last]
    inside.sort(key=lambda i: (abs(variants.variants[i].start - tss), variants.variants[i].pos))
    return sorted(inside[: budget.max_variants_per_gene])


def score_gene(
    scorer: CountingScorer,
    window: GeneWindowSequence,
    variants: WindowVariants,
    scored: list[int],
    store: HaplotypeStore | None = None,
) -> EffectTables:
    """Effects of variants ``scored`` on one gene in every background; see the module text.

    ``variants`` holds every variant of the window and the individuals' haplotypes (so each
    haplotype is rebuilt whole); with ``store`` each rebuilt haplotype is checked against it.
    """
    length = scorer.input_length
    all_variants = variants.variants

    def model_input(numbers) -> str:
        return window.model_input([all_variants[i] for i in numbers], length)[0]

    backgrounds = {REFERENCE_INDIVIDUAL: ([], model_input([]))}
    mismatched = []
    for individual in variants.samples:
        for haplotype in (1, 2):
            carried = variants.carried_by(individual, haplotype)
            own = model_input(carried)
            if (
                store is not None
                and own.upper()
                != store.model_input(individual, window.gene, haplotype, length).upper()
            ):
                mismatched.append(f"{window.gene}/{background_name(individual, haplotype)}")
                continue
            backgrounds[background_name(individual, haplotype)] = (carried, own)
    # (background, variant, window with the ALT, window with the REF)
    pairs = [(REFERENCE_INDIVIDUAL, v, model_input([v]), backgrounds[REFERENCE_INDIVIDUAL][1])
             for v in scored]  # fmt: skip
    scored_set = set(scored)
    for name, (carried, own) in backgrounds.items():
        pairs += [(name, v, own, model_input([c for c in carried if c != v]))
                  for v in carried if v in scored_set]  # fmt: skip
    before = scorer.forward_passes
    owns = [own for _, own in backgrounds.values()]
    values = scorer(owns + [p[2] for p in pairs] + [p[3] for p in pairs])
    n = len(pairs)
    alt_values, ref_values = values[len(owns) : len(owns) + n], values[len(owns) + n :]
    rows = [
        (*_variant_fields(all_variants[v]), window.gene, name, float(a - r))
        for (name, v, _, _), a, r in zip(pairs, alt_values, ref_values, strict=True)
    ]
    predictions = [
        (window.gene, name, float(p))
        for name, p in zip(backgrounds, values[: len(owns)], strict=True)
    ]
    return EffectTables(
        pd.DataFrame(rows, columns=EFFECT_COLUMNS),
        pd.DataFrame(predictions, columns=PREDICTION_COLUMNS),
        {window.gene: scorer.forward_passes - before},
        mismatched,
    )


def _variant_fields(variant) -> tuple:
    return variant.chrom, variant.pos, variant.ref, variant.alt, variant.id


def score_genes(
    scorer: CountingScorer,
    store: HaplotypeStore,
    genes: list[str],
    vcfs: dict[str, str | Path],
    individuals: list[str],
    budget: EffectBudget,
) -> EffectTables:
    """Effects for ``genes`` in the reference and in the sampled individuals' haplotypes.

    ``vcfs`` maps each chromosome to its normalised VCF (the one the store was built from).
    """
    if not genes:
        raise ValueError("no genes to score effects for")
    chosen = sample_individuals(individuals, budget)
    parts = []
    for gene in genes:
        window = GeneWindowSequence.from_store(store, gene)
        if window.chrom not in vcfs:
            raise KeyError(f"no VCF given for chromosome {window.chrom!r} of gene {gene}")
        variants = read_window_variants(
            vcfs[window.chrom], window.chrom, window.start, window.end, chosen
        )
        scored = select_variants(window, variants, scorer.input_length, budget)
        parts.append(score_gene(scorer, window, variants, scored, store))
    tables = EffectTables(
        pd.concat([p.effects for p in parts], ignore_index=True),
        pd.concat([p.predictions for p in parts], ignore_index=True),
        {gene: n for p in parts for gene, n in p.forward_passes.items()},
        [m for p in parts for m in p.mismatched_haplotypes],
    )
    log.info(
        "variant effects: %d genes, %d individuals, %d effects, %d forward passes; "
        "%d haplotypes left out (rebuilt from the VCF they differ from the store)",
        len(genes), len(chosen), len(tables.effects), sum(tables.forward_passes.values()),
        len(tables.mismatched_haplotypes),
    )  # fmt: skip
    return tables
