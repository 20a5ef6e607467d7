"""Tests for haplexpr.stage_costs: the plan table counts what the design embeds and predicts, per
stage and per cohort; the demo config's rows (jobs, training passes, estimates), the
prediction rule and the printed table.

GPU seconds themselves are cluster_resources' (tests/test_cluster_resources.py)."""

from __future__ import annotations

import copy
import dataclasses
import math

import pytest

from haplexpr import plan, stage_costs
from haplexpr.config import training_recipe
from haplexpr.effects.plan import EffectSettings
from haplexpr.stage_costs import Stage, format_plan, human_bytes, prediction_rule

DEEP = ("enformer", "borzoi", "nt", "evo2", "caduceus")  # the demo's models, in config order
GLMS = ("nt", "evo2", "caduceus")


def test_the_plan_counts_what_the_design_embeds_and_predicts(demo_config, demo_study):
    """Hand counts: windows = reference genes + 2 x individuals x their genes."""
    stages = {
        (s.stage, s.name): s for s in stage_costs.plan(demo_config, demo_study, chromosomes=2)
    }
    ref, ind = len(demo_study.reference_genes()), len(demo_study.individual_prediction_genes())
    windows = ref + 2 * len(demo_study.individuals) * ind
    assert ind == len(demo_study.individual_genes) + (demo_study.genes["split"] == "test").sum()
    nt = stages[("embeddings", "nt")]
    per_window = plan.bytes_per_window(demo_config["models"]["nt"], "models.nt")
    assert nt.forward_passes == windows and nt.disk_bytes == windows * per_window
    # tiny NT: 2,048 bases in bins of 6 -> 342 positions x 32 wide x float16
    assert per_window == 342 * 32 * 2
    assert stages[("predictions", "enformer p")].forward_passes == windows
    assert stages[("vcf", "download, normalise (CPU)")].jobs == 4
    sampled = dataclasses.replace(demo_study, unseen_sample=3)
    fewer = {(s.stage, s.name): s for s in stage_costs.plan(demo_config, sampled, chromosomes=2)}
    held_out = (demo_study.genes["split"] == "test").sum()
    assert fewer[("embeddings", "nt")].forward_passes == windows - (held_out - 3) * (
        1 + 2 * len(demo_study.individuals)
    )
    # effects: one row per scored run, at its planned passes; an imported gLM is not scored
    settings = EffectSettings.from_config(demo_config)
    effects = {name for stage, name in stages if stage == "effects"}
    assert effects == {
        f"{m} p (+ checks, CPU)" for m in ("enformer", "borzoi", "nt", "evo2", "caduceus")
    }
    assert stages[("effects", "nt p (+ checks, CPU)")].forward_passes == (
        settings.planned_forward_passes(demo_study)
    )
    imported = copy.deepcopy(demo_config)
    imported["models"]["nt"]["precomputed_root"] = "seed_embeddings"
    assert "nt p (+ checks, CPU)" not in {
        s.name
        for s in stage_costs.plan(imported, demo_study, chromosomes=2)
        if s.stage == "effects"
    }


def test_a_cohort_is_planned_as_its_individuals_windows(demo_config, demo_study):
    """Per cohort: its embeddings (computed gLMs) and its predictions (GPU runs), summed."""
    individuals = demo_study.test_individuals[:5]
    embed, predict = stage_costs.cohort_stages(demo_config, demo_study, {"new": individuals})
    windows = 2 * 5 * len(demo_study.individual_prediction_genes())
    assert embed.name == "new: embed (3 gLMs)" and embed.forward_passes == 3 * windows
    # 5 deep models x 3 strategies + enformer zs; the elastic net runs on CPUs
    assert predict.name == "new: predict (16 runs)" and predict.forward_passes == 16 * windows
    # GPU-hours scale from the study's measured rate: Enformer p alone, 5 of the individuals
    enformer = copy.deepcopy(demo_config)
    enformer["models"] = {"enformer": {**enformer["models"]["enformer"], "zero_shot": False}}
    enformer["strategies"] = ["p"]
    enformer["baselines"]["elastic_net"]["enabled"] = False
    study_hours = next(
        s.gpu_hours
        for s in stage_costs.plan(demo_config, demo_study, chromosomes=2)
        if (s.stage, s.name) == ("predictions", "enformer p")
    )
    _, alone = stage_costs.cohort_stages(enformer, demo_study, {"new": individuals})
    assert alone.gpu_hours == pytest.approx(
        study_hours * (windows / 2) / demo_study.prediction_count(), rel=1e-9
    )


