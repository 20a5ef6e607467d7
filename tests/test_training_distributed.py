"""Data-parallel training: two gloo ranks under torchrun against one process, and resume.

Two ranks share every global batch (13 of 23 examples, batches of 5, uneven shares, a
stand-in for a rank with none) and compute the whole batch's loss, so they should end at
the one-process weights up to float rounding: the tolerance (1e-5) is far below what a
lost example, a lost pair or a doubled gradient would move them (> 1e-3).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from haplexpr.training.distributed import Ranks, share
from haplexpr.training.optimisation import lr_gpu_factor
from haplexpr.training.settings import TrainingSettings

SCRIPT = Path(__file__).parent / "support" / "ddp_training.py"
TOLERANCE = 1e-5


def run(out_dir: Path, ranks: int, *options: str) -> subprocess.CompletedProcess:
    """The support script alone (ranks 1) or under torchrun with ``ranks`` gloo processes."""
    launcher = [sys.executable]
    if ranks > 1:
        launcher += ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={ranks}"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [*launcher, str(SCRIPT), str(out_dir), *options],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def trained(out_dir: Path, ranks: int, *options: str) -> tuple[dict, pd.DataFrame]:
    """Weights and epoch log of a finished run."""
    done = run(out_dir, ranks, *options)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    weights = torch.load(out_dir / "model.pt", weights_only=True)["state_dict"]
    return weights, pd.read_csv(out_dir / "train_log.tsv", sep="\t")


def assert_close(a: dict, b: dict, atol: float) -> None:
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=atol, rtol=0, msg=key)


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> tuple[dict, pd.DataFrame]:
    """The shuffled run on two ranks, uninterrupted."""
    return trained(tmp_path_factory.mktemp("two"), 2)


@pytest.mark.parametrize("batches", ["shuffled", "by_gene"])
def test_two_ranks_train_as_one_process_on_the_same_global_batch(tmp_path, two_ranks, batches):
    one_weights, one_log = trained(tmp_path / "one", 1, "--batches", batches)
    if batches == "shuffled":
        two_weights, two_log = two_ranks
    else:
        two_weights, two_log = trained(tmp_path / "two", 2, "--batches", batches)
    assert_close(one_weights, two_weights, TOLERANCE)
    for column in ("train_loss", "valid_score", "learning_rate"):
        assert two_log[column].to_numpy() == pytest.approx(one_log[column], rel=TOLERANCE)
    assert two_log["steps"].tolist() == one_log["steps"].tolist()
    assert one_log["train_loss"].iloc[-1] < one_log["train_loss"].iloc[0]  # it learns


def test_per_gpu_batches_are_the_one_process_run_of_world_times_the_batch(tmp_path):
    one_weights, _ = trained(tmp_path / "one", 1, "--batch-size", "6")
    two_weights, _ = trained(tmp_path / "two", 2, "--batch-size", "3", "--batch-size-per", "gpu")
    assert_close(one_weights, two_weights, TOLERANCE)


def test_a_killed_two_rank_run_resumes_to_the_uninterrupted_weights(tmp_path, two_ranks):
    killed = run(tmp_path, 2, "--kill-after-epoch", "2")
    assert killed.returncode != 0
    assert (tmp_path / "checkpoint.pt").exists() and not (tmp_path / "model.pt").exists()
    weights, epochs = trained(tmp_path, 2)
    assert_close(weights, two_ranks[0], atol=0)
    pd.testing.assert_frame_equal(
        epochs.drop(columns="seconds"), two_ranks[1].drop(columns="seconds")
    )
    assert not (tmp_path / "checkpoint.pt").exists()


@pytest.mark.parametrize(
    ("size", "world", "expected"),
    [(5, 2, [[0, 1, 2], [3, 4]]), (4, 2, [[0, 1], [2, 3]]), (1, 2, [[0], [0]])],
)
def test_each_rank_runs_a_contiguous_share_and_an_empty_one_a_stand_in(size, world, expected):
    batch = list(range(size))
    shares = [share(batch, Ranks(rank, world)) for rank in range(world)]
    assert [mine for mine, _ in shares] == expected
    assert sum(shares[0][1]) == size  # the sizes count real examples only


def test_the_global_batch_and_the_seeds_lr_factor_follow_the_world_size():
    settings = TrainingSettings(1e-3, 8, 1, 0.1, 0.1, 0.3, scale_lr_by_gpus=True)
    assert settings.global_batch(4) == 8
    per_gpu = TrainingSettings(1e-3, 8, 1, 0.1, 0.1, 0.3, batch_size_per="gpu")
    assert per_gpu.global_batch(4) == 32
    assert lr_gpu_factor(settings, torch.device("cpu"), world_size=4) == 4
    assert lr_gpu_factor(per_gpu, torch.device("cpu"), world_size=4) == 1  # not asked for
