"""Torch datasets over the sequence store or the embedding shards.

Each item is one (individual, gene) with all its haplotypes stacked on the first axis,
so a model can run every haplotype separately and average them, as the seed does.
Haplotypes are rebuilt per item from the store's edits: no sequence is loaded whole.
Datasets take explicit file lists (the rule's inputs), never a directory to scan, so a
stale file from an earlier configuration can never leak in.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from haplexpr.embeddings.shards import open_shard
from haplexpr.sequence_encoding import one_hot
from haplexpr.sequences.store import HaplotypeStore
from haplexpr.study.design import Example


class SequenceDataset(Dataset):
    """One-hot haplotype windows (H, L, 4) centred on the TSS, in the gene's orientation."""

    def __init__(self, store: HaplotypeStore, examples: list[Example], input_length: int):
        self.store = store
        self.examples = examples
        self.input_length = input_length

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        example = self.examples[index]
        haplotypes = [
            one_hot(self.store.model_input(example.individual, example.gene, h, self.input_length))
            for h in self.store.haplotypes(example.individual, example.gene)
        ]
        return torch.from_numpy(np.stack(haplotypes)), torch.tensor(example.target)


class EmbeddingDataset(Dataset):
    """Frozen gLM embeddings (H, T, D) of each haplotype, memory-mapped from shard arrays."""

    def __init__(self, shard_arrays: list[str | Path], examples: list[Example]):
        self.examples = examples
        self._arrays = []
        self._rows: dict[tuple[str, str], list[tuple[int, int]]] = {}
        for number, path in enumerate(shard_arrays):
            array, items, rows = open_shard(path)
            self._arrays.append(array)
            for (individual, gene, _haplotype), row in zip(items, rows, strict=True):
                self._rows.setdefault((individual, gene), []).append((number, row))
        absent = [e for e in examples if (e.individual, e.gene) not in self._rows]
        if absent:
            raise KeyError(
                f"no embeddings for {len(absent)} items, e.g. {absent[0].individual}/"
                f"{absent[0].gene}; are all embedding shards listed?"
            )

    def __len__(self) -> int:
        return len(self.examples)

    @property
    def embedding_dim(self) -> int:
        """Feature dimension D of the stored embeddings."""
        return int(self._arrays[0].shape[-1])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        example = self.examples[index]
        rows = self._rows[(example.individual, example.gene)]
        features = np.stack([self._arrays[shard][row] for shard, row in rows]).astype(np.float32)
        return torch.from_numpy(features), torch.tensor(example.target)