def test_the_demo_plan_has_a_row_per_stage_and_run(demo_config, demo_study):
    stages = stage_costs.plan(demo_config, demo_study, chromosomes=3)
    strategies = demo_config["strategies"]
    assert [(s.stage, s.name) for s in stages] == [
        ("vcf", "download, normalise (CPU)"),
        ("sequences", "consensus (all genes; CPU)"),
        *(("embeddings", m) for m in GLMS),
        *(("training", f"{m} {s}") for s in strategies for m in DEEP),
        *(("predictions", f"{m} {s}") for s in strategies for m in DEEP),
        ("predictions", "enformer zs"),
        *(("effects", f"{m} p (+ checks, CPU)") for m in DEEP),
        ("metrics", "per run + comparisons + report"),
    ]
    rows = {(s.stage, s.name): s for s in stages}
    assert rows[("vcf", "download, normalise (CPU)")].jobs == 2 * 3  # download + normalise
    consensus = demo_config["consensus"]
    sequences = rows[("sequences", "consensus (all genes; CPU)")]
    individuals = len(demo_study.individuals)
    assert sequences.jobs == math.ceil(individuals / consensus["individuals_per_job"]) + 1  # + ref
    assert sequences.disk_bytes == len(demo_study.genes) * consensus["window_length"]
    # 16 deep runs and the elastic net, each with its metrics, + comparisons + report
    assert rows[("metrics", "per run + comparisons + report")].jobs == 17 + 2
    for strategy in strategies:
        examples = demo_study.training_count(strategy) * (1 if strategy == "r" else 2)
        for model in DEEP:
            epochs = training_recipe(demo_config, model)["epochs"]
            assert rows[("training", f"{model} {strategy}")].forward_passes == examples * epochs
    for s in stages:  # GPU-hours of gLMs are estimates, S2F's measured; CPU stages take none
        assert s.estimated == (s.name.split()[0] in GLMS), s
        assert (s.gpu_hours > 0) == (s.stage not in ("vcf", "sequences", "metrics")), s


@pytest.mark.parametrize(
    ("model", "strategy", "rule"),
    [("enformer", "p", "predictions_s2f"), ("nt", "rp", "predictions_tower")]
    + [("enformer", "zs", "predictions_zero_shot")],
)
def test_a_run_is_predicted_by_its_familys_rule(demo_config, model, strategy, rule):
    assert prediction_rule(demo_config["models"][model], strategy) == rule


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0 B"), (999, "999 B"), (1000, "1.0 kB"), (245_760, "245.8 kB"), (3 * 10**9, "3.0 GB")]
    + [(1_500 * 10**9, "1.5 TB"), (2 * 10**15, "2000.0 TB")],
)
def test_human_bytes_are_decimal(n, text):
    assert human_bytes(n) == text


def test_the_table_marks_estimates_and_sums_every_column():
    stages = [
        Stage("training", "enformer p", 1, 12_345, 1.25, 0),
        Stage("embeddings", "nt", 3, 4_000, 0.5, 2_000_000, estimated=True),
    ]
    lines = format_plan(stages).splitlines()
    assert lines[0].split() == ["stage", "what", "jobs", "forward", "passes", "GPU-h", "disk"]
    assert lines[1].split() == ["training", "enformer", "p", "1", "12,345", "1.25", "0", "B"]
    assert lines[2].split() == ["embeddings", "nt", "3", "4,000", "~0.50", "2.0", "MB"]
    assert lines[3].split() == ["total", "4", "16,345", "1.75", "2.0", "MB"]
    assert lines[4].startswith("~ = estimated") and len(lines) == 5
