"""A stand-in gLM for tests that need real embedding shards without a real model."""

from __future__ import annotations

import numpy as np

from support.haplotype_stores import hand_one_hot


class OneHotEmbedder:
    """A stand-in gLM: each window's one-hot bases (T = L, D = 4); records its batch sizes."""

    embedding_dim = 4

    def __init__(self, fail_on_batch: int | None = None):
        self.batches: list[int] = []
        self.fail_on_batch = fail_on_batch

    @staticmethod
    def bases_per_position(length: int) -> np.ndarray:
        return np.ones(length, dtype=np.int64)

    def embed(self, seqs):
        if len(self.batches) == self.fail_on_batch:
            raise RuntimeError("CUDA out of memory")
        self.batches.append(len(seqs))
        return np.stack([hand_one_hot(s) for s in seqs])
