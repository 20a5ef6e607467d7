"""Random DNA for model tests: the same seeded sequences in every test module."""

from __future__ import annotations

import random

import numpy as np
import torch

from haplexpr.sequence_encoding import one_hot


def random_dna(length: int, seed: int = 0) -> str:
    """``length`` bases drawn uniformly from ACGT with ``seed``."""
    rng = random.Random(seed)
    return "".join(rng.choice("ACGT") for _ in range(length))


def one_hot_batch(batch: int, length: int, seed: int = 0) -> torch.Tensor:
    """``batch`` one-hot random sequences (seeds ``seed``, ``seed`` + 1, ...)."""
    return torch.from_numpy(np.stack([one_hot(random_dna(length, seed + i)) for i in range(batch)]))


def seed_nt_input(seq: str) -> str:
    """The seed's NT input: every base not in its canonical list dropped (``nonCan = ""``)."""
    return "".join(base for base in seq if base in ("A", "C", "G", "T"))
