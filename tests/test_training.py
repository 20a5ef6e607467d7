"""The shared training loop: loss, schedule, seeds, checkpoints, resume and prediction.

On the CPU by default; ``HAPLEXPR_TEST_DEVICE=cuda`` runs the training runs (determinism,
resume after a kill, mixed precision) on a GPU.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os

import numpy as np
import pandas as pd
import pytest
import torch
from support import ROOT
from torch import nn
from torch.optim.optimizer import register_optimizer_step_pre_hook
from torch.utils.data import Dataset

from haplexpr.models.wrappers import HaplotypeAverage
from haplexpr.study.design import Example
from haplexpr.training.batches import GeneBatches
from haplexpr.training.loop import (
    LOG_COLUMNS,
    TrainingSettings,
    Validation,
    combined_loss,
    predict,
    train,
)
from haplexpr.training.optimisation import lr_gpu_factor, warmup_cosine
from haplexpr.training.runs import gene_centred

HAPLOTYPES, LENGTH = 2, 8
SETTINGS = TrainingSettings(
    learning_rate=0.02,
    batch_size=4,
    epochs=4,
    warmup_fraction=0.25,
    final_lr_ratio=0.1,
    pairwise_alpha=0.3,
    seed=7,
    device=os.environ.get("HAPLEXPR_TEST_DEVICE", "cpu"),
)


def huber(d: float) -> float:
    """Huber loss with delta 1 (= SmoothL1 with beta 1, the seed's loss)."""
    return 0.5 * d * d if abs(d) < 1 else abs(d) - 0.5


class ToyData(Dataset):
    """Items ``(H, L, 4)`` float tensors with a scalar target; optionally fails on a read."""

    def __init__(self, n: int = 10, seed: int = 0, fail_at_read: int | None = None):
        generator = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, HAPLOTYPES, LENGTH, 4, generator=generator)
        self.y = self.x[:, :, :2].sum(dim=(1, 2, 3)) + 0.1 * torch.randn(n, generator=generator)
        self.reads = 0
        self.fail_at_read = fail_at_read

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index: int):
        self.reads += 1
        if self.reads == self.fail_at_read:
            raise KeyboardInterrupt("simulated kill")
        return self.x[index], self.y[index]


