"""Each stage's jobs, forward passes, GPU-hours and disk: the table ``haplexpr plan`` prints.

Sized by :mod:`haplexpr.plan` (embedding shards, seconds per window, tower reads) and
:mod:`haplexpr.cluster_resources` (measured S2F step times), from the config and the
study tables alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from haplexpr.config import training_recipe
from haplexpr.consensus_settings import ConsensusSettings
from haplexpr.models import registry
from haplexpr.models.embedding_windows import EmbeddingWindows
from haplexpr.plan import (
    bytes_per_window,
    design_windows,
    embedding_job_seconds,
    embedding_shards,
    tiles,
    tower_seconds,
)
from haplexpr.study.design import Study


@dataclass(frozen=True)
class Stage:
    """One line of the plan."""

    stage: str
    name: str
    jobs: int
    forward_passes: int
    gpu_hours: float
    disk_bytes: int
    estimated: bool = False


def prediction_rule(model: dict, strategy: str) -> str:
    """The rule that predicts a run: by the model's family, zero-shot (zs) apart."""
    if strategy == "zs":
        return "predictions_zero_shot"
    return {"s2f": "predictions_s2f", "glm": "predictions_tower"}[registry.family(model)]


def cohort_stages(config: dict, study: Study, cohorts: dict[str, list[str]]) -> list[Stage]:
    """Each new cohort's GPU work: embeddings (every computed gLM), predictions (every run).

    ``cohorts``: name -> individuals. Windows: two haplotypes per individual over the genes
    the study predicts for individuals; the elastic net and the CPU steps are not counted.
    """
    from haplexpr.cluster_resources import job_gpu_seconds
    from haplexpr.config import cohort_runs

    models, genes = config["models"], len(study.individual_prediction_genes())
    runs = [(m, s) for m, s in cohort_runs(config) if m in models]  # not the elastic net
    glms = list(dict.fromkeys(m for m, _ in runs if registry.family(models[m]) == "glm"))
    stages = []
    for cohort, individuals in cohorts.items():
        windows = 2 * len(individuals) * genes
        jobs = passes = seconds = disk = 0
        for name in glms:
            where, model = f"models.{name}", models[name]
            shards = embedding_shards(config, study, name, individuals).values()
            jobs += len(shards)
            passes += windows * tiles(EmbeddingWindows.from_config(where, model))
            seconds += sum(embedding_job_seconds(study, model, s) for s in shards)
            disk += windows * bytes_per_window(model, where)
        stages.append(
            Stage("cohorts", f"{cohort}: embed ({len(glms)} gLMs)", jobs, passes, seconds / 3600,
                  disk, estimated=bool(glms))
        )  # fmt: skip
        seconds = 0
        for name, strategy in runs:
            rule = prediction_rule(models[name], strategy)
            seconds += job_gpu_seconds(config, study, rule, name, strategy, None, len(individuals))
        stages.append(
            Stage("cohorts", f"{cohort}: predict ({len(runs)} runs)", len(runs),
                  windows * len(runs), seconds / 3600, 0, estimated=bool(glms))
        )  # fmt: skip
    return stages


def plan(config: dict, study: Study, chromosomes: int) -> list[Stage]:
    """Every stage of the study, sized from the config, the tables and the VCF count.

    Disk counts what grows with the study: embeddings (an upper bound, before alike
    haplotypes share rows) and the reference windows of the sequence store (haplotype
    shards hold edits only); predictions and metrics are small tables, left at 0.
    """
    from haplexpr.config import evaluated_runs

    consensus = ConsensusSettings.from_config(config)
    stages = [
        Stage("vcf", "download, normalise (CPU)", 2 * chromosomes, 0, 0, 0),
        Stage(
            "sequences",
            "consensus (all genes; CPU)",
            math.ceil(len(study.individuals) / consensus.individuals_per_job) + 1,
            0,
            0,
            # reference bases per gene; haplotype shards hold edits only
            len(study.genes) * consensus.window_length,
        ),
    ]
    stages += embedding_stages(config, study)
    stages += training_stages(config, study)
    stages += prediction_stages(config, study)
    stages += effect_stages(config, study)
    n_runs = len(evaluated_runs(config))
    stages.append(Stage("metrics", "per run + comparisons + report", n_runs + 2, 0, 0, 0))
    return stages


