"""The workload's parameters (its cache key); standard library only, as the workers need."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Params:
    """What the synthetic workload is made of (its cache key)."""

    contig_mb: float = 20.0
    samples: int = 400
    windows: int = 200
    window_length: int = 49_152
    spacing: int = 250  # mean bp per variant record
    indel_fraction: float = 0.12
    seed: int = 1
