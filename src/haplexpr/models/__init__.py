"""Sequence models: S2F models fine-tuned end to end and frozen gLM feature extractors.

Submodules are imported lazily so that loading one model family does not pay for the
imports (enformer-pytorch, borzoi-pytorch, transformers) of the others.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "BorzoiModel": "haplexpr.models.borzoi",
    "EnformerModel": "haplexpr.models.enformer",
    "NucleotideTransformerEmbedder": "haplexpr.models.nucleotide_transformer",
    "S2FModel": "haplexpr.models.s2f",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    """Import a model class on first access."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
