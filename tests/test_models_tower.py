"""Tests for haplexpr.models.tower: the seed's CNN tower on gLM embeddings and its window attention
pool."""

from __future__ import annotations

import pytest
import torch

from haplexpr.models.tower import TowerHead, WindowAttentionPool


@pytest.mark.parametrize("length", [64, 342, 2048])
@pytest.mark.parametrize("dim", [16, 64])
def test_tower_shapes_and_backward(length, dim):
    tower = TowerHead(dim).train()
    x = torch.randn(4, length, dim, requires_grad=True)
    y = tower(x)
    assert y.shape == (4,)
    y.sum().backward()
    assert x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in tower.parameters())


def test_tower_projection_and_geometry():
    tower = TowerHead(
        64,
        channels=16,
        kernels_strides=[[8, 4], [4, 2]],
        pool_sizes=[2, 1],
        hidden=32,
        mlp_hidden=8,
    )
    assert tower(torch.randn(2, 342, 64)).shape == (2,)
    assert TowerHead(8).receptive_field == (1864, 1024)
    assert tower.receptive_field == (8 + 4 + 3 * 8, 16)
    tower.eval()
    assert tower(torch.randn(1, 5, 64)).shape == (1,)  # short input in eval, batch of one


def test_window_attention_pool_masks_ragged_window():
    pool = WindowAttentionPool(2, pool_size=3)
    x = torch.arange(14, dtype=torch.float32).view(1, 2, 7) - 100  # all negative
    out = pool(x)
    assert out.shape == (1, 2, 3)
    torch.testing.assert_close(out[..., 2], x[..., 6])  # padding never wins the softmax
