"""Which examples make each training batch: shuffled, or one gene per batch; seeded by epoch."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

if TYPE_CHECKING:
    from haplexpr.training.settings import TrainingSettings


class GeneBatches(Sampler):
    """Batches that each hold one gene's examples (different individuals), in random order.

    With ``batches: by_gene`` the pairwise-difference term compares individuals of one gene
    (the between-individual differences the study asks about) rather than genes' means.
    """

    def __init__(self, genes: list[str], batch_size: int, generator: torch.Generator):
        self.groups: dict[str, list[int]] = {}
        for index, gene in enumerate(genes):
            self.groups.setdefault(gene, []).append(index)
        self.batch_size = batch_size
        self.generator = generator

    def __len__(self) -> int:
        return sum(math.ceil(len(g) / self.batch_size) for g in self.groups.values())

    def __iter__(self):
        batches = []
        for indices in self.groups.values():
            order = torch.randperm(len(indices), generator=self.generator).tolist()
            shuffled = [indices[i] for i in order]
            batches += [
                shuffled[i : i + self.batch_size] for i in range(0, len(shuffled), self.batch_size)
            ]
        for b in torch.randperm(len(batches), generator=self.generator).tolist():
            yield batches[b]


def epoch_loader(
    dataset: Dataset, settings: TrainingSettings, epoch: int, world_size: int = 1
) -> DataLoader:
    """Global batches for one epoch: shuffled examples, or one gene per batch; seeded by epoch.

    Every rank draws the same batches; each runs its share (:func:`distributed.share`).
    """
    order = torch.Generator().manual_seed(settings.seed * 100_003 + epoch)
    batch_size = settings.global_batch(world_size)
    if settings.batches == "by_gene":
        genes = [example.gene for example in dataset.examples]
        return DataLoader(dataset, batch_sampler=GeneBatches(genes, batch_size, order))
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=order)
