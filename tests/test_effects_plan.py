"""Tests for haplexpr.effects.plan: the ``effects`` block read once (its null seed resolved),
the runs, genes and worst-case forward passes it asks for."""

from __future__ import annotations

import copy

import pytest
from support.study_tables import small_study

from haplexpr.config import trained_runs
from haplexpr.effects.plan import EffectSettings, scored_runs

ROWS = [
    f"{split},{sample},{gene},chr1,{tss},+,1.0"
    for split, gene, tss in (("train", "G1", 100), ("train", "G2", 900), ("test", "G3", 50))
    for sample in "ABC"
]


def settings(demo_config, **changed) -> EffectSettings:
    config = {**demo_config, "effects": {**demo_config["effects"], **changed}}
    return EffectSettings.from_config(config)


def test_a_null_seed_is_the_training_seed(demo_config):
    assert settings(demo_config, seed=None).seed == demo_config["training"]["seed"]
    assert settings(demo_config, seed=demo_config["training"]["seed"] + 1).seed == (
        demo_config["training"]["seed"] + 1
    )


def test_runs_are_the_chosen_models_and_strategies(demo_config):
    trained = [("enformer", "p"), ("enformer", "r"), ("nt", "p"), ("nt", "rp")]
    assert settings(demo_config, models=None, strategies=["p"]).runs(trained) == [
        ("enformer", "p"),
        ("nt", "p"),
    ]
    chosen = settings(demo_config, models=["nt"], strategies=["p", "rp"])
    assert chosen.runs(trained) == [("nt", "p"), ("nt", "rp")]
    assert settings(demo_config, enabled=False).runs(trained) == []


def test_scored_runs_leave_out_imported_glms(demo_config):
    config = copy.deepcopy(demo_config)
    config["effects"]["strategies"] = ["p"]
    every = [(m, s) for m, s in trained_runs(config) if s == "p"]
    assert scored_runs(config) == every
    config["models"]["nt"]["precomputed_root"] = "seed/embeddings"
    assert scored_runs(config) == [run for run in every if run[0] != "nt"]


@pytest.fixture
def study(tmp_path):
    return small_study(tmp_path, ROWS, train="A\nB\n", test="C\n", genes="G2\n")


def test_gene_list_is_the_individual_genes_or_all(demo_config, study):
    assert settings(demo_config, genes="individual").gene_list(study) == ["G2"]
    assert sorted(settings(demo_config, genes="all").gene_list(study)) == ["G1", "G2", "G3"]


def test_planned_forward_passes_are_the_worst_case_capped_by_the_limit(demo_config, study):
    def planned(**changed):
        return settings(demo_config, **changed).planned_forward_passes(study)

    bounds = {"max_variants_per_gene": 3, "max_forward_passes": 10**6}
    # one test individual (C), whatever the bound: per gene 1 + V + 2 I (1 + V) = 1 + 3 + 8
    assert planned(genes="all", max_individuals=5, **bounds) == 3 * 12
    assert planned(genes="individual", max_individuals=5, **bounds) == 12
    assert planned(genes="all", max_individuals=0, **bounds) == 3 * 4
    assert (
        planned(genes="all", max_individuals=5, max_variants_per_gene=3, max_forward_passes=20)
        == 20
    )
    assert planned(max_variants_per_gene=None, max_forward_passes=77) == 77  # unbounded: the limit
    assert planned(max_individuals=None, max_forward_passes=77) == 77
