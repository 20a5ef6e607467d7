"""Tests for haplexpr.models.s2f: the seed's attention pool over bins and the head's settings
checked by name (on a tiny Enformer)."""

from __future__ import annotations

import pytest
import torch

from haplexpr.models.enformer import TINY_ENFORMER, EnformerModel
from haplexpr.models.s2f import BinAttentionPool

#: A tiny Enformer with a 16-track output head: 2,048 bp make 16 bins of 128 bp.
TRACKED = {"tiny": {**TINY_ENFORMER, "output_heads": {"human": 16}}, "input_length": 2048}


def test_scalar_pool_weights_every_dimension_of_a_bin_alike():
    """The seed's AttentionPool2: one logit per bin, softmax over the bins."""
    pool = BinAttentionPool(2)
    with torch.no_grad():
        pool.to_logits.weight.copy_(torch.tensor([[1.0, 0.0]]))  # logit = first dimension
        pool.to_logits.bias.zero_()
    x = torch.tensor([[[0.0, 10.0], [1.0, 20.0], [2.0, 30.0]]])  # (1 sequence, 3 bins, 2)
    weights = torch.tensor([0.0, 1.0, 2.0]).softmax(dim=0)
    expected = (weights[:, None] * x[0]).sum(dim=0)
    torch.testing.assert_close(pool(x), expected[None])


def test_per_dim_pool_gives_each_dimension_its_own_softmax():
    pool = BinAttentionPool(2, per_dim=True)
    with torch.no_grad():
        pool.to_logits.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, -1.0]]))
        pool.to_logits.bias.zero_()
    x = torch.tensor([[[0.0, 10.0], [1.0, 20.0], [2.0, 30.0]]])
    first = (torch.tensor([0.0, 1.0, 2.0]).softmax(dim=0) * x[0, :, 0]).sum()
    second = (torch.tensor([-10.0, -20.0, -30.0]).softmax(dim=0) * x[0, :, 1]).sum()
    torch.testing.assert_close(pool(x), torch.stack([first, second])[None])


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"center_bins": 17}, "EnformerModel: center_bins must be in 1..16, got 17"),
        ({"center_bins": 0}, "EnformerModel: center_bins must be in 1..16, got 0"),
        ({"head": "mean"}, "head must be one of ('attention_pool', 'track'), got 'mean'"),
        ({"pool_logits": "vector"}, "pool_logits must be one of ('scalar', 'per_dim')"),
        ({"head": "track", "track_index": 16}, "track_index 16 outside 0..15"),
    ],
)
def test_head_settings_out_of_range_are_refused_by_name(keys, message):
    with pytest.raises(ValueError) as error:
        EnformerModel.from_config({**TRACKED, **keys})
    assert message in str(error.value)
