"""Frozen Caduceus-ph feature extractor: one state per base, the same on either strand.

The pretrained model is ``kuleshov-group/caduceus-ph_seqlen-131k_d_model-256_n_layer-16``
(bidirectional Mamba, 16 layers, 256-d, 7.7 M parameters, trained on 131,072-bp hg38
windows). Its hub code needs ``mamba_ssm``'s CUDA kernels; here the same network runs in
plain PyTorch (:mod:`haplexpr.models.caduceus_model`, :mod:`haplexpr.models.mamba`), on a
CPU or any GPU, from the published checkpoint files.

Tokens are the hub tokenizer's characters: ``[CLS]0 [SEP]1 [BOS]2 [MASK]3 [PAD]4
[RESERVED]5 [UNK]6 A7 C8 G9 T10 N11``, upper-cased first. Other IUPAC codes (and any other
character) become N: the hub tokenizer would give them [UNK], a token pretraining never
showed, while N is what the genome has where a base is unknown. (Pretraining showed N
itself as [PAD]; N is rare in gene windows and is kept as the hub tokenizer encodes it.)
One ``[SEP]`` is appended to each sequence, as the hub tokenizer does by default and as
pretraining did (``add_eos: true``); being bidirectional, the model lets it reach every
position, so leaving it out would give other states. Its output state is dropped: states
map 1:1 to bases.

"ph" is post-hoc conjoining: each window and its reverse complement (each with its own
trailing ``[SEP]``) are embedded, the latter's states flipped back onto the window's
bases, and the two averaged. By construction the embedding of a reverse complement is then
the flipped embedding of the sequence. ``conjoin_strands: false`` embeds the window's own
strand only, as the seed does (``hidden_states[-1][:, :-1, :]`` of the hub model: the final
``norm_f`` output, which is ``layer: -1`` here, without the ``[SEP]`` state).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from haplexpr.errors import reject_unknown_keys
from haplexpr.models.caduceus_model import (
    BASE_COMPLEMENT,
    VOCAB,
    CaduceusModel,
    CaduceusSettings,
    load_checkpoint,
    save_checkpoint,
)
from haplexpr.models.settings import CaduceusEmbedderSettings

__all__ = [
    "CaduceusEmbedder",
    "HUB_ID",
    "TINY_CADUCEUS",
    "reverse_complement_ids",
    "save_pretrained_tiny",
    "token_ids",
]

HUB_ID = "kuleshov-group/caduceus-ph_seqlen-131k_d_model-256_n_layer-16"
#: Tiny random-initialised settings for CPU demos and tests (the real model: 256-d, 16 layers).
TINY_CADUCEUS: dict[str, Any] = {
    "d_model": 32,
    "n_layer": 2,
    "d_state": 16,
    "d_conv": 4,
    "expand": 2,
}
#: The fields a ``tiny`` config may set.
TINY_KEYS = ("d_model", "n_layer", "d_state", "d_conv", "expand", "dt_rank")

SEP_ID = VOCAB.index("[SEP]")
_BYTE_TO_ID = np.full(256, VOCAB.index("N"), dtype=np.int64)
for _base in "ACGT":
    _BYTE_TO_ID[ord(_base)] = _BYTE_TO_ID[ord(_base.lower())] = VOCAB.index(_base)
_COMPLEMENT_ID = np.arange(len(VOCAB), dtype=np.int64)
_COMPLEMENT_ID[list(BASE_COMPLEMENT)] = list(BASE_COMPLEMENT.values())


def token_ids(seq: str) -> np.ndarray:
    """One id per base: A C G T (either case) -> 7..10, anything else -> N (11); no specials."""
    return _BYTE_TO_ID[np.frombuffer(seq.encode("ascii", errors="replace"), dtype=np.uint8)]


def reverse_complement_ids(ids: np.ndarray) -> np.ndarray:
    """Reverse-complement base ids along the last axis (A<->T, C<->G, N stays N)."""
    return _COMPLEMENT_ID[ids[..., ::-1]]


def tiny_settings(tiny_cfg: Mapping[str, Any] | None = None) -> CaduceusSettings:
    """Settings of a tiny model: :data:`TINY_CADUCEUS` updated by ``tiny_cfg``."""
    tiny_cfg = dict(tiny_cfg or {})
    reject_unknown_keys("tiny Caduceus", tiny_cfg, TINY_KEYS)
    return CaduceusSettings(**{**TINY_CADUCEUS, **tiny_cfg})


def save_pretrained_tiny(
    path: str | Path, tiny_cfg: Mapping[str, Any] | None = None, seed: int = 0
) -> Path:
    """Write a random-initialised tiny checkpoint in the published layout.

    Tests and the tiny demo model load it through the same code a hub checkpoint takes.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CaduceusModel(tiny_settings(tiny_cfg))
    return save_checkpoint(model, path)


