"""Tests for haplexpr.training.resume: a killed run resumes to the uninterrupted weights; a
checkpoint of other settings, data or schedule is ignored."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import torch
from support.toy_training import (
    SETTINGS,
    ToyData,
    assert_same_state,
    final_state,
    fresh_model,
)

from haplexpr.training.loop import train


def test_checkpoint_of_the_other_schedule_is_ignored(tmp_path):
    out = tmp_path / "run"
    n = len(ToyData())
    with pytest.raises(KeyboardInterrupt):
        train(fresh_model(), ToyData(fail_at_read=2 * n + 1), SETTINGS, out)
    data = ToyData()
    train(fresh_model(), data, dataclasses.replace(SETTINGS, schedule="seed"), out)
    assert data.reads == SETTINGS.epochs * n  # started over


def test_seed_schedule_resumes_to_the_same_weights(tmp_path):
    settings = dataclasses.replace(SETTINGS, epochs=10, schedule="seed")
    train(fresh_model(), ToyData(), settings, tmp_path / "a")
    n = len(ToyData())
    with pytest.raises(KeyboardInterrupt):  # first item of epoch 5, after the warm-up
        train(fresh_model(), ToyData(fail_at_read=4 * n + 1), settings, tmp_path / "b")
    data = ToyData()
    train(fresh_model(seed=99), data, settings, tmp_path / "b")
    assert data.reads == 6 * n
    assert_same_state(final_state(tmp_path / "b"), final_state(tmp_path / "a"))


def test_resume_after_kill_gives_the_same_weights(tmp_path):
    uninterrupted = tmp_path / "a"
    train(fresh_model(), ToyData(), SETTINGS, uninterrupted)

    resumed = tmp_path / "b"
    n = len(ToyData())
    with pytest.raises(KeyboardInterrupt):  # first item of epoch 3
        train(fresh_model(), ToyData(fail_at_read=2 * n + 1), SETTINGS, resumed)
    assert (resumed / "checkpoint.pt").exists()
    checkpoint = torch.load(resumed / "checkpoint.pt", map_location="cpu", weights_only=False)
    assert checkpoint["epoch"] == 2
    assert not (resumed / "model.pt").exists()
    assert not (resumed / "train_log.tsv").exists()
    assert not list(resumed.glob(".*tmp*"))

    data = ToyData()
    train(fresh_model(seed=99), data, SETTINGS, resumed)  # init does not matter when resuming
    assert data.reads == 2 * n  # only epochs 3 and 4 ran
    assert_same_state(final_state(resumed), final_state(uninterrupted))
    assert not (resumed / "checkpoint.pt").exists()
    log = pd.read_csv(resumed / "train_log.tsv", sep="\t")
    reference_log = pd.read_csv(uninterrupted / "train_log.tsv", sep="\t")
    assert log["epoch"].tolist() == [1, 2, 3, 4]
    pd.testing.assert_frame_equal(
        log.drop(columns="seconds"), reference_log.drop(columns="seconds")
    )


def test_checkpoint_with_other_settings_is_ignored(tmp_path):
    out = tmp_path / "run"
    n = len(ToyData())
    with pytest.raises(KeyboardInterrupt):
        train(fresh_model(), ToyData(fail_at_read=2 * n + 1), SETTINGS, out)
    assert (out / "checkpoint.pt").exists()

    changed = dataclasses.replace(SETTINGS, learning_rate=0.005)
    data = ToyData()
    train(fresh_model(), data, changed, out)
    assert data.reads == SETTINGS.epochs * n  # started over
    train(fresh_model(), ToyData(), changed, tmp_path / "clean")
    assert_same_state(final_state(out), final_state(tmp_path / "clean"))
    assert pd.read_csv(out / "train_log.tsv", sep="\t")["epoch"].tolist() == [1, 2, 3, 4]
    assert not (out / "checkpoint.pt").exists()


def test_checkpoint_for_other_data_is_ignored(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(fresh_model(), ToyData(fail_at_read=2 * 10 + 1), SETTINGS, out)
    data = ToyData(n=12)
    train(fresh_model(), data, SETTINGS, out)
    assert data.reads == SETTINGS.epochs * 12
