"""A toy training problem: a tiny per-sequence model, seeded data and the shared settings.

The training loop's tests (loop, optimisation, resume, batches) train on these; a dataset can
raise ``KeyboardInterrupt`` at a chosen read to simulate a kill. ``HAPLEXPR_TEST_DEVICE=cuda``
puts the runs on a GPU.
"""

from __future__ import annotations

import os

import torch
from torch import nn
from torch.utils.data import Dataset

from haplexpr.models.wrappers import HaplotypeAverage
from haplexpr.training.settings import TrainingSettings

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
