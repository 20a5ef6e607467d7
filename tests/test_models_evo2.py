"""Tests for haplexpr.models.evo2 that need no GPU: what reaches Evo2's tokeniser and model."""

import numpy as np
import pytest
import torch

from haplexpr.models.evo2 import Evo2Embedder


class ByteTokenizer:
    """Evo2's tokeniser is byte-level (CharLevelTokenizer): one token per byte."""

    @staticmethod
    def tokenize(seq: str) -> list[int]:
        return list(seq.encode())


class RecordingModel:
    """Stands in for the loaded Evo2: records token ids, returns them as a 1-d 'embedding'."""

    tokenizer = ByteTokenizer()

    def __init__(self):
        self.seen = []

    def __call__(self, ids, return_embeddings, layer_names):
        self.seen.append(ids[0].tolist())
        hidden = ids.to(torch.float32).unsqueeze(-1)
        return None, {layer_names[0]: hidden}


def test_soft_masked_bases_reach_evo2_as_upper_case_bytes():
    model = RecordingModel()
    embedder = Evo2Embedder(model, "blocks.28.mlp.l3", "cpu")
    out = embedder.embed(["acgtN", "ACGTn"])
    assert model.seen == [[65, 67, 71, 84, 78]] * 2
    assert out.shape == (2, 5, 1) and out.dtype == np.float32
    assert embedder.tokens_for_length(5) == 5


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only refusal")
def test_without_cuda_the_loader_says_what_to_do():
    with pytest.raises(RuntimeError, match="Evo2 needs a CUDA GPU"):
        Evo2Embedder.from_config({"pretrained": "evo2_7b", "layer": "blocks.28.mlp.l3"})
