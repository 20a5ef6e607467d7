"""Wrappers around a per-sequence model: haplotype averaging and reverse-complement averaging.

The seed runs each of an individual's two haplotypes through the model and averages the
predictions; S2F models may also average over both strands (``rc_average``).
"""

from __future__ import annotations

import torch
from torch import nn


class HaplotypeAverage(nn.Module):
    """Runs a per-sequence model on each haplotype separately and averages the predictions."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: (batch, haplotypes, ...) -> (batch,)."""
        batch, haplotypes = x.shape[:2]
        return self.model(x.flatten(0, 1)).view(batch, haplotypes).mean(dim=1)


class ReverseComplementAverage(nn.Module):
    """Averages a one-hot model's predictions on a sequence and its reverse complement.

    With ACGT columns, reversing both the position and the base axis is the reverse
    complement (A<->T, C<->G), so no sequence is re-encoded.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: (batch, length, 4) one-hot -> (batch,)."""
        return (self.model(x) + self.model(x.flip(dims=(1, 2)))) / 2
