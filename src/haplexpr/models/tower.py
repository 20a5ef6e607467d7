"""The seed's convolutional tower that turns frozen gLM embeddings into one expression value.

Follows ``MultilayerCNN2`` in the seed (StatBiomed/gLM2X-Tower, ``run_models/models.py``),
which settles what the prose description leaves open:

* "kernel/stride 16/8, 8/4, 4/2, 3/2" belong to the *depthwise* convolution (padding
  ``(k - 1) // 2``), so that convolution is what downsamples;
* "attention pooling" in a block is Enformer's ``AttentionPool``: non-overlapping windows
  of 2 positions, per-channel softmax weights from a 1×1 convolution initialised to 2×
  identity (a soft max-pool). Blocks 1-3 pool by 2, block 4 does not (``pool_sizes``).
  Unlike Enformer's version, a ragged last window is padded by ``pool - remainder`` and
  masked, so pool sizes above 2 are handled correctly too.

Receptive field with the defaults: each position after the last block sees 1,864 input
positions, 1,024 apart (total downsampling 8·2·4·2·2·2·2 = 1,024); global average pooling
then covers the whole input. That is the full 11-kb NT window (≈1,835 tokens) but 1,864 bp
of a per-base 64-kb Evo2/Caduceus input. Inputs shorter than a kernel are zero-padded on
the right before that convolution so no stage reaches zero length (e.g. T = 64 or 342).
BatchNorm in training mode needs more than one value per channel: batch size > 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from haplexpr.models.precision import at_least_float32, float32_head

__all__ = ["DEFAULT_KERNELS_STRIDES", "TowerHead", "WindowAttentionPool"]

DEFAULT_KERNELS_STRIDES: tuple[tuple[int, int], ...] = ((16, 8), (8, 4), (4, 2), (3, 2))
DEFAULT_POOL_SIZES: tuple[int, ...] = (2, 2, 2, 1)


class WindowAttentionPool(nn.Module):
    """Enformer-style attention pooling over non-overlapping windows, per channel."""

    def __init__(self, channels: int, pool_size: int = 2):
        super().__init__()
        self.pool_size = pool_size
        self.to_logits = nn.Conv2d(channels, channels, 1, bias=False)
        nn.init.dirac_(self.to_logits.weight)
        with torch.no_grad():
            self.to_logits.weight.mul_(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pool ``(B, C, N)`` to ``(B, C, ceil(N / pool_size))``."""
        b, c, n = x.shape
        p = self.pool_size
        pad = -n % p
        x = F.pad(x, (0, pad))
        windows = x.view(b, c, -1, p)
        logits = self.to_logits(windows)
        if pad:
            masked = torch.zeros(n + pad, dtype=torch.bool, device=x.device)
            masked[n:] = True
            logits = logits.masked_fill(masked.view(1, 1, -1, p), torch.finfo(logits.dtype).min)
        return (windows * logits.softmax(dim=-1)).sum(dim=-1)


class _SeparableBlock(nn.Module):
    """Depthwise conv (downsamples) → BN → ReLU → pointwise conv → BN → ReLU → pooling."""

    def __init__(self, channels: int, kernel: int, stride: int, pool_size: int):
        super().__init__()
        self.kernel = kernel
        self.padding = (kernel - 1) // 2
        self.layers = nn.Sequential(
            nn.Conv1d(
                channels, channels, kernel, stride=stride, padding=self.padding, groups=channels
            ),
            nn.BatchNorm1d(channels),
            nn.ReLU(),
            nn.Conv1d(channels, channels, 1),
            nn.BatchNorm1d(channels),
            nn.ReLU(),
            WindowAttentionPool(channels, pool_size) if pool_size > 1 else nn.Identity(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block, zero-padding inputs too short for the kernel."""
        short = self.kernel - 2 * self.padding - x.shape[-1]
        if short > 0:
            x = F.pad(x, (0, short))
        return self.layers(x)


class TowerHead(nn.Module):
    """Map per-position embeddings ``(B, T, D)`` to one prediction per sequence ``(B,)``."""

    def __init__(
        self,
        in_dim: int,
        channels: int | None = None,
        kernels_strides: Sequence[Sequence[int]] = DEFAULT_KERNELS_STRIDES,
        hidden: int = 512,
        mlp_hidden: int = 258,
        dropout: float = 0.5,
        pool_sizes: Sequence[int] | None = None,
    ):
        super().__init__()
        channels = in_dim if channels is None else channels
        pools = DEFAULT_POOL_SIZES if pool_sizes is None else tuple(pool_sizes)
        if len(pools) != len(kernels_strides):
            raise ValueError("pool_sizes needs one entry per (kernel, stride) pair")
        # A 1×1 projection lets a wide input (4,096-d Evo2) run through a narrower tower.
        self.project = nn.Conv1d(in_dim, channels, 1) if channels != in_dim else nn.Identity()
        self.blocks = nn.Sequential(
            *(
                _SeparableBlock(channels, int(k), int(s), int(p))
                for (k, s), p in zip(kernels_strides, pools, strict=True)
            )
        )
        self.to_hidden = nn.Sequential(
            nn.Conv1d(channels, hidden, 1), nn.BatchNorm1d(hidden), nn.ReLU()
        )
        self.mlp = nn.Sequential(
            nn.Linear(hidden, mlp_hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(mlp_hidden, 1)
        )
        self.in_dim = in_dim
        self._geometry = [
            (int(k), int(s), int(p)) for (k, s), p in zip(kernels_strides, pools, strict=True)
        ]

    @property
    def receptive_field(self) -> tuple[int, int]:
        """(positions seen by one output of the last block, spacing between outputs)."""
        field, jump = 1, 1
        for kernel, stride, pool in self._geometry:
            field, jump = field + (kernel - 1) * jump, jump * stride
            field, jump = field + (pool - 1) * jump, jump * pool
        return field, jump

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict ``(B,)`` from embeddings ``(B, T, D)``."""
        if x.ndim != 3 or x.shape[-1] != self.in_dim:
            raise ValueError(f"expected (B, T, {self.in_dim}) embeddings, got {tuple(x.shape)}")
        h = self.blocks(self.project(x.transpose(1, 2)))
        h = self.to_hidden(h).mean(dim=-1)
        with float32_head(h):
            return self.mlp(at_least_float32(h)).squeeze(-1)
