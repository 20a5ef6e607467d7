"""What the study will cost before anything runs: jobs, forward passes, GPU-hours, disk.

From the config and the study tables alone (no torch, no models): per stage (VCFs,
sequences, embeddings per gLM, training and predictions per model and strategy, metrics),
how many jobs, how many model forward passes (windows x haplotypes; an upper bound where
alike haplotypes will share one), GPU-hours on the GPU the figures come from and bytes
written. This module sizes the jobs (embedding shards, seconds per window, tower reads);
:mod:`haplexpr.stage_costs` adds them up per stage for ``haplexpr plan`` and
``benchmarks/dag.py``; the rules' resources (:mod:`haplexpr.cluster_resources`) read it.

gLM seconds per window are **estimates** (:data:`GLM_SECONDS_PER_WINDOW`) until
``benchmarks/gpu_glm_embed.py`` measures them on a GPU; S2F figures are measured
(:data:`haplexpr.cluster_resources.MEASURED_S2F`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from haplexpr.config import training_recipe
from haplexpr.models.embedding_windows import EmbeddingWindows
from haplexpr.study.design import REFERENCE_INDIVIDUAL, Study

#: Added to every job's measured runtime: start-up, model loading, writing outputs.
OVERHEAD_MINUTES = 15


@dataclass(frozen=True)
class WindowSeconds:
    """GPU seconds to embed one ``input_length``-base window (all its tiles), one H200."""

    input_length: int
    seconds: float
    measured: bool


#: Seconds per window of each gLM architecture at its full size (geuvadis.yaml's). ESTIMATES:
#: forward FLOPs (2 x parameters x tokens, plus attention's 4 x tokens² x width per
#: attention layer) at 100 TFLOP/s sustained, a tenth of an H200's bfloat16 peak, chosen
#: to over- rather than under-ask: Evo2 7B at 64 kb 1.2e15 FLOP -> 12 s; NT v2 500M at
#: 11 kb (1,834 6-mer tokens) 1.9e12 -> 0.02 s, asked 0.05 s; Caduceus-ph (7.7 M
#: parameters, both strands) runs its selective scan in plain PyTorch (models/mamba.py),
#: far below peak: 64 kb asked 1 s. ``benchmarks/gpu_glm_embed.py`` prints measured rows in
#: this form (``measured=True``) to replace them.
GLM_SECONDS_PER_WINDOW = {
    "evo2": WindowSeconds(64_000, 12.0, measured=False),
    "nucleotide_transformer": WindowSeconds(11_000, 0.05, measured=False),
    "caduceus": WindowSeconds(64_000, 1.0, measured=False),
}

#: Hidden size of each published gLM the configs name (the embedded layer's width).
PRETRAINED_HIDDEN = {
    "evo2_7b": 4096,
    "evo2_7b_base": 4096,
    "evo2_1b_base": 1920,
    "InstaDeepAI/nucleotide-transformer-v2-500m-multi-species": 1024,
    "InstaDeepAI/nucleotide-transformer-v2-250m-multi-species": 768,
    "InstaDeepAI/nucleotide-transformer-v2-100m-multi-species": 512,
    "InstaDeepAI/nucleotide-transformer-v2-50m-multi-species": 512,
    "kuleshov-group/caduceus-ph_seqlen-131k_d_model-256_n_layer-16": 256,
    "kuleshov-group/caduceus-ps_seqlen-131k_d_model-256_n_layer-16": 256,
}
#: The width of the seed's saved embeddings per architecture (imported, precomputed_root).
SEED_MODEL = {
    "evo2": "evo2_7b",
    "nucleotide_transformer": "InstaDeepAI/nucleotide-transformer-v2-500m-multi-species",
    "caduceus": "kuleshov-group/caduceus-ph_seqlen-131k_d_model-256_n_layer-16",
}
#: The key of a gLM's ``tiny`` block that sets its width.
TINY_WIDTH_KEY = {
    "evo2": "hidden_size",
    "nucleotide_transformer": "hidden_size",
    "caduceus": "d_model",
}

#: Bytes per stored embedding value (shards are float16).
EMBEDDING_BYTES = 2
#: A tower's step reads its examples' embeddings from disk; its GPU work is small beside
#: that. ESTIMATE: 200 MB/s of memory-mapped reads, a slow network file system's rate.
TOWER_READ_BYTES_PER_SECOND = 200e6


class PlanError(ValueError):
    """A config the plan cannot size (e.g. a gLM of unknown width)."""


def embedding_width(model: dict, where: str) -> int:
    """The hidden size of a gLM's stored embedding (imported: the seed's model's)."""
    pretrained = model.get("pretrained")
    if model.get("precomputed_root"):
        return PRETRAINED_HIDDEN[SEED_MODEL[model["architecture"]]]
    if pretrained is None:
        return int(model["tiny"][TINY_WIDTH_KEY[model["architecture"]]])
    name = str(pretrained)
    if name in PRETRAINED_HIDDEN:
        return PRETRAINED_HIDDEN[name]
    if model["architecture"] == "evo2" and name.endswith(".pt"):
        stem = name.rsplit("/", 1)[-1][:-3]
        if stem in PRETRAINED_HIDDEN:
            return PRETRAINED_HIDDEN[stem]
    raise PlanError(
        f"{where}.pretrained {pretrained!r}: its hidden size is not known to the plan; add it"
        " to haplexpr.plan.PRETRAINED_HIDDEN"
    )


def tiles(windows: EmbeddingWindows) -> int:
    """Forward passes per window: tiles of ``context`` bases every ``stride``."""
    return 1 + math.ceil(max(0, windows.input_length - windows.context) / windows.stride)


