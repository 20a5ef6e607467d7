"""Tests for haplexpr.training.batches: one gene per batch, every example once, seeded."""

from __future__ import annotations

import dataclasses

import torch
from support.toy_training import (
    SETTINGS,
    Tiny,
    ToyData,
)

from haplexpr.models.wrappers import HaplotypeAverage
from haplexpr.study.design import Example
from haplexpr.training.batches import GeneBatches
from haplexpr.training.loop import train


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
