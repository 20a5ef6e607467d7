"""What every sequence-to-function (S2F) model shares: the seed's head and the track readout.

The seed study (StatBiomed/gLM2X-Tower, ``run_models/models.py``) puts the same head on
Enformer and Borzoi: trunk embeddings of the central ``center_bins`` bins (10) around the
TSS, attention pooling over those bins (``AttentionPool2``: one ``Linear(d, 1)`` logit per
bin, softmax over bins), then ``Linear(d, 1)``. ``pool_logits="scalar"`` reproduces that
pooling and is the default; ``"per_dim"`` gives every dimension its own softmax over bins
(``Linear(d, d)`` logits, as in Enformer's own ``AttentionPool``).

``head="track"`` is the zero-shot readout: ``log1p`` of the mean over the central bins of
one pretrained output track (softplus of the trunk's own output layer); it adds no
parameters. Windows are centred on the TSS, so the TSS base (index ``L // 2``) lies in bin
``n_bins // 2``, inside the central bins. ``finetune`` (:mod:`haplexpr.models.finetune`)
chooses what of the trunk trains under the trainable head: everything (the seed's),
nothing, or LoRA adapters.

A subclass wraps one trunk: it states its bin size and the input-length multiple its
down-sampling needs, loads the trunk in :meth:`S2FModel.load_trunk`, returns embeddings in
:meth:`S2FModel.trunk_embeddings` and exposes its output layers for the readout.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from haplexpr.models.finetune import FineTuning, parameter_counts
from haplexpr.models.precision import at_least_float32, float32_head
from haplexpr.models.settings import S2FSettings

__all__ = ["BinAttentionPool", "HEADS", "POOL_LOGITS", "S2FModel"]

log = logging.getLogger(__name__)

HEADS = ("attention_pool", "track")
POOL_LOGITS = ("scalar", "per_dim")


class BinAttentionPool(nn.Module):
    """Softmax-weighted sum over bins, so the head learns which bins near the TSS matter."""

    def __init__(self, dim: int, per_dim: bool = False):
        super().__init__()
        self.to_logits = nn.Linear(dim, dim if per_dim else 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pool ``(B, bins, D)`` to ``(B, D)``."""
        weights = self.to_logits(x).softmax(dim=1)
        return (weights * x).sum(dim=1)