def bytes_per_window(model: dict, where: str) -> int:
    """Stored bytes of one haplotype window: pooled positions x width x float16."""
    windows = EmbeddingWindows.from_config(where, model)
    return windows.positions * embedding_width(model, where) * EMBEDDING_BYTES


def seconds_per_window(model: dict) -> float:
    """GPU seconds per window at the model's input length: the table's row, scaled linearly.

    Linear in length: attention's quadratic share of the estimate is small at these lengths
    (Evo2 has 5 attention blocks of 32), and the table's figures already carry a margin.
    """
    row = GLM_SECONDS_PER_WINDOW[model["architecture"]]
    return row.seconds * model["input_length"] / row.input_length


@dataclass(frozen=True)
class EmbeddingShard:
    """One embedding job: some individuals over their genes, or a slice of them.

    ``genes`` None: each member's genes as the design says (:meth:`Study.genes_of`);
    ``(lo, hi)``: only that slice of them (a reference too long for one job is split so).
    """

    individuals: tuple[str, ...]
    genes: tuple[int, int] | None = None

    def genes_of(self, study: Study, individual: str) -> list[str]:
        """The genes this job embeds for ``individual``."""
        genes = study.genes_of(individual)
        return genes if self.genes is None else genes[slice(*self.genes)]


def shard_windows(study: Study, shard: EmbeddingShard) -> int:
    """Haplotype windows one embedding job embeds (the reference has one haplotype)."""
    return sum(
        len(shard.genes_of(study, i)) * (1 if i == REFERENCE_INDIVIDUAL else 2)
        for i in shard.individuals
    )


def embedding_shards(
    config: dict, study: Study, model: str, individuals: list[str] | None = None
) -> dict[str, EmbeddingShard]:
    """The embedding jobs of one gLM, each split until its limit fits the cluster's maximum.

    ``individuals``: whom to embed (default: the reference and the study's individuals; a
    new cohort's, over the genes the study predicts for individuals).
    ``embeddings.individuals_per_job`` individuals per job (the reference first); a group
    whose estimated limit exceeds ``cluster.max_runtime`` is split into smaller groups of
    individuals, and the reference, on its own, into slices of its genes. One individual
    that alone does not fit cannot be split: :class:`PlanError` names the model and fixes.
    """
    everyone = [REFERENCE_INDIVIDUAL, *study.individuals] if individuals is None else individuals
    size = config["embeddings"]["individuals_per_job"]
    groups = [tuple(everyone[lo : lo + size]) for lo in range(0, len(everyone), size)]
    settings = config["models"][model]
    if settings.get("precomputed_root"):  # imported on CPUs, no GPU limit
        return {f"shard{n:03d}": EmbeddingShard(g) for n, g in enumerate(groups)}
    cluster = config["cluster"]
    budget = (cluster["max_runtime"] - OVERHEAD_MINUTES) * 60 / cluster["runtime_margin"]
    per_window = seconds_per_window(settings)
    fits = max(1, int(budget // per_window))  # windows one job may embed
    shards = []
    for group in groups:
        if shard_windows(study, EmbeddingShard(group)) <= fits:
            shards.append(EmbeddingShard(group))
            continue
        people = [i for i in group if i != REFERENCE_INDIVIDUAL]
        if REFERENCE_INDIVIDUAL in group:
            n = len(study.reference_genes())
            shards += [
                EmbeddingShard((REFERENCE_INDIVIDUAL,), (lo, min(lo + fits, n)))
                for lo in range(0, n, fits)
            ]
        per_person = 2 * len(study.individual_prediction_genes())
        if people and per_person > fits:
            raise PlanError(
                f"models.{model}: one individual's {per_person:,} windows take"
                f" ~{per_person * per_window / 3600:.0f} GPU-h, over cluster.max_runtime"
                f" ({cluster['max_runtime']} min, with runtime_margin {cluster['runtime_margin']})"
                "; evaluate fewer held-out genes (evaluation.unseen_genes), shorten the"
                " model's input_length, or raise cluster.max_runtime"
            )
        step = max(1, fits // per_person)
        shards += [
            EmbeddingShard(tuple(people[lo : lo + step])) for lo in range(0, len(people), step)
        ]
    return {f"shard{n:03d}": shard for n, shard in enumerate(shards)}


def embedding_job_seconds(study: Study, model_config: dict, shard: EmbeddingShard) -> float:
    """Estimated GPU seconds of one embeddings_compute job (an upper bound: no sharing)."""
    return shard_windows(study, shard) * seconds_per_window(model_config)


def design_windows(study: Study) -> int:
    """Haplotype windows the design embeds and predicts.

    The reference's genes once, and each individual's two haplotypes over the genes
    predicted for individuals.
    """
    return len(study.reference_genes()) + 2 * len(study.individuals) * len(
        study.individual_prediction_genes()
    )


def tower_seconds(
    config: dict,
    study: Study,
    model: str,
    rule: str,
    strategy: str,
    cohort_individuals: int | None = None,
) -> float:
    """Estimated seconds of a tower job: reading each example's embeddings, per epoch.

    A prediction reads the design's windows, or a new cohort's ``cohort_individuals``
    two haplotypes over the genes predicted for individuals.
    """
    settings = config["models"][model]
    per_window = bytes_per_window(settings, f"models.{model}")
    if rule == "predictions_tower":
        windows = (
            design_windows(study)
            if cohort_individuals is None
            else 2 * cohort_individuals * len(study.individual_prediction_genes())
        )
        return windows * per_window / TOWER_READ_BYTES_PER_SECOND
    epochs = training_recipe(config, model)["epochs"]
    haplotypes = 1 if strategy == "r" else 2
    windows = study.training_count(strategy) * haplotypes
    return epochs * windows * per_window / TOWER_READ_BYTES_PER_SECOND
