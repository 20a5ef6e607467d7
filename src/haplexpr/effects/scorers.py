"""What effect scoring asks of a model: one prediction per model-input window.

A scorer maps ``input_length``-base windows (oriented, as ``HaplotypeStore.model_input``
gives them) to one value each, the per-haplotype prediction that ``HaplotypeAverage``
averages. S2F models read the windows one-hot; a gLM tower embeds them with its frozen gLM
first (the stored embeddings do not hold edited windows), rounded to float16 as the
stored ones are, so an unedited window scores what the run's predictions hold.
:class:`CountingScorer` runs each distinct window once and counts the forward passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch
from torch import nn

from haplexpr.devices import resolve_device
from haplexpr.models.embedding_windows import Embedder, EmbeddingWindows
from haplexpr.models.precision import mixed_precision_context
from haplexpr.sequence_encoding import one_hot


class Scorer(Protocol):
    """A trained model seen as windows in, one prediction per window out."""

    input_length: int

    def __call__(self, windows: Sequence[str]) -> np.ndarray:
        """Predictions ``(len(windows),)`` of ``input_length``-base windows."""


class S2FScorer:
    """A per-sequence S2F model (``HaplotypeAverage(...).model``) on one-hot windows."""

    def __init__(
        self,
        model: nn.Module,
        input_length: int,
        device: str = "auto",
        mixed_precision: bool = False,
    ):
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.input_length = input_length
        self.mixed_precision = mixed_precision

    @torch.inference_mode()
    def __call__(self, windows: Sequence[str]) -> np.ndarray:
        """Predictions of one batch of windows."""
        x = torch.from_numpy(np.stack([one_hot(w) for w in windows])).to(self.device)
        with mixed_precision_context(self.device, self.mixed_precision):
            return self.model(x).float().cpu().numpy()


class TowerScorer:
    """A tower head on a frozen gLM's pooled embeddings of the windows."""

    def __init__(
        self,
        embedder: Embedder,
        windows: EmbeddingWindows,
        tower: nn.Module,
        device: str = "auto",
        mixed_precision: bool = False,
    ):
        self.device = resolve_device(device)
        self.embedder = embedder
        self.windows = windows
        self.tower = tower.to(self.device).eval()
        self.input_length = windows.input_length
        self.mixed_precision = mixed_precision

    @torch.inference_mode()
    def __call__(self, windows: Sequence[str]) -> np.ndarray:
        """Predictions of one batch of windows (each embedded, then the tower)."""
        states = self.windows.embed(self.embedder, list(windows)).astype(np.float16)
        x = torch.from_numpy(states.astype(np.float32)).to(self.device)
        with mixed_precision_context(self.device, self.mixed_precision):
            return self.tower(x).float().cpu().numpy()


class ForwardPassLimitError(RuntimeError):
    """Scoring would need more forward passes than allowed; the message names the knob."""


class CountingScorer:
    """Runs each distinct window once, in batches, and counts forward passes (windows run).

    ``limit`` bounds the passes over this scorer's life: asking for more raises before
    the model runs, so a job never spends past what its resources were sized for.
    """

    def __init__(self, scorer: Scorer, batch_size: int, limit: int | None = None):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.scorer = scorer
        self.batch_size = batch_size
        self.limit = limit
        self.forward_passes = 0
        self.input_length = scorer.input_length

    def __call__(self, windows: Sequence[str]) -> np.ndarray:
        """Predictions of ``windows``; equal windows share one forward pass."""
        distinct = list(dict.fromkeys(windows))
        if self.limit is not None and self.forward_passes + len(distinct) > self.limit:
            raise ForwardPassLimitError(
                f"{len(distinct)} more forward passes after {self.forward_passes} exceed "
                f"the limit of {self.limit}; lower the variants per gene or individuals "
                "scored, or raise the forward-pass limit"
            )
        values: dict[str, float] = {}
        for lo in range(0, len(distinct), self.batch_size):
            chunk = distinct[lo : lo + self.batch_size]
            values.update(zip(chunk, map(float, self.scorer(chunk)), strict=True))
        self.forward_passes += len(distinct)
        return np.array([values[w] for w in windows])
