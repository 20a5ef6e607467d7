"""What each GPU job asks SLURM for, sized from the step times measured on a GPU.

One source: every GPU rule's ``resources`` come from :func:`gpu_request`, which turns the
measured seconds per step (docs/measurements.md, ``benchmarks/gpu_s2f_step.py`` on one
H200) and the job's own workload (examples, epochs, batch, input length, from the config
and the study tables) into a wall-time limit, and adds the config's ``cluster`` keys
(account, GPU partition, GPU model). CPU rules keep their fixed requests in their rules.
Local runs ignore all of it. This module imports neither torch nor the models: the
Snakefile runs it while building the DAG.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from haplexpr import plan
from haplexpr.config import training_recipe
from haplexpr.effects.plan import EffectSettings
from haplexpr.models import registry
from haplexpr.study.design import Study


@dataclass(frozen=True)
class MeasuredStep:
    """One warm step of a full-size model at one input length and batch, on one GPU."""

    input_length: int
    batch: int
    train_seconds: float
    train_gib: float
    predict_seconds: float
    predict_gib: float


#: benchmarks/gpu_s2f_step.py, NVIDIA H200, random full-size weights, bfloat16 autocast;
#: batch = individuals, each as 2 haplotypes (docs/measurements.md, S2F training on a GPU).
MEASURED_S2F = {
    "enformer": (
        MeasuredStep(64_000, 8, 0.280, 40.7, 0.106, 11.3),
        MeasuredStep(196_608, 8, 1.140, 138.4, 0.389, 32.6),
    ),
    "borzoi": (
        MeasuredStep(64_000, 8, 0.119, 17.7, 0.043, 4.2),
        MeasuredStep(524_288, 4, 0.773, 125.8, 0.279, 18.2),
    ),
}

#: The gLM rules: their limits come from estimated seconds per window (haplexpr.plan).
GLM_RULES = ("embeddings_compute", "training_tower", "predictions_tower")
#: Variant-effect scoring: its limit comes from the planned forward passes.
EFFECT_RULES = ("effects_s2f", "effects_tower")

#: Host memory (MB) per GPU rule: the largest the demo and the GPU runs needed, doubled.
HOST_MEMORY_MB = {
    "training_s2f": 32000,
    "predictions_s2f": 16000,
    "predictions_zero_shot": 8000,
    "embeddings_compute": 16000,
    "training_tower": 16000,
    "predictions_tower": 8000,
    "effects_s2f": 16000,
    "effects_tower": 16000,
}

#: What :func:`gpu_request` returns, the keys snakemake-executor-plugin-slurm reads.
GPU_REQUEST_KEYS = ("slurm_account", "slurm_partition", "gpu", "gpu_model", "mem_mb", "runtime")


def seconds_per_example(architecture: str, input_length: int, kind: str) -> float:
    """GPU seconds per individual (2 haplotypes) at ``input_length``, training or predicting.

    From the shortest measured length at or above ``input_length`` (the longest if none),
    scaled linearly in length: step time grows at least linearly with length (Enformer 64 kb
    to 197 kb: 3.1x the bases, 4.1x the time), so shorter inputs are over-, not under-asked.
    """
    rows = sorted(MEASURED_S2F[architecture], key=lambda row: row.input_length)
    row = next((r for r in rows if r.input_length >= input_length), rows[-1])
    seconds = row.train_seconds if kind == "train" else row.predict_seconds
    return seconds / row.batch * input_length / row.input_length


def s2f_gpu_seconds(
    architecture: str,
    input_length: int,
    kind: str,
    examples: int,
    epochs: int = 1,
    validation_examples: int = 0,
) -> float:
    """GPU seconds of training (each epoch trains, then scores its validation examples).

    ``kind`` predict: a prediction run over ``examples`` (individual, gene) pairs.
    """
    if kind == "train":
        per_epoch = examples * seconds_per_example(architecture, input_length, "train")
        per_epoch += validation_examples * seconds_per_example(
            architecture, input_length, "predict"
        )
        return epochs * per_epoch
    return examples * seconds_per_example(architecture, input_length, "predict")


def job_gpu_seconds(
    config: dict,
    study: Study,
    rule: str,
    model: str,
    strategy: str,
    shard: plan.EmbeddingShard | None = None,
    cohort_individuals: int | None = None,
) -> float:
    """GPU seconds of one job's workload: measured for S2F rules, estimated for gLM rules.

    S2F training: the strategy's examples less the validation share, over the model's
    epochs (its family recipe with its own overrides); S2F prediction: every (individual,
    gene) the design predicts, or ``cohort_individuals`` x the genes predicted for
    individuals (a new cohort's job). gLM rules (:mod:`haplexpr.plan`): an embedding job's
    ``shard`` windows x seconds per window; a tower job's embedding reads per epoch.
    Effects: the planned forward passes (:mod:`haplexpr.effects.plan`), one window each
    (a tower's: one gLM embedding of the window).
    """
    settings = config["models"][model]
    if rule in EFFECT_RULES:
        passes = EffectSettings.from_config(config).planned_forward_passes(study)
        if rule == "effects_tower":
            return passes * plan.seconds_per_window(settings)
        return (
            passes
            * seconds_per_example(settings["architecture"], settings["input_length"], "predict")
            / 2
        )  # a forward pass is one window: half an example's two
    if rule == "embeddings_compute":
        return plan.embedding_job_seconds(study, settings, shard)
    if rule in GLM_RULES:
        return plan.tower_seconds(config, study, model, rule, strategy, cohort_individuals)
    length, architecture = settings["input_length"], settings["architecture"]
    if rule != "training_s2f":
        predicted = (
            study.prediction_count()
            if cohort_individuals is None
            else cohort_individuals * len(study.individual_prediction_genes())
        )
        return s2f_gpu_seconds(architecture, length, "predict", predicted)
    epochs = training_recipe(config, model)["epochs"]
    examples = study.training_count(strategy)
    validation = round(examples * config["training"]["validation_fraction"])
    return s2f_gpu_seconds(architecture, length, "train", examples - validation, epochs, validation)


def runtime_minutes(gpu_seconds: float, margin: float) -> int:
    """The wall-time limit asked for ``gpu_seconds`` of measured work (whole minutes)."""
    return math.ceil(gpu_seconds * margin / 60) + plan.OVERHEAD_MINUTES


@dataclass(frozen=True)
class ClusterSettings:
    """The config's ``cluster`` block: where and how GPU jobs are submitted."""

    account: str
    partition: str
    gpu_partition: str
    gpu_model: dict[str, str]
    runtime_margin: float
    max_runtime: int

    @classmethod
    def from_config(cls, config: dict) -> ClusterSettings:
        """From the validated config's ``cluster`` block."""
        return cls(**config["cluster"])

    def partition_for(self, gpu: bool) -> str:
        """GPU jobs go to the GPU partition (the general one when that is empty)."""
        return (self.gpu_partition or self.partition) if gpu else self.partition


def gpu_request(
    settings: ClusterSettings, rule: str, model: str, gpu_seconds: float, gpus: int = 1
):
    """The SLURM resources of one GPU job doing ``gpu_seconds`` of (measured or estimated) work.

    Keys are those snakemake-executor-plugin-slurm reads: ``gpu`` and ``gpu_model``
    (``--gpus=<model>:<gpus>``), ``mem_mb`` (host memory), ``runtime`` (minutes),
    ``slurm_partition``, ``slurm_account``; the rule adds ``cpus_per_gpu`` (its ``threads``).
    Empty strings leave a key to the cluster's default. A training job on ``gpus`` GPUs
    (one rank each) divides its measured GPU seconds among them, an estimate that leaves
    the gradient all-reduce to the margin, and asks host memory for every rank.
    """
    runtime = runtime_minutes(gpu_seconds / gpus, settings.runtime_margin)
    return cpu_request(settings, gpu=True) | {
        "gpu": gpus,
        "gpu_model": settings.gpu_model.get(model, ""),
        "mem_mb": HOST_MEMORY_MB[rule] * gpus,
        "runtime": runtime,
    }


def cpu_request(settings: ClusterSettings, gpu: bool = False) -> dict[str, str]:
    """Where a job is submitted: the account and the (GPU or general) partition."""
    return {"slurm_account": settings.account, "slurm_partition": settings.partition_for(gpu)}


def check_limits(config: dict, study: Study) -> list[str]:
    """Lines to log at start-up: the gLM limits are estimates; GPU jobs over the maximum.

    Embedding jobs are split to fit ``cluster.max_runtime`` (:func:`plan.embedding_shards`,
    which raises where one individual cannot fit). A training or prediction job cannot be
    split so: one over the maximum is named with what shortens it.
    """
    settings = ClusterSettings.from_config(config)
    models = {m: e for m, e in config["models"].items() if e["enabled"]}
    notes = []
    if any(registry.family(e) == "glm" for e in models.values()):
        notes.append(
            "gLM job limits (embeddings_compute, training_tower, predictions_tower) come from"
            " estimated seconds per window (haplexpr.plan.GLM_SECONDS_PER_WINDOW), not"
            " measured: run benchmarks/gpu_glm_embed.py on a GPU to replace them"
        )
    for model, entry in models.items():
        rules = (
            ("training_s2f", "predictions_s2f")
            if registry.family(entry) == "s2f"
            else GLM_RULES[1:]
        )
        for rule in rules:
            for strategy in config["strategies"]:
                seconds = job_gpu_seconds(config, study, rule, model, strategy)
                gpus = registry.settings(entry).gpus if rule.startswith("training_") else 1
                minutes = runtime_minutes(seconds / gpus, settings.runtime_margin)
                if minutes > settings.max_runtime:
                    notes.append(
                        f"{rule} {model} {strategy}: {minutes} min asked, over"
                        f" cluster.max_runtime ({settings.max_runtime} min); SLURM may refuse"
                        " or kill it: lower the model's epochs or input_length, or train on"
                        " several GPUs"
                    )
    return notes
