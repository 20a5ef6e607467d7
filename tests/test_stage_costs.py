"""Tests for haplexpr.stage_costs: the plan table counts what the design embeds and predicts, per
stage and per cohort."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from haplexpr import plan, stage_costs
from haplexpr.effects.plan import EffectSettings


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