def embedding_stages(config: dict, study: Study) -> list[Stage]:
    """One stage per gLM: computed (estimated GPU-h) or imported from the seed's files."""
    from haplexpr.config import enabled_models

    windows_all, stages = design_windows(study), []
    for name, model in enabled_models(config, "glm").items():
        where = f"models.{name}"
        if model.get("precomputed_root"):
            rows = (1 + 2 * len(study.individuals)) * len(study.genes)  # every gene, as the seed's
            imported = f"{name} (imported, all genes; CPU)"
            shards = len(embedding_shards(config, study, name))
            stages.append(
                Stage("embeddings", imported, shards, 0, 0, rows * bytes_per_window(model, where))
            )
            continue
        shards = embedding_shards(config, study, name).values()
        seconds = sum(embedding_job_seconds(study, model, shard) for shard in shards)
        stages.append(
            Stage("embeddings", name, len(shards),
                  windows_all * tiles(EmbeddingWindows.from_config(where, model)), seconds / 3600,
                  windows_all * bytes_per_window(model, where), estimated=True)
        )  # fmt: skip
    return stages


def training_stages(config: dict, study: Study) -> list[Stage]:
    """One stage per trained run, strategy by strategy (S2F measured, towers estimated)."""
    from haplexpr.cluster_resources import job_gpu_seconds
    from haplexpr.config import enabled_models

    models = {**enabled_models(config, "s2f"), **enabled_models(config, "glm")}
    stages = []
    for strategy in config["strategies"]:
        for name, model in models.items():
            rule = "training_s2f" if registry.family(model) == "s2f" else "training_tower"
            seconds = (
                job_gpu_seconds(config, study, rule, name, strategy)
                if rule == "training_s2f"
                else tower_seconds(config, study, name, rule, strategy)
            )
            epochs = training_recipe(config, name)["epochs"]
            passes = study.training_count(strategy) * (1 if strategy == "r" else 2)
            stages.append(
                Stage("training", f"{name} {strategy}", 1, passes * epochs,
                      seconds / 3600, 0, estimated=rule == "training_tower")
            )  # fmt: skip
    return stages


def prediction_stages(config: dict, study: Study) -> list[Stage]:
    """One stage per predicted deep run (trained and zero-shot) over the design's windows."""
    from haplexpr.cluster_resources import job_gpu_seconds
    from haplexpr.config import enabled_models

    s2f, glms = enabled_models(config, "s2f"), enabled_models(config, "glm")
    runs = [(n, s) for s in config["strategies"] for n in {**s2f, **glms}]
    runs += [(n, "zs") for n, m in s2f.items() if m.get("zero_shot")]
    stages = []
    for name, strategy in runs:
        family = registry.family(config["models"][name])
        rule = prediction_rule(config["models"][name], strategy)
        seconds = (
            tower_seconds(config, study, name, rule, strategy)
            if family == "glm"
            else job_gpu_seconds(config, study, rule, name, strategy)
        )
        stages.append(
            Stage("predictions", f"{name} {strategy}", 1, design_windows(study), seconds / 3600,
                  0, estimated=family == "glm")
        )  # fmt: skip
    return stages


def effect_stages(config: dict, study: Study) -> list[Stage]:
    """One stage per scored run: its planned forward passes (and the CPU checks job)."""
    from haplexpr.cluster_resources import job_gpu_seconds
    from haplexpr.effects.plan import EffectSettings, scored_runs

    passes = EffectSettings.from_config(config).planned_forward_passes(study)
    stages = []
    for name, strategy in scored_runs(config):
        family = registry.family(config["models"][name])
        rule = {"s2f": "effects_s2f", "glm": "effects_tower"}[family]
        seconds = job_gpu_seconds(config, study, rule, name, strategy)
        stages.append(
            Stage("effects", f"{name} {strategy} (+ checks, CPU)", 2, passes, seconds / 3600,
                  0, estimated=family == "glm")
        )  # fmt: skip
    return stages


def format_plan(stages: list[Stage]) -> str:
    """The plan as a table with totals; estimated GPU-hours are marked ``~``."""
    lines = [
        f"{'stage':<12} {'what':<34} {'jobs':>6} {'forward passes':>15} {'GPU-h':>10} {'disk':>10}"
    ]
    for s in stages:
        hours = f"{'~' if s.estimated else ''}{s.gpu_hours:.2f}"
        lines.append(
            f"{s.stage:<12} {s.name:<34} {s.jobs:>6} {s.forward_passes:>15,} {hours:>10}"
            f" {human_bytes(s.disk_bytes):>10}"
        )
    lines.append(
        f"{'total':<12} {'':<34} {sum(s.jobs for s in stages):>6}"
        f" {sum(s.forward_passes for s in stages):>15,} {sum(s.gpu_hours for s in stages):>10.2f}"
        f" {human_bytes(sum(s.disk_bytes for s in stages)):>10}"
    )
    lines.append(
        "~ = estimated (gLM seconds per window, tower reads: haplexpr.plan); S2F: measured H200"
    )
    return "\n".join(lines)


def human_bytes(n: int) -> str:
    """``n`` bytes in B, kB, MB, GB or TB (decimal)."""
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"