class Tiny(nn.Module):
    """Per-sequence model (L, 4) -> scalar, with dropout so the global RNG matters."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(LENGTH * 4, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 1)
        )
        self.first_forward_state: dict[str, torch.Tensor] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.first_forward_state is None:
            self.first_forward_state = {k: v.detach().clone() for k, v in self.state_dict().items()}
        return self.net(x).squeeze(-1)


def fresh_model(seed: int = 0) -> HaplotypeAverage:
    torch.manual_seed(seed)
    return HaplotypeAverage(Tiny())


def assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key].cpu(), b[key].cpu()), key


def final_state(out_dir) -> dict:
    return torch.load(out_dir / "model.pt", map_location="cpu", weights_only=True)["state_dict"]


# --------------------------------------------------------------------------- loss and schedule


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


def test_haplotype_average_averages_each_haplotype():
    torch.manual_seed(0)
    inner = nn.Sequential(nn.Flatten(), nn.Linear(LENGTH * 4, 1), nn.Flatten(0))
    x = torch.randn(3, HAPLOTYPES, LENGTH, 4)
    expected = (inner(x[:, 0]) + inner(x[:, 1])) / 2
    got = HaplotypeAverage(inner)(x)
    assert got.shape == (3,)
    torch.testing.assert_close(got, expected)
    # One haplotype (the reference): the model's own output.
    torch.testing.assert_close(HaplotypeAverage(inner)(x[:, :1]), inner(x[:, 0]))


# --------------------------------------------------------------------------- train()


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


# --------------------------------------------------------------------------- settings


def test_settings_from_config_and_reference_alpha():
    knobs = {
        "learning_rate": 1e-3,
        "batch_size": 8,
        "epochs": 3,
        "warmup_fraction": 0.1,
        "final_lr_ratio": 0.1,
        "pairwise_alpha": 0.3,
    }
    config = {"training": {"seed": 5, "device": "cpu", "s2f": knobs, "tower": knobs}}
    individual = TrainingSettings.from_config(config, "s2f", "p")
    assert individual.pairwise_alpha == 0.3 and individual.seed == 5
    assert individual.device == "cpu"
    assert TrainingSettings.from_config(config, "tower", "r").pairwise_alpha == 0.0
    assert TrainingSettings.from_config(config, "tower", "rp").pairwise_alpha == 0.3
    grouped = {"training": {**config["training"], "s2f": {**knobs, "batches": "by_gene"}}}
    assert TrainingSettings.from_config(grouped, "s2f", "p").batches == "by_gene"
    assert TrainingSettings.from_config(grouped, "s2f", "r").batches == "shuffled"
    centred = {"training": {**config["training"], "s2f": {**knobs, "target": "gene_centred"}}}
    assert TrainingSettings.from_config(centred, "s2f", "rp").target == "gene_centred"
    assert TrainingSettings.from_config(centred, "s2f", "r").target == "raw"  # one per gene
    assert TrainingSettings.from_config(config, "s2f", "p").target == "raw"  # the seed's
    own = {"training": {"epochs": 1, "learning_rate": 1e-5}}
    tuned = TrainingSettings.from_config(config, "s2f", "p", own)
    assert (tuned.epochs, tuned.learning_rate, tuned.batch_size) == (1, 1e-5, 8)


def test_gene_centred_targets_subtract_each_genes_training_mean():
    train_set = [Example("a", "g1", 5.0), Example("b", "g1", 7.0), Example("a", "g2", 1.0)]
    held_out = [Example("c", "g1", 8.0), Example("c", "g2", 0.5)]
    centred, valid = gene_centred(train_set, held_out)
    assert [e.target for e in centred] == [-1.0, 1.0, 0.0]
    # validation individuals are centred by the training mean, not their own
    assert [e.target for e in valid] == [2.0, -0.5]
    assert [(e.individual, e.gene) for e in centred + valid] == [
        (e.individual, e.gene) for e in train_set + held_out
    ]


# --------------------------------------------------------------------------- validation


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


def test_split_validation_holds_out_individuals_or_genes():

    from haplexpr.config import load_config
    from haplexpr.study.design import Study

    study = Study.from_config(load_config(ROOT / "config.yaml"), ROOT)
    train_p, valid_p = study.split_validation("p", 0.15, seed=0)
    held = {e.individual for e in valid_p}
    assert len(held) == 4 and not held & {e.individual for e in train_p}
    assert len(train_p) + len(valid_p) == len(study.training_examples("p"))
    train_r, valid_r = study.split_validation("r", 0.15, seed=0)
    assert {e.individual for e in valid_r} == {"reference"}
    assert not {e.gene for e in valid_r} & {e.gene for e in train_r}
    assert study.split_validation("p", 0.0, seed=0) == (study.training_examples("p"), [])


def test_reverse_complement_average_is_strand_symmetric():
    from haplexpr.models.wrappers import ReverseComplementAverage
    from haplexpr.sequence_encoding import one_hot, reverse_complement

    torch.manual_seed(0)
    model = ReverseComplementAverage(nn.Sequential(nn.Flatten(), nn.Linear(LENGTH * 4, 1)))
    seq = "ACGTTGCA"[:LENGTH]
    x = torch.from_numpy(one_hot(seq))[None]
    rc = torch.from_numpy(one_hot(reverse_complement(seq)))[None]
    assert torch.equal(x.flip(dims=(1, 2)), rc)  # the flip is the reverse complement
    torch.testing.assert_close(model(x), model(rc))
    inner = model.model
    torch.testing.assert_close(model(x), (inner(x) + inner(rc)) / 2)


def test_validation_score_is_within_gene_r_or_across_gene_r():
    from haplexpr.training.runs import validation_score

    people = [Example(i, g, t) for i, g, t in [("a", "g1", 1), ("b", "g1", 2), ("a", "g2", 10),
                                               ("b", "g2", 12)]]  # fmt: skip
    # gene means differ wildly; only the within-gene ordering counts
    assert validation_score(people, np.array([0.0, 1.0, 5.0, 6.0])) == pytest.approx(0.9486833)
    assert validation_score(people, np.array([1.0, 0.0, 6.0, 5.0])) == pytest.approx(-0.9486833)
    reference = [Example("reference", g, t) for g, t in [("g1", 1), ("g2", 2), ("g3", 5)]]
    assert validation_score(reference, np.array([1.0, 2.0, 5.0])) == pytest.approx(1.0)


# --------------------------------------------------------------------------- batches


def test_gene_batches_hold_one_gene_each_and_cover_every_example_once():
    genes = ["g1"] * 5 + ["g2"] * 3 + ["g3"] * 8 + ["g1"] * 2
    sampler = GeneBatches(genes, batch_size=3, generator=torch.Generator().manual_seed(0))
    batches = list(sampler)
    assert len(batches) == len(sampler) == 3 + 1 + 3
    assert sorted(i for b in batches for i in b) == list(range(len(genes)))
    assert all(len({genes[i] for i in b}) == 1 and len(b) <= 3 for b in batches)
    again = list(GeneBatches(genes, 3, torch.Generator().manual_seed(0)))
    other = list(GeneBatches(genes, 3, torch.Generator().manual_seed(1)))
    assert again == batches and other != batches


def test_training_with_gene_batches_runs_and_is_deterministic(tmp_path):
    data = ToyData(n=12, seed=4)
    data.examples = [Example(f"i{k % 4}", f"g{k % 3}", 0.0) for k in range(12)]
    settings = dataclasses.replace(SETTINGS, batches="by_gene", batch_size=4)
    weights = []
    for run in ("a", "b"):
        torch.manual_seed(0)
        model = HaplotypeAverage(Tiny())
        train(model, data, settings, tmp_path / run)
        weights.append(torch.load(tmp_path / run / "model.pt", weights_only=True)["state_dict"])
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
