"""A trained run's variant effects and their checks: what rules effects_s2f/effects_tower run.

The model is rebuilt and loaded as :func:`haplexpr.training.runs.predict_run` does
(``build_model`` + ``load_weights``; a tower also loads its frozen gLM, since edited
windows have no stored embeddings). Before the model is loaded the job counts the forward
passes it will need (the same windows, scored by no model) and stops if they exceed
``effects.max_forward_passes``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from haplexpr.atomic import atomic_path
from haplexpr.effects.checks import (
    PERSONAL,
    agreement,
    causal_recovery,
    deviation_explained,
    elastic_net_coefficients,
    explained_share,
    marginal_eqtl,
    read_truth,
)
from haplexpr.effects.plan import EffectSettings
from haplexpr.effects.scorers import CountingScorer, ForwardPassLimitError, S2FScorer, TowerScorer
from haplexpr.effects.scoring import EffectBudget, EffectTables, score_genes
from haplexpr.effects.sequences import GeneWindowSequence
from haplexpr.effects.variants import read_window_variants
from haplexpr.haplotypes.store import HaplotypeStore
from haplexpr.models.embedding_windows import EmbeddingWindows
from haplexpr.study.design import REFERENCE_INDIVIDUAL, Study
from haplexpr.training.checkpoints import load_weights
from haplexpr.training.embeddings import load_embedder
from haplexpr.training.loop import TrainingSettings
from haplexpr.training.runs import build_model, family_key

log = logging.getLogger(__name__)

CHECK_COLUMNS = [
    "gene", "background", "n_variants", "eqtl_n_signed", "eqtl_sign_agreement",
    "eqtl_spearman", "enet_n_signed", "enet_sign_agreement", "enet_spearman", "explained",
    "explained_slope", "forward_passes", "n_causal", "precision_at_k", "precision_at_k_random",
    "precision_at_k_permuted", "precision_at_k_p", "precision_at_k_baseline", "auroc",
    "auroc_random", "auroc_permuted", "auroc_p", "auroc_baseline",
]  # fmt: skip


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
    settings = TrainingSettings.from_config(
        config, family_key(model_config), strategy, model_config
    )
    architecture = model_config["architecture"]
    if model_config["family"] == "s2f":
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
    return scorer, int(model_config.get("batch_size", 8))


def score_run(
    study: Study,
    config: dict,
    model_name: str,
    strategy: str,
    model_path: str | Path,
    store: HaplotypeStore,
    vcfs: dict[str, str | Path],
    effects_path: str | Path,
    checks_path: str | Path,
) -> EffectTables:
    """Score a run's variant effects, check them, write both tables; see docs/effects.md."""
    started = time.monotonic()
    settings = EffectSettings.from_config(config)
    genes = settings.gene_list(study)
    budget = EffectBudget(settings.max_variants_per_gene, settings.max_individuals, settings.seed)
    length = config["models"][model_name]["input_length"]
    needed = CountingScorer(_NoModel(length), 1)
    score_genes(needed, store, genes, vcfs, study.test_individuals, budget)
    limit = settings.max_forward_passes
    if limit is not None and needed.forward_passes > limit:
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
    checks = effect_checks(tables, effects, study, config, settings, windows, vcfs, length)
    with atomic_path(effects_path) as tmp:
        effects.to_csv(tmp, sep="\t", index=False)
    with atomic_path(checks_path) as tmp:
        checks.to_csv(tmp, sep="\t", index=False)
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


def effect_checks(
    tables: EffectTables,
    effects: pd.DataFrame,
    study: Study,
    config: dict,
    settings: EffectSettings,
    windows: dict[str, GeneWindowSequence],
    vcfs: dict[str, str | Path],
    length: int,
) -> pd.DataFrame:
    """Per gene and background kind (reference, personal = mean over haplotypes): the checks.

    Marginal eQTL slopes and elastic-net weights are fitted on the training individuals;
    explained share and forward passes are per gene (equal in both rows).
    """
    truth = read_truth(settings.truth) if settings.truth else {}
    net = config["baselines"]["elastic_net"]
    targets = study.table.pivot(index="gene", columns="sample", values=study.target_column)
    explained = explained_share(deviation_explained(tables.effects, tables.predictions))
    explained = explained.set_index("gene")
    rows = []
    for gene, window in windows.items():
        y = targets.loc[gene].reindex(study.train_individuals)
        samples = y.dropna().index.tolist()
        vcf = vcfs[window.chrom]
        first, last = window.crop(length)
        eqtl = marginal_eqtl(
            read_window_variants(vcf, window.chrom, first, last, samples), samples, y[samples]
        )
        tss = window.start + window.tss_offset
        cis = net["cis_window"]
        enet = elastic_net_coefficients(
            read_window_variants(vcf, window.chrom, tss - cis, tss + cis, samples),
            samples, y[samples].to_numpy(), net["min_minor_allele_count"], net["l1_ratio"],
            net["cv_folds"], config["training"]["seed"],
        )  # fmt: skip
        mine = effects[effects["gene"] == gene]
        distance = -mine.groupby("key")["tss_distance"].first().abs()
        reference = mine["background"] == REFERENCE_INDIVIDUAL
        for name, part in ((REFERENCE_INDIVIDUAL, mine[reference]), (PERSONAL, mine[~reference])):
            model = part.groupby("key")["effect"].mean()
            e, n = agreement(model, eqtl), agreement(model, enet)
            row = {
                "gene": gene, "background": name, "n_variants": len(model),
                "eqtl_n_signed": e["n_signed"], "eqtl_sign_agreement": e["sign_agreement"],
                "eqtl_spearman": e["spearman"], "enet_n_signed": n["n_signed"],
                "enet_sign_agreement": n["sign_agreement"], "enet_spearman": n["spearman"],
                "explained": explained["explained"].get(gene, np.nan),
                "explained_slope": explained["slope"].get(gene, np.nan),
                "forward_passes": tables.forward_passes.get(gene, 0),
            }  # fmt: skip
            if gene in truth and len(model):
                row |= causal_recovery(
                    model, truth[gene], settings.permutations, settings.seed, distance
                )
            rows.append(row)
    return pd.DataFrame(rows).reindex(columns=CHECK_COLUMNS)
