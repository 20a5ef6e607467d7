"""Tests for haplexpr.models.precision: under bfloat16 autocast the trunk runs in bfloat16 and
every regression output in float32."""

from __future__ import annotations

import pytest
import torch
from support.dna import one_hot_batch
from support.tiny_borzoi import BORZOI_LENGTH, HEADLESS_BORZOI, NARROW, tiny_borzoi

from haplexpr.models.enformer import TINY_ENFORMER, EnformerModel
from haplexpr.models.tower import TowerHead


@pytest.mark.parametrize("architecture", ["enformer", "borzoi"])
def test_s2f_output_head_runs_in_float32_under_bfloat16_autocast(architecture):
    """bfloat16 would round a log-TPM-sized output to steps of ~0.03: the head stays float32."""
    if architecture == "enformer":
        model = EnformerModel.from_config({"tiny": TINY_ENFORMER, "input_length": 2048})
        x = one_hot_batch(4, 2048)
    else:
        model = tiny_borzoi(tiny={**HEADLESS_BORZOI, "conv_widths": NARROW})
        x = one_hot_batch(4, BORZOI_LENGTH)
    model.eval().linear.bias.data.fill_(5.0)  # a gene's mean log TPM
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        emb = model.central(model.embeddings(x))
        y = model(x)
    assert emb.dtype == torch.bfloat16 and y.dtype == torch.float32
    with torch.no_grad():
        expected = model.linear(model.pool(emb.float())).squeeze(-1)
    torch.testing.assert_close(y, expected)
    assert not torch.equal(y, y.bfloat16().float())  # finer than bfloat16 can hold


def test_tower_output_runs_in_float32_under_bfloat16_autocast():
    tower = TowerHead(16).eval()
    tower.mlp[-1].bias.data.fill_(5.0)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        y = tower(torch.randn(4, 64, 16))
    assert y.dtype == torch.float32 and not torch.equal(y, y.bfloat16().float())
