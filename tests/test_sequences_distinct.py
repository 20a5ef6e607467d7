"""Distinct windows: each equal model input once, and predictions that share them."""

import numpy as np
import torch
from support.haplotype_stores import SHARED_INDIVIDUALS
from torch import nn

from haplexpr.models.wrappers import HaplotypeAverage
from haplexpr.predictions.runs import predict_distinct
from haplexpr.sequences.distinct import batches, distinct_windows
from haplexpr.study.design import Example
from haplexpr.training.datasets import SequenceDataset
from haplexpr.training.loop import predict
from haplexpr.training.settings import TrainingSettings

LENGTH = 64
GENES = ["gA", "gB"]


def test_distinct_windows_group_exactly_the_equal_inputs(shared_store):
    """Each gene's inputs once, in order of first appearance, with every haplotype that has it."""
    found = list(distinct_windows(shared_store, SHARED_INDIVIDUALS, GENES, LENGTH))
    expected = {}
    for gene in GENES:
        for individual in SHARED_INDIVIDUALS:
            for h in shared_store.haplotypes(individual, gene):
                sequence = shared_store.model_input(individual, gene, h, LENGTH)
                expected.setdefault((gene, sequence), []).append((individual, gene, h))
    assert [(w.items[0][1], w.sequence) for w in found] == list(expected)
    assert [list(w.items) for w in found] == list(expected.values())
    assert [len(w.items) for w in found] == [3, 1, 2, 1, 5, 2]  # SHARED_SNVS's design
    assert [len(b) for b in batches(found, 4)] == [4, 2]


class CountingConvNet(nn.Module):
    """A per-sequence model with BatchNorm (batch-dependent in training mode); counts inputs."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv1d(4, 6, 5), nn.BatchNorm1d(6), nn.ReLU())
        self.out = nn.Linear(6, 1)
        self.sequences = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.sequences += len(x)
        return self.out(self.net(x.transpose(1, 2)).mean(-1)).squeeze(-1)


def test_distinct_predictions_equal_every_haplotype_run(shared_store):
    """Each haplotype's own run, averaged, equals the shared-window predictions."""
    torch.manual_seed(0)
    model = HaplotypeAverage(CountingConvNet())
    model.train()(torch.randn(8, 2, LENGTH, 4))  # running statistics that are not 0 and 1
    examples = [Example(i, g, float("nan")) for i in SHARED_INDIVIDUALS for g in GENES]
    dataset = SequenceDataset(shared_store, examples, LENGTH)
    settings = TrainingSettings(
        learning_rate=1e-3, batch_size=2, epochs=1, warmup_fraction=0.0,
        final_lr_ratio=1.0, pairwise_alpha=0.0, device="cpu",
    )  # fmt: skip
    model.model.sequences = 0
    shared = predict_distinct(model, dataset, settings)
    assert model.model.sequences == 6 and not model.training
    one_by_one = np.concatenate(
        [predict(model, torch.utils.data.Subset(dataset, [n]), 1, "cpu") for n in range(8)]
    )
    assert model.model.sequences == 6 + 14
    assert np.ptp(one_by_one) > 0.01  # the examples are told apart
    np.testing.assert_allclose(shared, one_by_one, rtol=1e-6, atol=1e-7)
