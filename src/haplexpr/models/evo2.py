"""Evo2 (Arc Institute) as a frozen feature extractor: hidden states of one named layer.

The network, its tiny configuration and its checkpoints are :mod:`haplexpr.models.evo2_model`
(``pretrained``: an Evo2 model name, a local ``.pt``, or null for the tiny model);
``dtype: float32`` casts every weight to float32 after loading (bfloat16 keeps them as the
loader leaves them: bfloat16, poles and residues float32).

Tokens are raw bytes, one per base, with no BOS or EOS, so a window of L bases gives L
feature vectors. A base other than A, C, G, T (an IUPAC code from ``consensus.unphased:
iupac``, N) is its own upper-case byte (``non_acgt: as_written``, default) or N's byte
(``n_token``: the seed writes N for every such base before tokenising, its ``nonCan``).
The features are the output of the module named ``layer``, caught by a forward hook as
``Evo2.forward(..., return_embeddings=True, layer_names=[layer])`` does (seed:
``blocks.28.mlp.l3``, the MLP branch of block 28 before its residual add, 4,096-d).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from tempfile import TemporaryDirectory
from typing import Any

import numpy as np
import torch
from torch import nn

from haplexpr.models.evo2_model import (
    cuda_device_context,
    load_checkpoint,
    load_pretrained,
    save_pretrained_tiny,
    vortex,
)
from haplexpr.models.settings import Evo2Settings
from haplexpr.sequence_encoding import acgt_or

__all__ = ["Evo2Embedder", "token_ids"]

#: CharLevelTokenizer's vocabulary: bytes, padded to 512 (evo2 builds it with 512).
VOCAB_SIZE = 512

#: ``non_acgt`` values: a non-ACGT base as its own byte, or as N's (the seed's).
NON_ACGT_CHOICES = ("as_written", "n_token")


class Evo2Embedder:
    """Per-base embeddings of layer ``layer`` (seed: ``blocks.28.mlp.l3``) of an Evo2 model."""

    def __init__(
        self, model: nn.Module, settings: Evo2Settings, device: str | torch.device = "cpu"
    ):
        layer, batch_size, non_acgt = settings.layer, settings.batch_size, settings.non_acgt
        if non_acgt not in NON_ACGT_CHOICES:
            raise ValueError(f"non_acgt must be one of {NON_ACGT_CHOICES}, not {non_acgt!r}")
        try:
            model.get_submodule(layer)
        except AttributeError:
            raise ValueError(
                f"Evo2 has no layer {layer!r}; layers are module names such as"
                f" blocks.{len(model.blocks) - 1}.mlp.l3"
            ) from None
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.layer = layer
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.non_acgt = non_acgt
        self.model = model.to(self.device).eval().requires_grad_(False)
        # vortex spreads blocks over the visible GPUs and moves activations between them
        # by this map; here the whole model runs on one device.
        model.block_idx_to_device = dict.fromkeys(range(len(model.blocks)), self.device)

    @classmethod
    def from_config(
        cls, cfg: Mapping[str, Any], *, device: str = "cpu", seed: int = 0
    ) -> Evo2Embedder:
        """Load ``pretrained`` (model name or ``.pt``) or build ``tiny`` with random weights.

        ``cfg`` is read into :class:`~haplexpr.models.settings.Evo2Settings` (keys and
        defaults there; ``tiny``: keys of the 7B config over
        :data:`~haplexpr.models.evo2_model.TINY_EVO2`); ``context`` or ``input_length`` is
        checked against the model's ``max_seqlen``; ``seed`` draws the tiny weights.
        """
        settings = Evo2Settings.from_config(cfg)
        if settings.pretrained is not None:
            model = load_pretrained(settings.pretrained)
        else:
            with TemporaryDirectory() as tmp:  # same loading path as a checkpoint on disk
                model = load_checkpoint(save_pretrained_tiny(tmp, settings.tiny, seed=seed))
        length = settings.context or settings.input_length  # bases per forward pass
        max_seqlen = model.config.max_seqlen
        if length is not None and max_seqlen and length > max_seqlen:
            raise ValueError(f"{length}-base inputs exceed Evo2's max_seqlen {max_seqlen}")
        if settings.dtype == "float32":
            model = model.float()
        elif settings.dtype != "bfloat16":
            raise ValueError(f"Evo2 dtype must be float32 or bfloat16, got {settings.dtype!r}")
        return cls(model, settings, device)

    @functools.cached_property
    def embedding_dim(self) -> int:
        """Width D of the chosen layer's output (4,096 for Evo2-7B's MLP outputs)."""
        return int(self.embed(["ACGT" * 4]).shape[-1])

    @staticmethod
    def bases_per_position(length: int) -> np.ndarray:
        """Byte-level tokens: one state per base."""
        return np.ones(length, dtype=np.int64)

    def embed(self, seqs: Sequence[str]) -> np.ndarray:
        """Hidden states (B, L, D) of ``layer`` as float32; all sequences of one length L.

        Evo2's tokens are raw bytes, so soft-masked ``a`` would be token 97, one the model
        never saw for A (65): sequences are upper-cased first.
        """
        if len(seqs) == 0:
            raise ValueError("embed needs at least one sequence")
        if any(len(s) != len(seqs[0]) for s in seqs):
            raise ValueError("embed needs sequences of equal length")
        ids = torch.from_numpy(np.stack([token_ids(s, self.non_acgt) for s in seqs]))
        batches = range(0, len(ids), self.batch_size)
        return np.concatenate([self._forward(ids[lo : lo + self.batch_size]) for lo in batches])

    def _forward(self, ids: torch.Tensor) -> np.ndarray:
        """Run the model on ``(b, L)`` ids and return the hooked layer's output."""
        caught = {}

        def hook(_module, _inputs, output):
            caught["out"] = output[0] if isinstance(output, tuple) else output

        handle = self.model.get_submodule(self.layer).register_forward_hook(hook)
        try:
            with torch.inference_mode(), cuda_device_context(self.device.type == "cpu"):
                self.model(ids.to(self.device))
        finally:
            handle.remove()
        return caught["out"].float().cpu().numpy()


def token_ids(seq: str, non_acgt: str = "as_written") -> np.ndarray:
    """Evo2's tokens of the upper-cased sequence: vortex's CharLevelTokenizer, one byte each.

    ``non_acgt: n_token`` first writes N for every base other than A, C, G, T, as the seed does.
    """
    vortex()
    from vortex.model.tokenizer import CharLevelTokenizer

    seq = acgt_or(seq, "N") if non_acgt == "n_token" else seq.upper()
    ids = np.asarray(CharLevelTokenizer(VOCAB_SIZE).tokenize(seq), dtype=np.int64)
    if len(ids) != len(seq):
        raise ValueError("Evo2 sequences must be ASCII: one byte, one token, per base")
    return ids
