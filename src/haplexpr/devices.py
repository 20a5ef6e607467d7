"""The torch device a job runs on, shared by the stages that run models.

Embeddings, training, predictions and effects all take a config's ``device``; it is
resolved here once so no stage imports another's module for it.
"""

from __future__ import annotations

import torch


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present, else the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)
