"""A trained run's variant effects: what rules effects_s2f and effects_tower run.

The model is rebuilt and loaded as :func:`haplexpr.predictions.runs.predict_run` does
(``build_model`` + ``load_weights``; a tower also loads its frozen gLM, since edited
windows have no stored embeddings). Before the model is loaded the job counts the forward
passes it will need (the same windows, scored by no model) and stops if they exceed
``effects.max_forward_passes``. The checks (:func:`haplexpr.effects.checks.check_effects`)
run in a CPU job of their own (rule effects_checks): fitting eQTLs and elastic nets needs
no GPU.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from haplexpr.atomic import atomic_path
from haplexpr.effects.plan import EffectSettings
from haplexpr.effects.scorers import CountingScorer, ForwardPassLimitError, S2FScorer, TowerScorer
from haplexpr.effects.scoring import EffectBudget, EffectTables, score_genes
from haplexpr.effects.sequences import GeneWindowSequence
from haplexpr.embeddings.computed import load_embedder
from haplexpr.models import registry
from haplexpr.models.embedding_windows import EmbeddingWindows
from haplexpr.sequences.store import HaplotypeStore
from haplexpr.study.design import Study
from haplexpr.training.checkpoints import load_weights
from haplexpr.training.runs import build_model
from haplexpr.training.settings import TrainingSettings

log = logging.getLogger(__name__)


class _NoModel:
    """Scores every window 0: ``score_genes`` run with it counts the passes a run needs."""

    def __init__(self, input_length: int):
        self.input_length = input_length

    def __call__(self, windows: Sequence[str]) -> np.ndarray:
        return np.zeros(len(windows))


def load_scorer(
    config: dict, model_name: str, strategy: str, model_path: str | Path
) -> tuple[S2FScorer | TowerScorer, int]:
    """The run's trained model as a window scorer, and its family's windows per batch.

    S2F: ``2 x batch_size`` windows (as predictions batch them); towers: the gLM's own
    ``batch_size`` (each window is embedded first).
    """
    model_config = config["models"][model_name]
    settings = TrainingSettings.from_config(config, model_name, strategy)
    architecture = model_config["architecture"]
    if registry.family(model_config) == "s2f":
        model = build_model(model_config, settings.seed)
        load_weights(model, model_path, architecture)
        scorer = S2FScorer(
            model.model, model_config["input_length"], settings.device, settings.mixed_precision
        )
        return scorer, 2 * settings.batch_size
    embedder = load_embedder(model_config, settings.device)
    model = build_model(model_config, settings.seed, embedder.embedding_dim)
    load_weights(model, model_path, architecture)
    windows = EmbeddingWindows.from_config(f"models.{model_name}", model_config)
    scorer = TowerScorer(embedder, windows, model.model, settings.device, settings.mixed_precision)
    return scorer, registry.settings(model_config).batch_size


def score_run(
    study: Study,
    config: dict,
    model_name: str,
    strategy: str,
    model_path: str | Path,
    store: HaplotypeStore,
    vcfs: dict[str, str | Path],
    effects_path: str | Path,
    backgrounds_path: str | Path,
) -> EffectTables:
    """Score a run's variant effects; write them and each background's own prediction.

    ``backgrounds_path`` gets ``gene, background, prediction, forward_passes`` (the gene's
    passes, on each of its rows): what :func:`~haplexpr.effects.checks.check_effects`
    needs beside the effects.
    """
    started = time.monotonic()
    settings = EffectSettings.from_config(config)
    genes = settings.gene_list(study)
    budget = EffectBudget(settings.max_variants_per_gene, settings.max_individuals, settings.seed)
    length = config["models"][model_name]["input_length"]
    needed = CountingScorer(_NoModel(length), 1)
    score_genes(needed, store, genes, vcfs, study.test_individuals, budget)
    limit = settings.max_forward_passes
    if needed.forward_passes > limit:
        raise ForwardPassLimitError(
            f"{model_name}/{strategy}: {needed.forward_passes} forward passes needed for "
            f"{len(genes)} genes exceed effects.max_forward_passes ({limit}); lower "
            "effects.max_variants_per_gene or effects.max_individuals, or raise "
            "effects.max_forward_passes (and the job's GPU time with it)"
        )
    scorer, batch = load_scorer(config, model_name, strategy, model_path)
    counting = CountingScorer(scorer, settings.batch_size or batch, limit)
    tables = score_genes(counting, store, genes, vcfs, study.test_individuals, budget)
    windows = {gene: GeneWindowSequence.from_store(store, gene) for gene in genes}
    effects = with_tss_distance(tables.effects, windows)
    backgrounds = tables.predictions.assign(
        forward_passes=tables.predictions["gene"].map(tables.forward_passes)
    )
    with atomic_path(effects_path) as tmp:
        effects.to_csv(tmp, sep="\t", index=False)
    with atomic_path(backgrounds_path) as tmp:
        backgrounds.to_csv(tmp, sep="\t", index=False)
    log.info(
        "%s/%s summary: %d genes, %d effects, %d forward passes (bound %s), %d haplotypes "
        "left out, %.1f s", model_name, strategy, len(genes), len(effects),
        counting.forward_passes, limit, len(tables.mismatched_haplotypes),
        time.monotonic() - started,
    )  # fmt: skip
    return tables


def with_tss_distance(
    effects: pd.DataFrame, windows: dict[str, GeneWindowSequence]
) -> pd.DataFrame:
    """Effects plus ``key`` (chrom:pos:ref:alt) and ``tss_distance``.

    ``tss_distance``: bases from the TSS along the gene's strand (upstream negative) to the
    variant's first base.
    """
    tss = effects["gene"].map({g: w.start + w.tss_offset for g, w in windows.items()})
    sign = effects["gene"].map({g: 1 if w.strand == "+" else -1 for g, w in windows.items()})
    keys = effects["chrom"] + ":" + effects["pos"].astype(str) + ":" + effects["ref"]
    return effects.assign(
        key=keys + ":" + effects["alt"], tss_distance=(effects["pos"] - 1 - tss) * sign
    )
