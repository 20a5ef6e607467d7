"""Tests for haplexpr.training.loop: the loss, deterministic training, initial weights, prediction
and validation (best epoch, early stopping, gradient accumulation). On the CPU by
default; HAPLEXPR_TEST_DEVICE=cuda runs them on a GPU."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import torch
from support.toy_training import (
    LENGTH,
    SETTINGS,
    ToyData,
    assert_same_state,
    final_state,
    fresh_model,
    huber,
)
from torch import nn
from torch.utils.data import Dataset

from haplexpr.models.wrappers import HaplotypeAverage
from haplexpr.training.loop import (
    LOG_COLUMNS,
    Validation,
    combined_loss,
    predict,
    train,
)


def test_combined_loss_matches_hand_computation():
    pred = [0.2, 1.5, -0.7, 3.0, 0.0]
    target = [0.0, -0.4, 0.1, 1.2, 2.5]  # some gaps beyond the Huber delta
    alpha = 0.3
    pointwise = np.mean([huber(p - y) for p, y in zip(pred, target, strict=True)])
    pairs = [
        huber(abs(pred[i] - pred[j]) - abs(target[i] - target[j]))
        for i in range(len(pred))
        for j in range(i + 1, len(pred))
    ]
    assert len(pairs) == 10
    expected = (1 - alpha) * pointwise + alpha * np.mean(pairs)
    got = combined_loss(torch.tensor(pred, dtype=torch.float64), torch.tensor(target), alpha)
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_combined_loss_alpha_zero_is_plain_huber():
    pred, target = [0.2, 1.5, -0.7, 3.0], [0.0, -0.4, 0.1, 1.2]
    expected = np.mean([huber(p - y) for p, y in zip(pred, target, strict=True)])
    got = combined_loss(torch.tensor(pred), torch.tensor(target), 0.0)
    assert got.item() == pytest.approx(expected, rel=1e-6)
    # A single example has no pairs: plain Huber whatever alpha is.
    single = combined_loss(torch.tensor([2.0]), torch.tensor([0.5]), 0.3)
    assert single.item() == pytest.approx(huber(1.5))


def test_combined_loss_backpropagates():
    pred = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    combined_loss(pred, torch.tensor([0.0, 0.0, 1.0]), 0.3).backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0


def test_train_is_deterministic(tmp_path):
    train(fresh_model(), ToyData(), SETTINGS, tmp_path / "a")
    train(fresh_model(), ToyData(), SETTINGS, tmp_path / "b")
    a, b = final_state(tmp_path / "a"), final_state(tmp_path / "b")
    assert_same_state(a, b)
    # ... and it did train: the weights moved away from the initial ones.
    initial = fresh_model().state_dict()
    assert not torch.equal(a["model.net.1.weight"], initial["model.net.1.weight"])
    log = pd.read_csv(tmp_path / "a" / "train_log.tsv", sep="\t")
    assert list(log.columns) == LOG_COLUMNS
    steps_per_epoch = math.ceil(10 / SETTINGS.batch_size)
    assert log["epoch"].tolist() == [1, 2, 3, 4]
    assert log["kept"].tolist() == [False, False, False, True]  # no validation: the last
    assert log["steps"].tolist() == [steps_per_epoch * e for e in (1, 2, 3, 4)]
    assert log["learning_rate"].iloc[-1] == pytest.approx(
        SETTINGS.learning_rate * SETTINGS.final_lr_ratio
    )
    saved = torch.load(tmp_path / "a" / "model.pt", weights_only=True)
    assert saved["settings"] == dataclasses.asdict(SETTINGS)


def test_init_weights_are_loaded_before_the_first_step(tmp_path):
    init_model = fresh_model(seed=123)
    init_path = tmp_path / "init.pt"
    torch.save({"state_dict": init_model.state_dict()}, init_path)

    model = fresh_model(seed=0)
    own = {k: v.clone() for k, v in model.state_dict().items()}
    train(model, ToyData(), SETTINGS, tmp_path / "run", init_weights=init_path)
    seen = model.model.first_forward_state
    assert seen is not None
    expected = {k.removeprefix("model."): v for k, v in init_model.state_dict().items()}
    assert_same_state(seen, expected)
    assert not torch.equal(seen["net.1.weight"].cpu(), own["model.net.1.weight"])


def test_predict_keeps_dataset_order():
    class Indexed(Dataset):
        """Item i holds i on haplotype 1 and i + 0.5 on haplotype 2."""

        def __len__(self) -> int:
            return 7

        def __getitem__(self, i: int):
            x = torch.stack([torch.full((LENGTH, 4), float(i)), torch.full((LENGTH, 4), i + 0.5)])
            return x, torch.tensor(float("nan"))

    class FirstValue(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x[:, 0, 0]

    values = predict(HaplotypeAverage(FirstValue()), Indexed(), batch_size=3, device="cpu")
    np.testing.assert_allclose(values, np.arange(7) + 0.25)


def test_predict_sets_eval_mode():
    torch.manual_seed(0)
    model = fresh_model()  # in training mode, as nn.Modules start
    data = ToyData()
    first = predict(model, data, batch_size=4, device="cpu")
    second = predict(model, data, batch_size=3, device="cpu")
    # Dropout off, so batching changes only which float32 kernels run (batch shape picks
    # them, as do threads and the CPU's instruction set): ~1e-7 apart, not bit-equal.
    # Dropout left on (p = 0.2) would move predictions of ~0.1-1 by ~0.1.
    np.testing.assert_allclose(first, second, rtol=1e-5, atol=1e-6)
    assert not model.training
    assert first.shape == (len(data),)


def scripted_validation(scores):
    """A validation whose score per epoch follows ``scores``; records the weights it saw."""
    seen = []

    def score(predictions: np.ndarray) -> float:
        seen.append(predictions.copy())
        return scores[len(seen) - 1]

    return Validation(ToyData(n=6, seed=3), score), seen


def test_best_validation_epoch_is_kept(tmp_path):
    validation, seen = scripted_validation([0.1, 0.5, 0.2, 0.3])
    train(fresh_model(), ToyData(), SETTINGS, tmp_path / "v", validation=validation)
    log = pd.read_csv(tmp_path / "v" / "train_log.tsv", sep="\t")
    assert log["valid_score"].tolist() == [0.1, 0.5, 0.2, 0.3]
    assert log["kept"].tolist() == [False, True, False, False]
    # the written model predicts what epoch 2's model predicted on the validation set
    model = fresh_model()
    model.load_state_dict(final_state(tmp_path / "v"))
    again = predict(
        model, validation.dataset, 4, SETTINGS.device, mixed_precision=SETTINGS.mixed_precision
    )
    # same weights, data and batch shape: equal up to rounding; another epoch's weights
    # differ by far more (the next line)
    np.testing.assert_allclose(again, seen[1], rtol=1e-6)
    assert not np.allclose(again, seen[3])


def test_early_stopping_ends_training(tmp_path):
    validation, _ = scripted_validation([0.5, 0.1, 0.1, 0.9])
    settings = dataclasses.replace(SETTINGS, early_stopping_patience=2)
    train(fresh_model(), ToyData(), settings, tmp_path / "e", validation=validation)
    log = pd.read_csv(tmp_path / "e" / "train_log.tsv", sep="\t")
    assert log["epoch"].tolist() == [1, 2, 3]  # epochs 2 and 3 did not beat epoch 1
    assert log["kept"].tolist() == [True, False, False]


def test_gradient_accumulation_steps_the_optimiser_less_often(tmp_path):
    settings = dataclasses.replace(SETTINGS, gradient_accumulation=2)
    train(fresh_model(), ToyData(n=16), settings, tmp_path / "g")
    log = pd.read_csv(tmp_path / "g" / "train_log.tsv", sep="\t")
    assert log["steps"].tolist() == [2, 4, 6, 8]  # 4 batches per epoch, 2 per step
