"""Tests for haplexpr.plan: embedding jobs split until each fits the cluster's maximum run time."""

from __future__ import annotations

import pytest

from haplexpr import plan
from haplexpr.cluster_resources import (
    runtime_minutes,
)


def with_evo2_length(config: dict, length: int, max_runtime: int) -> dict:
    evo2 = {**config["models"]["evo2"], "input_length": length}
    return {
        **config,
        "models": {**config["models"], "evo2": evo2},
        "cluster": {**config["cluster"], "max_runtime": max_runtime},
    }


def test_embedding_jobs_over_the_maximum_are_split_until_each_fits(demo_config, demo_study):
    """Evo2 at 160 kb against an 8 h maximum: the first group (reference + 24) is over it, so
    the reference goes alone (its genes in slices that fit) and the individuals in groups
    of as many as fit; at 1.28 Mb not even one individual's 2 x 51 windows fit: refused."""
    config = with_evo2_length(demo_config, 160_000, max_runtime=8 * 60)
    seconds = plan.seconds_per_window(config["models"]["evo2"])
    fits = int((8 * 60 - 15) * 60 / 2.0 // seconds)
    shards = plan.embedding_shards(config, demo_study, "evo2")
    n_ref = len(demo_study.reference_genes())
    per_person = 2 * len(demo_study.individual_prediction_genes())
    step = fits // per_person
    want_ref = -(-n_ref // fits)
    assert len(shards) == want_ref + -(-len(demo_study.individuals) // step)
    slices = [s.genes for s in shards.values() if s.individuals == ("reference",)]
    assert slices[0] == (0, min(fits, n_ref)) and slices[-1][1] == n_ref
    assert len(slices) == want_ref
    people = [i for s in shards.values() for i in s.individuals if i != "reference"]
    assert people == demo_study.individuals  # each once, in order
    for shard in shards.values():
        minutes = runtime_minutes(
            plan.embedding_job_seconds(demo_study, config["models"]["evo2"], shard), 2.0
        )
        assert minutes <= 8 * 60
    unsplit = plan.embedding_shards(demo_config, demo_study, "evo2")
    assert len(unsplit) == -(-(1 + len(demo_study.individuals)) // 25)  # individuals_per_job
    with pytest.raises(plan.PlanError, match=r"models.evo2: one individual's 102 windows"):
        plan.embedding_shards(with_evo2_length(demo_config, 1_280_000, 8 * 60), demo_study, "evo2")