class S2FModel(nn.Module, ABC):
    """A pretrained S2F trunk plus an expression head mapping one-hot ``(B, L, 4)`` to ``(B,)``."""

    #: The config keys it reads, their defaults (the zero-shot track among them).
    settings_class: ClassVar[type[S2FSettings]]
    #: Glob patterns of the trunk layers LoRA adapts when ``lora.target_modules`` is unset.
    default_lora_targets: ClassVar[tuple[str, ...]]

    def __init__(
        self,
        trunk: nn.Module,
        *,
        input_length: int,
        bin_size: int,
        length_multiple: int,
        embedding_dim: int,
        n_tracks: int | None,
        center_bins: int = 10,
        head: str = "attention_pool",
        track_index: int = 0,
        pool_logits: str = "scalar",
        gradient_checkpointing: bool = False,
    ):
        super().__init__()
        name = type(self).__name__
        if input_length <= 0 or input_length % length_multiple:
            raise ValueError(
                f"{name}: input_length {input_length} must be a positive multiple of "
                f"{length_multiple} bp (the trunk halves the length that often)"
            )
        n_bins = input_length // bin_size
        if not 0 < center_bins <= n_bins:
            raise ValueError(f"{name}: center_bins must be in 1..{n_bins}, got {center_bins}")
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {head!r}")
        if pool_logits not in POOL_LOGITS:
            raise ValueError(f"pool_logits must be one of {POOL_LOGITS}, got {pool_logits!r}")
        self.trunk = trunk
        self.input_length = input_length
        self.bin_size = bin_size
        self.n_bins = n_bins
        self.center_bins = center_bins
        self.head = head
        self.gradient_checkpointing = gradient_checkpointing
        self.embedding_dim = embedding_dim
        # What trains (set_finetuning changes it); the track readout trains nothing.
        self.finetuning = None if head == "track" else FineTuning()
        if head == "track":
            if n_tracks is None:
                raise ValueError(f"{name}: the trunk has no output head for head='track'")
            if not 0 <= track_index < n_tracks:
                raise ValueError(f"track_index {track_index} outside 0..{n_tracks - 1}")
            self.track_index = track_index
            self.pool = None
            self.linear = None
        else:
            self.track_index = None
            self.pool = BinAttentionPool(embedding_dim, per_dim=pool_logits == "per_dim")
            self.linear = nn.Linear(embedding_dim, 1)
            # The pretrained output heads are never used here: freeze them so optimisers
            # and DDP (find_unused_parameters=False) see only parameters that get gradients.
            for module in self.output_heads():
                module.requires_grad_(False)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> S2FModel:
        """Build from a config entry, read into the subclass's :attr:`settings_class`.

        The trunk's keys are read by :meth:`load_trunk`; ``finetune`` and ``lora`` by
        :class:`~haplexpr.models.finetune.FineTuning` (ignored by the track readout, which
        trains nothing).
        """
        settings = cls.settings_class.from_config(cfg)
        trunk, extra = cls.load_trunk(settings)
        model = cls(
            trunk,
            input_length=settings.input_length,
            center_bins=settings.center_bins,
            head=settings.head,
            track_index=settings.track_index,
            pool_logits=settings.pool_logits,
            gradient_checkpointing=settings.gradient_checkpointing,
            **extra,
        )
        if model.head != "track":
            model.set_finetuning(FineTuning.from_settings(settings))
        return model

    def set_finetuning(self, tuning: FineTuning) -> None:
        """Freeze the trunk and add adapters as ``tuning`` says; log what trains."""
        self.finetuning = tuning.apply(self.trunk, self.default_lora_targets, self.output_heads())
        self.train(self.training)
        trainable, total = parameter_counts(self)
        log.info(
            "%s, finetune %s: %s of %s parameters train (%.2f%%)",
            type(self).__name__,
            tuning.mode,
            f"{trainable:,}",
            f"{total:,}",
            100 * trainable / total,
        )

    def train(self, mode: bool = True) -> S2FModel:
        """Train mode, but a frozen trunk's layers with running statistics stay in eval.

        Under ``heads`` the whole trunk stays in eval mode (a fixed feature extractor);
        under ``lora`` its BatchNorm layers do, so the base weights never change.
        """
        super().train(mode)
        tuning_mode = self.finetuning.mode if self.finetuning is not None else "full"
        if mode and tuning_mode == "heads":
            self.trunk.eval()
        elif mode and tuning_mode == "lora":
            for module in self.trunk.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    @classmethod
    @abstractmethod
    def load_trunk(cls, settings: S2FSettings) -> tuple[nn.Module, dict[str, Any]]:
        """Load ``pretrained`` or build ``tiny``; return the trunk and extra ``__init__`` kwargs."""

    @abstractmethod
    def trunk_embeddings(self, x: torch.Tensor) -> torch.Tensor:
        """Embeddings ``(B, n_bins, embedding_dim)`` of a checked one-hot ``(B, L, 4)``."""

    @abstractmethod
    def output_heads(self) -> Iterable[nn.Module]:
        """The trunk's pretrained output layers (frozen under the trainable head)."""

    @abstractmethod
    def track_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Weight ``(1, D)`` and bias ``(1,)`` of the output layer for ``track_index``."""

    def run_blocks(self, blocks: nn.Sequential, h: torch.Tensor) -> torch.Tensor:
        """Run ``blocks``, recomputing each in backward when checkpointing a training step.

        Subclasses pass only their transformer blocks: checkpointing a BatchNorm layer
        would update its running statistics twice per step.
        """
        if not (self.gradient_checkpointing and self.training and torch.is_grad_enabled()):
            return blocks(h)
        for block in blocks:
            h = checkpoint(block, h, use_reentrant=False)
        return h

    def embeddings(self, x: torch.Tensor) -> torch.Tensor:
        """Trunk embeddings ``(B, n_bins, embedding_dim)`` of one-hot input ``(B, L, 4)``."""
        if x.ndim != 3 or x.shape[1] != self.input_length or x.shape[2] != 4:
            raise ValueError(
                f"expected one-hot input (B, {self.input_length}, 4), got {tuple(x.shape)}"
            )
        if self.finetuning is not None and self.finetuning.mode == "heads":
            with torch.no_grad():  # a frozen trunk: no activations kept for backward
                return self.trunk_embeddings(x)
        return self.trunk_embeddings(x)

    def central(self, emb: torch.Tensor) -> torch.Tensor:
        """Keep the ``center_bins`` bins around the window centre (TSS bin: ``n_bins // 2``)."""
        start = (self.n_bins - self.center_bins) // 2
        return emb[:, start : start + self.center_bins]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict one scalar per sequence: ``(B, L, 4)`` → ``(B,)``."""
        emb = self.central(self.embeddings(x))
        with float32_head(emb):
            emb = at_least_float32(emb)
            if self.head == "track":
                track = F.softplus(F.linear(emb, *self.track_weights()))
                return torch.log1p(track.mean(dim=(1, 2)))
            return self.linear(self.pool(emb)).squeeze(-1)
