"""A small training run, alone or as one rank under torchrun (gloo): ``python THIS OUT_DIR``.

``tests/test_training_distributed.py`` runs it with one process and with two and compares
what they write (``model.pt``, ``train_log.tsv``). ``--kill-after-epoch N`` ends the job
the moment rank 0 has written epoch N's checkpoint, as a scheduler's kill would.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from haplexpr.models.wrappers import HaplotypeAverage
from haplexpr.study.design import Example
from haplexpr.training import distributed, loop, resume
from haplexpr.training.settings import TrainingSettings

HAPLOTYPES, LENGTH = 2, 6


class GeneData(Dataset):
    """``n`` examples over ``genes`` genes (uneven), items ``(H, L, 4)`` with a scalar target."""

    def __init__(self, n: int, genes: int, seed: int):
        generator = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, HAPLOTYPES, LENGTH, 4, generator=generator)
        self.y = self.x[:, :, :2].sum(dim=(1, 2, 3)) + 0.1 * torch.randn(n, generator=generator)
        self.examples = [
            Example(f"i{i}", f"g{(i * i) % genes}", float(y)) for i, y in enumerate(self.y)
        ]

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index: int):
        return self.x[index], self.y[index]


def per_sequence_model() -> nn.Module:
    """(L, 4) -> scalar; no dropout or BatchNorm, so one and two ranks can agree."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(LENGTH * 4, 8), nn.Tanh(), nn.Linear(8, 1))


def negative_mse(targets: np.ndarray, predictions: np.ndarray) -> float:
    """Validation score, higher is better."""
    return -float(np.mean((predictions - targets) ** 2))


def main() -> None:
    """Train once; join torchrun's process group when started by it."""
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--batches", default="shuffled")
    parser.add_argument("--batch-size", type=int, default=5)
    parser.add_argument("--batch-size-per", default="job")
    parser.add_argument("--kill-after-epoch", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if "WORLD_SIZE" in os.environ:
        distributed.start("cpu")
    settings = TrainingSettings(
        learning_rate=0.02,
        batch_size=args.batch_size,
        epochs=4,
        warmup_fraction=0.25,
        final_lr_ratio=0.1,
        pairwise_alpha=0.3,
        gradient_accumulation=2,
        seed=3,
        device="cpu",
        batches=args.batches,
        batch_size_per=args.batch_size_per,
    )
    held_out = GeneData(7, 3, seed=2)
    validation = loop.Validation(held_out, lambda p: negative_mse(held_out.y.numpy(), p))
    if args.kill_after_epoch:
        save = resume.save_checkpoint

        def save_then_die(path, fingerprint, progress, *rest):
            save(path, fingerprint, progress, *rest)
            if progress.epoch == args.kill_after_epoch:
                os._exit(9)  # every rank: as SIGKILL, no clean-up

        resume.save_checkpoint = save_then_die
    model = HaplotypeAverage(per_sequence_model())
    loop.train(model, GeneData(23, 4, seed=1), settings, args.out_dir, validation=validation)


if __name__ == "__main__":
    main()
