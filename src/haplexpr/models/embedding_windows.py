"""How one TSS window becomes a gLM's stored embedding: tiles, then bins of bases.

A window can be longer than one forward pass of a model (NT v2 reads at most 12,282 bases;
the seed's gLM windows are 64 kb). It is cut into tiles of ``context`` bases every
``stride`` bases, the last tile ending at the window's end, and each tile is embedded on
its own. Every model position covers known bases of the window (a base for Caduceus and
Evo2, a 6-mer for NT, see each embedder's ``bases_per_position``), so the tiles' states are
put back base by base, averaged where tiles overlap, and pooled:

- ``region: window`` keeps the whole window, ``region: tss`` only the ``tss_window`` bases
  centred on the TSS (the window's centre, where ``model_input`` puts it);
- the kept bases are averaged in consecutive bins of ``bin_size`` bases from the region's
  start (``bin_size: 1`` keeps every base; 6 gives NT's native resolution; a last,
  shorter bin averages what is left).

The stored array holds ``positions`` rows per haplotype, whatever the model's tokens.
A state that belongs to no base (NT's ``<cls>`` with ``keep_cls: true``, the seed's first
tower position) is stored ahead of them as ``leading_states`` rows; it is never binned, and
with several tiles it is the mean of the tiles' states (the seed reads NT in one pass).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from haplexpr.errors import ConfigError
from haplexpr.models import registry
from haplexpr.models.settings import GLMSettings


class Embedder(Protocol):
    """What a frozen gLM offers (``haplexpr.models``: NT v2, Caduceus, Evo2)."""

    embedding_dim: int
    # Optionally ``leading_states``: rows ahead of the base positions in ``embed``'s output
    # (NT's ``<cls>`` with keep_cls: 1; absent: 0).

    def embed(self, seqs: Sequence[str]) -> np.ndarray:
        """States ``(B, T, D)`` of equal-length sequences."""

    def bases_per_position(self, length: int) -> np.ndarray:
        """Bases each of the T positions of a ``length``-base input covers (sums to length)."""


@dataclass(frozen=True)
class EmbeddingWindows:
    """Tiling and pooling of ``input_length``-base windows (:meth:`from_config` checks them)."""

    input_length: int
    context: int
    stride: int
    region: str = "window"
    tss_window: int | None = None
    bin_size: int = 1
    leading_states: int = 0

    @classmethod
    def from_config(cls, where: str, model: Mapping[str, Any]) -> EmbeddingWindows:
        """The windows of the gLM config entry ``where`` (``models.<name>``), checked."""
        return cls.from_settings(where, registry.settings(model, where))

    @classmethod
    def from_settings(cls, where: str, settings: GLMSettings) -> EmbeddingWindows:
        """The windows a gLM's settings describe; errors name the key under ``where``."""
        context = settings.context or settings.input_length
        windows = cls(
            input_length=settings.input_length,
            context=context,
            stride=settings.stride or context,
            region=settings.pooling.region,
            tss_window=settings.pooling.tss_window,
            bin_size=settings.pooling.bin_size,
            leading_states=settings.leading_states,
        )
        windows.check(where)
        return windows

    def check(self, where: str) -> None:
        """Raise ConfigError unless the tiles cover the window and the region fits in it."""
        if not 1 <= self.context <= self.input_length:
            raise ConfigError(
                f"{where}.context ({self.context}) must be between 1 and input_length"
                f" ({self.input_length})"
            )
        if not 1 <= self.stride <= self.context:
            raise ConfigError(
                f"{where}.stride ({self.stride}) must be between 1 and context ({self.context})"
                " so that the tiles leave no base out"
            )
        if self.region not in ("window", "tss"):
            raise ConfigError(f"{where}.pooling.region must be window or tss, not {self.region!r}")
        if self.region == "tss" and not (
            self.tss_window is not None and 1 <= self.tss_window <= self.input_length
        ):
            raise ConfigError(
                f"{where}.pooling.tss_window must be between 1 and input_length"
                f" ({self.input_length}) with region: tss, got {self.tss_window}"
            )
        if self.bin_size < 1:
            raise ConfigError(f"{where}.pooling.bin_size must be >= 1, got {self.bin_size}")

    def check_model(self, where: str, max_bases: int | None) -> None:
        """Raise ConfigError if a tile is longer than the model reads in one pass."""
        if max_bases is not None and self.context > max_bases:
            raise ConfigError(
                f"{where}: tiles of {self.context:,} bases exceed the model's {max_bases:,} per"
                " forward pass; set context (and stride) to tile the window"
            )

    @property
    def span(self) -> tuple[int, int]:
        """The kept bases ``[start, end)`` of the window."""
        if self.region == "window":
            return 0, self.input_length
        start = self.input_length // 2 - self.tss_window // 2
        return start, start + self.tss_window

    @property
    def positions(self) -> int:
        """Rows stored per haplotype: the leading states, then the bins of bases."""
        start, end = self.span
        return self.leading_states + math.ceil((end - start) / self.bin_size)

    @property
    def tile_starts(self) -> list[int]:
        """Starts of the tiles overlapping the kept span; the last one ends at the window's end."""
        last = self.input_length - self.context
        starts = list(range(0, last, self.stride)) + [last]
        start, end = self.span
        return [s for s in starts if s < end and s + self.context > start]

    def embed(self, embedder: Embedder, seqs: Sequence[str]) -> np.ndarray:
        """Pooled states ``(B, positions, D)`` float32 of ``input_length``-base sequences."""
        if any(len(s) != self.input_length for s in seqs):
            raise ValueError(f"every sequence must have {self.input_length} bases")
        if getattr(embedder, "leading_states", 0) != self.leading_states:
            raise ValueError(
                f"the embedder returns {getattr(embedder, 'leading_states', 0)} leading states,"
                f" these windows store {self.leading_states}: build both from the same config"
            )
        tiles = (
            (tile, embedder.embed([s[tile : tile + self.context] for s in seqs]))
            for tile in self.tile_starts
        )
        return self._pool_tiles(tiles, embedder.bases_per_position(self.context))

    def pool(self, per_base: np.ndarray, leading: np.ndarray | None = None) -> np.ndarray:
        """Pooled states ``(B, positions, D)`` float32 of one state per base of whole windows.

        For states computed elsewhere in one pass over the window (the seed's precomputed
        embeddings): the same region and bins as :meth:`embed`; tiling does not apply.
        ``leading`` ``(B, leading_states, D)`` are the states stored ahead of the bases.
        """
        if per_base.ndim != 3 or per_base.shape[1] != self.input_length:
            raise ValueError(f"expected (B, {self.input_length}, D) states, got {per_base.shape}")
        lead = self.leading_states
        if lead and (leading is None or leading.shape[1] != lead):
            raise ValueError(f"these windows store {lead} leading states ahead of the bases")
        states = per_base if not lead else np.concatenate([leading, per_base], axis=1)
        one_pass = dataclasses.replace(self, context=self.input_length, stride=self.input_length)
        return one_pass._pool_tiles([(0, states)], np.ones(self.input_length, dtype=np.int64))

    def _pool_tiles(self, tiles: Iterable[tuple[int, np.ndarray]], spans: np.ndarray) -> np.ndarray:
        """Average ``(tile start, states (B, T, D))`` base by base, then over the kept bins.

        The first ``leading_states`` of each tile's states are averaged over the tiles.
        """
        lead = self.leading_states
        n_tiles = len(self.tile_starts)
        start, end = self.span
        bins = (np.arange(start, end) - start) // self.bin_size
        coverage = np.zeros(self.input_length)  # tiles over each base: overlaps average
        for tile in self.tile_starts:
            coverage[tile : tile + self.context] += 1
        sums = None
        for tile, states in tiles:
            if sums is None:
                sums = np.zeros((len(states), self.positions, states.shape[-1]), dtype=np.float64)
            sums[:, :lead] += states[:, :lead] / n_tiles
            states = states[:, lead:]
            per_base = states if np.all(spans == 1) else np.repeat(states, spans, axis=1)
            lo, hi = max(start, tile), min(end, tile + self.context)
            kept_bins = bins[lo - start : hi - start]
            first = np.flatnonzero(np.diff(kept_bins, prepend=-1))  # each bin's first base
            chunk = per_base[:, lo - tile : hi - tile] / coverage[None, lo:hi, None]
            sums[:, lead + kept_bins[first]] += np.add.reduceat(chunk, first, axis=1)
        sums[:, lead:] /= np.bincount(bins)[None, :, None]
        return sums.astype(np.float32)
