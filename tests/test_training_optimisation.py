"""Tests for haplexpr.training.optimisation: the warm-up + cosine schedule per step or per epoch
(the seed's torch schedulers) and the learning rate scaled by GPUs."""

from __future__ import annotations

import contextlib
import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import torch
from support.toy_training import (
    SETTINGS,
    ToyData,
    fresh_model,
)
from torch import nn
from torch.optim.optimizer import register_optimizer_step_pre_hook

from haplexpr.training.loop import train
from haplexpr.training.optimisation import lr_gpu_factor, warmup_cosine


def test_warmup_cosine_shape():
    total, warmup_fraction, final = 1000, 0.1, 0.1
    values = [warmup_cosine(s, total, warmup_fraction, final) for s in range(total + 1)]
    assert values[0] == pytest.approx(0.01)  # near 0 at the first step
    assert values[99] == pytest.approx(1.0)  # peak at the end of warm-up
    assert max(values) == pytest.approx(1.0)
    assert np.all(np.diff(values[:100]) > 0)  # linear rise
    assert values[100] == pytest.approx(1.0)
    assert np.all(np.diff(values[100:]) <= 0)  # then decay
    assert values[550] == pytest.approx((1 + final) / 2)  # half-way through the cosine
    assert values[total] == pytest.approx(final)
    assert min(values[100:]) == pytest.approx(final)


def test_warmup_cosine_without_warmup_fraction():
    assert warmup_cosine(0, 10, 0.0, 0.2) == pytest.approx(1.0)
    assert warmup_cosine(10, 10, 0.0, 0.2) == pytest.approx(0.2)


def seed_reference_lrs(learning_rate: float, epochs: int) -> list[float]:
    """The rate of every epoch of a seed run: torch's schedulers built as the seed's
    train_gLM_based_models.py and ft_S2F_models.py build them, stepped after each epoch."""
    optimizer = torch.optim.Adam([nn.Parameter(torch.zeros(1))], lr=learning_rate)
    warmup = int(0.1 * epochs)
    schedulers = torch.optim.lr_scheduler
    linear = schedulers.LinearLR(optimizer, start_factor=0.01, end_factor=1.0, total_iters=warmup)
    cosine = schedulers.CosineAnnealingLR(
        optimizer, T_max=epochs - warmup, eta_min=learning_rate / 10
    )
    sequential = schedulers.SequentialLR(optimizer, [linear, cosine], milestones=[warmup])
    rates = []
    for _ in range(epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        sequential.step()
    return rates


@contextlib.contextmanager
def step_rates():
    """Collect the learning rate of every optimiser step taken inside the block."""
    rates: list[float] = []
    handle = register_optimizer_step_pre_hook(
        lambda optimizer, args, kwargs: rates.append(optimizer.param_groups[0]["lr"])
    )
    try:
        yield rates
    finally:
        handle.remove()


@pytest.mark.parametrize("epochs", [20, 7])  # 7: fewer than 10 epochs, no warm-up
def test_seed_schedule_steps_per_epoch_as_the_seeds_torch_schedule(tmp_path, epochs):
    settings = dataclasses.replace(
        SETTINGS, epochs=epochs, warmup_fraction=0.1, schedule="seed", device="cpu"
    )
    with step_rates() as rates:
        train(fresh_model(), ToyData(), settings, tmp_path)
    steps_per_epoch = math.ceil(10 / settings.batch_size)
    expected = seed_reference_lrs(settings.learning_rate, epochs)
    assert len(rates) == steps_per_epoch * epochs
    # every step of an epoch at that epoch's rate: the schedule moves once per epoch
    assert rates == pytest.approx(np.repeat(expected, steps_per_epoch).tolist(), rel=1e-12)
    if epochs >= 10:
        assert rates[0] == pytest.approx(0.01 * settings.learning_rate)
    log = pd.read_csv(tmp_path / "train_log.tsv", sep="\t")
    assert log["learning_rate"].tolist()[:-1] == pytest.approx(expected[1:], rel=1e-9)


def test_per_step_schedule_moves_within_an_epoch(tmp_path):
    with step_rates() as rates:
        train(fresh_model(), ToyData(), SETTINGS, tmp_path)
    total = math.ceil(10 / SETTINGS.batch_size) * SETTINGS.epochs
    expected = [
        SETTINGS.learning_rate
        * warmup_cosine(step, total, SETTINGS.warmup_fraction, SETTINGS.final_lr_ratio)
        for step in range(total)
    ]
    assert rates == pytest.approx(expected, rel=1e-12)
    assert len(set(rates[:3])) == 3  # within the first epoch's three steps


def test_seed_schedule_refuses_no_epoch_after_warmup(tmp_path):
    settings = dataclasses.replace(SETTINGS, warmup_fraction=1.0, schedule="seed")
    with pytest.raises(ValueError, match="lower warmup_fraction"):
        train(fresh_model(), ToyData(), settings, tmp_path)


def test_scale_lr_by_gpus_multiplies_by_the_visible_cuda_devices(monkeypatch):
    scaled = dataclasses.replace(SETTINGS, scale_lr_by_gpus=True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    assert lr_gpu_factor(scaled, torch.device("cuda")) == 4
    assert lr_gpu_factor(SETTINGS, torch.device("cuda")) == 1  # not asked for
    assert lr_gpu_factor(scaled, torch.device("cpu")) == 1  # the seed cannot train on a CPU
