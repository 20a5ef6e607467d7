"""Evo2 (Arc Institute) as a frozen feature extractor: hidden states of one named layer.

Evo2 needs a CUDA GPU (its StripedHyena 2 kernels; FP8 layers need compute capability
>= 8.9) and the ``evo2`` package, so it cannot run on the CPU-only demo machine; the
pipeline treats it like any other gLM once it loads. Tokens are single bases, so a window
of L bases gives L feature vectors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch


class Evo2Embedder:
    """Per-base embeddings of layer ``layer`` (seed: ``blocks.28.mlp.l3``) of an Evo2 model."""

    def __init__(self, model: Any, layer: str, device: str):
        self.model = model
        self.layer = layer
        self.device = torch.device(device)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> Evo2Embedder:
        """Load ``pretrained`` (an Evo2 model name such as ``evo2_7b``) on a CUDA device."""
        if not torch.cuda.is_available():
            raise RuntimeError(
                "Evo2 needs a CUDA GPU; run this rule on a GPU node (profiles/slurm) or "
                "disable models.evo2 in config.yaml"
            )
        from evo2 import Evo2  # imported here: the package is only installable with CUDA

        return cls(Evo2(cfg["pretrained"]), str(cfg["layer"]), cfg.get("device", "cuda"))

    @property
    def embedding_dim(self) -> int:
        """Width of the chosen layer's output (4,096 for Evo2-7B's MLP outputs)."""
        probe = self.embed(["ACGT" * 4])
        return int(probe.shape[-1])

    @staticmethod
    def tokens_for_length(length: int) -> int:
        """Byte-level tokens: one per base."""
        return length

    @torch.inference_mode()
    def embed(self, seqs: Sequence[str]) -> np.ndarray:
        """Hidden states (B, L, D) as float32.

        Evo2's tokens are raw bytes, so soft-masked ``a`` would be token 97, one the model
        never saw for A (65): sequences are upper-cased first.
        """
        out = []
        for seq in seqs:
            ids = torch.tensor(self.model.tokenizer.tokenize(seq.upper()), dtype=torch.int)
            _, embeddings = self.model(
                ids.unsqueeze(0).to(self.device), return_embeddings=True, layer_names=[self.layer]
            )
            out.append(embeddings[self.layer][0].float().cpu().numpy())
        return np.stack(out)