class CaduceusEmbedder:
    """Frozen Caduceus returning one layer's states as float32, strands conjoined or not."""

    def __init__(
        self,
        model: CaduceusModel,
        settings: CaduceusEmbedderSettings,
        device: str | torch.device = "cpu",
    ):
        n_layer = model.settings.n_layer
        if not -(n_layer + 1) <= settings.layer <= n_layer:
            raise ValueError(f"layer must index 0..{n_layer} hidden states, got {settings.layer}")
        if settings.batch_size < 1 or settings.scan_chunk < 1:
            raise ValueError("batch_size and scan_chunk must be >= 1")
        self.layer = settings.layer
        self.device = torch.device(device)
        self.batch_size = settings.batch_size
        self.scan_chunk = settings.scan_chunk
        self.conjoin_strands = settings.conjoin_strands
        self.model = model.to(self.device).eval().requires_grad_(False)

    @classmethod
    def from_config(
        cls, cfg: Mapping[str, Any], *, device: str = "cpu", seed: int = 0
    ) -> CaduceusEmbedder:
        """Load ``pretrained`` (hub ID or checkpoint folder) or build ``tiny`` with random weights.

        ``cfg`` is read into :class:`~haplexpr.models.settings.CaduceusEmbedderSettings`
        (keys and defaults there; ``tiny`` unset: :data:`TINY_CADUCEUS`; ``layer`` -1: the
        final ``norm_f`` output); ``seed`` draws the tiny weights.
        """
        settings = CaduceusEmbedderSettings.from_config(cfg)
        if settings.pretrained is not None:
            model = load_checkpoint(settings.pretrained)
        else:
            from tempfile import TemporaryDirectory

            with TemporaryDirectory() as tmp:  # same loading path as a checkpoint on disk
                save_pretrained_tiny(tmp, settings.tiny, seed=seed)
                model = load_checkpoint(tmp)
        return cls(model, settings, device)

    @property
    def embedding_dim(self) -> int:
        """Width D of the returned states (256 for the pretrained model)."""
        return int(self.model.settings.d_model)

    @staticmethod
    def bases_per_position(length: int) -> np.ndarray:
        """One output position per base."""
        return np.ones(length, dtype=np.int64)

    def embed(self, seqs: Sequence[str]) -> np.ndarray:
        """States of ``layer`` as float32 ``(B, L, D)``, averaged over both strands or not.

        All sequences must have the same length L.
        """
        if len(seqs) == 0:
            raise ValueError("embed needs at least one sequence")
        length = len(seqs[0])
        if any(len(s) != length for s in seqs):
            raise ValueError("embed needs sequences of equal length")
        out = np.empty((len(seqs), length, self.embedding_dim), dtype=np.float32)
        for lo in range(0, len(seqs), self.batch_size):
            forward = np.stack([token_ids(s) for s in seqs[lo : lo + self.batch_size]])
            out[lo : lo + len(forward)] = self._states(forward)
        return out

    def _states(self, forward: np.ndarray) -> np.ndarray:
        """States of ``(b, L)`` base ids, both strands in one pass and averaged if conjoining."""
        b = len(forward)
        strands = forward
        if self.conjoin_strands:
            strands = np.concatenate([forward, reverse_complement_ids(forward)])
        ids = np.concatenate([strands, np.full((len(strands), 1), SEP_ID)], axis=1)
        with torch.inference_mode():
            states = self.model(
                torch.from_numpy(ids).to(self.device), layer=self.layer, scan_chunk=self.scan_chunk
            )[:, :-1]  # drop [SEP]'s state
            if self.conjoin_strands:
                states = (states[:b] + states[b:].flip(1)) / 2
            return states.float().cpu().numpy()
