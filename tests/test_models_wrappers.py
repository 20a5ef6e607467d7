"""Tests for haplexpr.models.wrappers: haplotype averaging and reverse-complement averaging."""

from __future__ import annotations

import torch
from support.toy_training import (
    HAPLOTYPES,
    LENGTH,
)
from torch import nn

from haplexpr.models.wrappers import HaplotypeAverage


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
