"""config/seed.yaml laid over the demo's config.yaml runs `all`, and its keys reach the jobs.

The run is the README's `snakemake --profile local all --configfile config/seed.yaml` plus
an overlay that fits CI's time: Enformer for the S2F models and NT for the gLMs (the other
models' seed keys are tested on the models themselves), 1 S2F and 10 tower epochs,
strategies r and rp (rp starts from r's kept weights), no elastic net, fewer permutations
and bootstrap samples.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from support import ROOT
from support.pipeline_runs import LOCAL_PROFILE, make_workdir, snakemake

from haplexpr.config import merge_configs
from haplexpr.embeddings.shards import open_shard
from haplexpr.models.embedding_windows import EmbeddingWindows

pytestmark = pytest.mark.slow

MODELS = ("enformer", "nt")
CI_OVERLAY = {
    "models": {m: {"enabled": False} for m in ("borzoi", "caduceus", "evo2")},
    "strategies": ["r", "rp"],
    "training": {"s2f": {"epochs": 1}, "tower": {"epochs": 10}},
    "baselines": {"elastic_net": {"enabled": False}},
    "evaluation": {"permutations": 20, "bootstrap": 200, "gene_permutations": 200},
}


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory):
    """The demo through `all` with config/seed.yaml and the CI overlay on top."""
    workdir = make_workdir(tmp_path_factory.mktemp("seed"))
    (workdir / "ci.yaml").write_text(yaml.safe_dump(CI_OVERLAY))
    overlays = [str(ROOT / "config" / "seed.yaml"), "ci.yaml"]
    result = snakemake(
        workdir, "--profile", str(LOCAL_PROFILE), "--cores", "2", "all", "--configfile", *overlays
    )
    assert result.returncode == 0, result.stderr[-5000:]
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    for overlay in overlays:
        merge_configs(config, yaml.safe_load((workdir / overlay).read_text()))
    return workdir, config


def test_every_run_is_scored_and_reported(seed_run):
    workdir, _ = seed_run
    for model in MODELS:
        for strategy in CI_OVERLAY["strategies"]:
            metrics = pd.read_csv(workdir / f"results/metrics/{model}/{strategy}.tsv", sep="\t")
            assert np.isfinite(metrics["mean_r"]).any(), (model, strategy)
    assert (workdir / "results" / "report" / "report.html").stat().st_size > 10_000


def test_consensus_writes_iupac_codes_where_the_seeds_bcftools_would(seed_run):
    workdir, _ = seed_run
    for chrom in ("1", "2"):
        check = json.loads((workdir / "results" / "vcf" / f"{chrom}.check.json").read_text())
        assert check["unphased_policy"] == "iupac"


def test_the_towers_learning_rate_follows_the_seeds_per_epoch_schedule(seed_run):
    """The log's rate after each epoch is what the seed's torch schedulers give then."""
    workdir, config = seed_run
    tower = config["training"]["tower"]
    optimizer = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=tower["learning_rate"])
    warmup = int(0.1 * tower["epochs"])
    schedulers = [
        torch.optim.lr_scheduler.LinearLR(optimizer, 0.01, 1.0, total_iters=warmup),
        torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=tower["epochs"] - warmup, eta_min=tower["learning_rate"] / 10
        ),
    ]
    sequential = torch.optim.lr_scheduler.SequentialLR(optimizer, schedulers, [warmup])
    expected = []
    for _ in range(tower["epochs"]):
        optimizer.step()
        sequential.step()
        expected.append(sequential.get_last_lr()[0])
    for strategy in CI_OVERLAY["strategies"]:
        log = pd.read_csv(workdir / f"results/training/nt/{strategy}/train_log.tsv", sep="\t")
        np.testing.assert_allclose(log["learning_rate"], expected, rtol=1e-6)
        assert log["kept"].tolist() == [False] * (len(log) - 1) + [True]  # no validation


def test_nt_keeps_its_cls_state_as_the_leading_position(seed_run):
    workdir, config = seed_run
    array, _, _ = open_shard(workdir / "results" / "embeddings" / "nt" / "shard000.npy")
    seeds = EmbeddingWindows.from_config("models.nt", config["models"]["nt"])
    ours = EmbeddingWindows.from_config("models.nt", {**config["models"]["nt"], "keep_cls": False})
    assert array.shape[1] == seeds.positions == ours.positions + 1
