"""Nucleotide Transformer (NT) v2, built on transformers' ESM, as a frozen per-token embedder.

The seed takes NT v2 500M multi-species, layer 20 (1,024-d per 6-mer token), as input to
its tower. Here ``layer`` indexes transformers' ``output_hidden_states`` tuple: 0 is the
embedding output, ``i`` the output of block ``i`` (NT's JAX ``embeddings_20`` is index 20),
-1 the last block after the final LayerNorm.

Architecture: NT v2 is ESM (pre-LayerNorm blocks, rotary embeddings, no learned positions
read) with a bias-free gated feed-forward, SwiGLU: ``Linear(H, 2I)`` -> split into a, b ->
``silu(a) * b`` -> ``Linear(I, H)`` (``add_bias_fnn: false``). transformers' own
``EsmForMaskedLM`` has a GELU feed-forward with biases, and the published checkpoints
(``InstaDeepAI/nucleotide-transformer-v2-*``) ship their own ``modeling_esm.py`` for the
difference, loaded only with ``trust_remote_code``. :class:`NucleotideTransformerV2ForMaskedLM`
is that architecture without remote code: transformers' ESM with each block's
``intermediate``/``output`` replaced by the gated pair.

Parameter names need no mapping: the hub's ``modeling_esm.py`` is transformers' ESM with
the feed-forward swapped, so its checkpoints use transformers' ESM names and so does this
class. Per block ``esm.encoder.layer.{i}.``: ``attention.self.{query,key,value}.{weight,bias}``,
``attention.self.rotary_embeddings.inv_freq`` (a stored buffer), ``attention.output.dense.
{weight,bias}``, ``attention.LayerNorm.*``, ``intermediate.dense.weight`` (2I x H, rows
``[a; b]``), ``output.dense.weight`` (H x I), ``LayerNorm.*``; then ``esm.embeddings.
{word,position}_embeddings.weight`` (the hub code builds the learned position table even for
rotary models and never reads it; we build it too, so every stored tensor has a home),
``esm.encoder.emb_layer_norm_after.*``, ``esm.contact_head.regression.*`` and ``lm_head.*``.
Loading is strict: a missing, left-over or mis-shaped tensor raises, naming it. These are
the 192 tensors of the published 50M checkpoint: with its sizes this class holds its
published 55,904,972 parameters and 55,905,164 stored values, and safetensors writes
exactly its 223,642,688-byte ``model.safetensors`` (names and shapes fix the file's size).

The hub's ``config.json`` has an ``auto_map`` and no ``model_type``; this class reads it with
its own config class, so the same ``from_pretrained`` call serves a hub ID, a local snapshot
and the tiny random-initialised model, which is written in the published layout first.

Tokenisation and the 6-mer grid live in :mod:`haplexpr.models.nt_tokenizer`. Output positions
are anchored to the genome, not to tokens: for a window of L bases,
:meth:`NucleotideTransformerEmbedder.embed` returns ``L // 6 + L % 6`` positions, one per
6-mer slot ``[6j, 6j + 6)`` plus one per tail base. For an ACGT-only window these are
exactly NT's tokens; where an N shifts NT's 6-mer grid, each slot gets the base-weighted
mean of the tokens covering its bases. Equal-length windows therefore always give equal
shapes, and slot ``j`` is the same genomic stretch in every haplotype.

Two options restore the seed's inputs (JAX ``nucleotide_transformer``, ``embeddings_20``):
``non_acgt: delete`` deletes non-ACGT bases before tokenising, as the seed does (default
``n_token``: each becomes the N token); the states are still put back on the genome's slots,
a deleted base contributing nothing (the seed's own positions shift at each deletion).
``keep_cls: true`` keeps the ``<cls>`` state, which the seed's tower reads as its first
position, as one leading position ahead of the slots (default false: dropped, as it
belongs to no base).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import numpy as np
import torch
from torch import nn
from transformers import EsmConfig, EsmForMaskedLM
from transformers.models.esm.modeling_esm import RotaryEmbedding
from transformers.utils import cached_file

from haplexpr.errors import reject_unknown_keys
from haplexpr.models.nt_tokenizer import (
    MASK_ID,
    MAX_TOKENS,
    NON_ACGT_RULES,
    NT_VOCAB,
    PAD_ID,
    acgt_mask,
    check_vocab,
    realign,
    slot_lengths,
    token_ids,
    tokens_for_length,
)
from haplexpr.models.settings import NucleotideTransformerSettings

__all__ = [
    "NucleotideTransformerEmbedder",
    "NucleotideTransformerV2Config",
    "NucleotideTransformerV2ForMaskedLM",
    "TINY_NT",
    "load_pretrained",
    "save_in_hub_layout",
    "save_pretrained_tiny",
]

#: The published config's architecture fields that the tiny model shares with every NT v2.
NT_V2_FIELDS: dict[str, Any] = {
    "vocab_size": len(NT_VOCAB),
    "pad_token_id": PAD_ID,
    "mask_token_id": MASK_ID,
    "position_embedding_type": "rotary",
    "token_dropout": False,
    "emb_layer_norm_before": False,
    "max_position_embeddings": MAX_TOKENS + 2,  # 2,050 as published; rotary never reads it
    "layer_norm_eps": 1e-12,
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
    "tie_word_embeddings": False,
    "add_bias_fnn": False,
}

#: Tiny sizes for CPU demos and tests.
TINY_NT: dict[str, Any] = {
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 128,
}

#: What the published ``config.json`` names in place of a ``model_type``.
HUB_ARCHITECTURES = ["EsmForMaskedLM", "EsmForTokenClassification", "EsmForSequenceClassification"]
HUB_AUTO_MAP = {
    "AutoConfig": "esm_config.EsmConfig",
    "AutoModelForMaskedLM": "modeling_esm.EsmForMaskedLM",
    "AutoModelForSequenceClassification": "modeling_esm.EsmForSequenceClassification",
    "AutoModelForTokenClassification": "modeling_esm.EsmForTokenClassification",
}


class NucleotideTransformerV2Config(EsmConfig):
    """``EsmConfig`` plus NT v2's ``add_bias_fnn`` (biases on the gated feed-forward).

    Every published NT v2 config sets it false, the default here; the hub code's own
    default is true, so :func:`save_in_hub_layout` always writes it out.
    """

    def __init__(self, add_bias_fnn: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.add_bias_fnn = add_bias_fnn


class GatedIntermediate(nn.Module):
    """SwiGLU's first half: one projection to 2I, split into a and b, ``silu(a) * b``."""

    def __init__(self, config: NucleotideTransformerV2Config):
        super().__init__()
        width = 2 * config.intermediate_size
        self.dense = nn.Linear(config.hidden_size, width, bias=config.add_bias_fnn)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """``silu(a) * b`` for ``[a, b] = dense(hidden_states)``."""
        a, b = self.dense(hidden_states).chunk(2, dim=-1)
        return nn.functional.silu(a) * b


class GatedOutput(nn.Module):
    """SwiGLU's projection back to H, plus the block's residual (as ESM's ``EsmOutput``)."""

    def __init__(self, config: NucleotideTransformerV2Config):
        super().__init__()
        self.dense = nn.Linear(
            config.intermediate_size, config.hidden_size, bias=config.add_bias_fnn
        )
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        """Project, drop out, add the residual."""
        return self.dropout(self.dense(hidden_states)) + input_tensor


class NucleotideTransformerV2ForMaskedLM(EsmForMaskedLM):
    """NT v2: transformers' ESM with the gated feed-forward, loadable from hub checkpoints.

    ``from_pretrained`` takes a hub ID or a local snapshot and needs no remote code.
    """

    config_class = NucleotideTransformerV2Config
    # transformers' ESM drops a stored position table silently; strict loading checks all.
    _keys_to_ignore_on_load_unexpected = None

    def __init__(self, config: NucleotideTransformerV2Config):
        super().__init__(config)
        for block in self.esm.encoder.layer:
            block.intermediate = GatedIntermediate(config)
            block.output = GatedOutput(config)
        embeddings = self.esm.embeddings
        if not hasattr(embeddings, "position_embeddings"):  # built by the hub code, never read
            embeddings.position_embeddings = nn.Embedding(
                config.max_position_embeddings, config.hidden_size, padding_idx=config.pad_token_id
            )
        self.post_init()  # initialises only the modules added here

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        """Load strictly: any tensor missing, left over or of another shape raises ValueError."""
        want_info = kwargs.pop("output_loading_info", False)
        # Mismatches are reported by name below, not as transformers' nameless RuntimeError.
        kwargs["ignore_mismatched_sizes"] = True
        model, info = super().from_pretrained(
            pretrained_model_name_or_path, *args, output_loading_info=True, **kwargs
        )
        shapes = model.state_dict()
        problems = {
            "missing": info["missing_keys"],
            "unexpected": info["unexpected_keys"],
            "of another shape (expected shown)": [
                f"{key} {list(shapes[key].shape)}" for key in info["mismatched_keys"]
            ],
            "unloadable": info["error_msgs"],
        }
        found = [f"{what}: {_first_few(keys)}" for what, keys in problems.items() if keys]
        if found:
            raise ValueError(
                f"{pretrained_model_name_or_path} is not the NT v2 architecture its config.json"
                f" describes (gated feed-forward, add_bias_fnn={model.config.add_bias_fnn});"
                f" tensors {'; '.join(found)}"
            )
        return (model, info) if want_info else model


def _first_few(keys: Sequence[str], shown: int = 4) -> str:
    """Up to ``shown`` keys and how many more, for error messages on 500M-parameter models."""
    more = f" and {len(keys) - shown} more" if len(keys) > shown else ""
    return ", ".join(keys[:shown]) + more


def tiny_config(tiny_cfg: Mapping[str, Any]) -> NucleotideTransformerV2Config:
    """NT v2's published fields with the tiny sizes; a misspelt field is refused by name."""
    allowed = NucleotideTransformerV2Config().to_dict()  # the class takes any keyword silently
    reject_unknown_keys("tiny Nucleotide Transformer", tiny_cfg, allowed)
    return NucleotideTransformerV2Config(**{**NT_V2_FIELDS, **TINY_NT, **tiny_cfg})


def save_in_hub_layout(model: NucleotideTransformerV2ForMaskedLM, path: str | Path) -> Path:
    """Write ``model`` as the hub snapshots are: ``auto_map``, no ``model_type``, ``vocab.txt``."""
    path = Path(path)
    model.save_pretrained(path)
    config = model.config.to_diff_dict()
    config.pop("model_type")
    # Written even when false (our default): the hub code's default is true.
    config.update(
        add_bias_fnn=model.config.add_bias_fnn,
        architectures=HUB_ARCHITECTURES,
        auto_map=HUB_AUTO_MAP,
    )
    (path / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    (path / "vocab.txt").write_text("\n".join(NT_VOCAB))
    return path


def save_pretrained_tiny(
    path: str | Path, tiny_cfg: Mapping[str, Any] | None = None, seed: int = 0
) -> Path:
    """Write a random-initialised tiny NT v2 in the hub layout, loadable by ``from_config``."""
    config = tiny_config(TINY_NT if tiny_cfg is None else tiny_cfg)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = NucleotideTransformerV2ForMaskedLM(config)
    return save_in_hub_layout(model, path)


def load_pretrained(pretrained: str | Path) -> NucleotideTransformerV2ForMaskedLM:
    """NT v2 from a hub ID or local snapshot, its ``vocab.txt`` checked to be NT v2's."""
    model = NucleotideTransformerV2ForMaskedLM.from_pretrained(str(pretrained))
    vocab = Path(cached_file(str(pretrained), "vocab.txt")).read_text().splitlines()
    check_vocab(vocab, f"{pretrained}: vocab.txt")
    return model


def _cast(model: nn.Module, dtype: torch.dtype) -> nn.Module:
    """Cast weights to ``dtype`` but keep rotary frequencies float32.

    bfloat16 holds whole numbers exactly only up to 256, so rotary tables built from
    bfloat16 frequencies put tokens past 256 at rounded positions; float32 keeps them exact
    (transformers' rotary casts its output back to the weights' dtype).
    """
    model = model.to(dtype)
    for module in model.modules():
        if isinstance(module, RotaryEmbedding):
            module.inv_freq = module.inv_freq.float()
    return model


class NucleotideTransformerEmbedder:
    """Frozen NT v2 returning per-6-mer hidden states of one layer as float32."""

    def __init__(
        self,
        model: NucleotideTransformerV2ForMaskedLM,
        settings: NucleotideTransformerSettings,
        device: str | torch.device = "cpu",
    ):
        if settings.non_acgt not in NON_ACGT_RULES:
            raise ValueError(
                f"non_acgt must be one of {list(NON_ACGT_RULES)}, not {settings.non_acgt!r}"
            )
        self.layer = layer = settings.layer
        self.device = torch.device(device)
        self.batch_size = settings.batch_size
        self.non_acgt = settings.non_acgt
        #: States ahead of the base positions in :meth:`embed`'s output (``<cls>``: 1).
        self.leading_states = settings.leading_states
        n_layers = model.config.num_hidden_layers
        if not -(n_layers + 1) <= layer <= n_layers:
            raise ValueError(f"layer must index 0..{n_layers} hidden states, got {layer}")
        if settings.truncate_layers and 0 <= layer < n_layers - 1:
            _drop_blocks_after(model, layer + 1)
        self.model = model.to(self.device).eval().requires_grad_(False)

    @classmethod
    def from_config(
        cls, cfg: Mapping[str, Any], *, device: str = "cpu", seed: int = 0
    ) -> NucleotideTransformerEmbedder:
        """Load ``pretrained`` (hub ID or directory) or build ``tiny`` with random weights.

        ``cfg`` is read into :class:`~haplexpr.models.settings.NucleotideTransformerSettings`
        (keys and defaults there; ``tiny`` unset: :data:`TINY_NT`); ``seed`` draws the tiny
        weights.
        """
        settings = NucleotideTransformerSettings.from_config(cfg)
        if settings.pretrained is not None:
            model = load_pretrained(settings.pretrained)
        else:
            with TemporaryDirectory() as tmp:  # same loading path as a checkpoint on disk
                save_pretrained_tiny(tmp, settings.tiny or TINY_NT, seed=seed)
                model = load_pretrained(tmp)
        return cls(_cast(model, getattr(torch, settings.dtype)), settings, device)

    @property
    def embedding_dim(self) -> int:
        """Width D of the returned hidden states."""
        return int(self.model.config.hidden_size)

    @staticmethod
    def bases_per_position(length: int) -> np.ndarray:
        """Bases under each output position: six per 6-mer slot, one per tail base."""
        return slot_lengths(length)

    def embed(self, seqs: Sequence[str]) -> np.ndarray:
        """Hidden states of ``layer`` as float32 ``(B, leading_states + T, D)``.

        All sequences must have the same length L; T is ``tokens_for_length(L)``; the
        ``<cls>`` state comes first with ``keep_cls``, else it is dropped.
        """
        if len(seqs) == 0:
            raise ValueError("embed needs at least one sequence")
        length = len(seqs[0])
        if any(len(s) != length for s in seqs):
            raise ValueError("embed needs sequences of equal length")
        lead = self.leading_states
        n_slots = tokens_for_length(length)
        grid = slot_lengths(length)
        out = np.empty((len(seqs), lead + n_slots, self.embedding_dim), dtype=np.float32)
        for lo in range(0, len(seqs), self.batch_size):
            batch = seqs[lo : lo + self.batch_size]
            chunk = [token_ids(s, self.non_acgt) for s in batch]
            hidden = self._forward([ids for _, ids in chunk])
            for i, (tokens, _) in enumerate(chunk):
                out[lo + i, :lead] = hidden[i, :lead]  # <cls> is token 0
                states = hidden[i, 1 : len(tokens) + 1]
                if len(tokens) == n_slots and np.array_equal([len(t) for t in tokens], grid):
                    out[lo + i, lead:] = states
                else:
                    kept = acgt_mask(batch[i]) if self.non_acgt == "delete" else None
                    out[lo + i, lead:] = realign(states, tokens, length, kept)
        return out

    def _forward(self, batch_ids: list[list[int]]) -> np.ndarray:
        """Run the model on right-padded ids and return the chosen layer as float32 numpy."""
        width = max(len(ids) for ids in batch_ids)
        input_ids = torch.full((len(batch_ids), width), PAD_ID, dtype=torch.long)
        attention_mask = torch.zeros((len(batch_ids), width), dtype=torch.long)
        for i, ids in enumerate(batch_ids):
            input_ids[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            attention_mask[i, : len(ids)] = 1
        with torch.inference_mode():
            output = self.model(
                input_ids=input_ids.to(self.device),
                attention_mask=attention_mask.to(self.device),
                output_hidden_states=True,
            )
            states = output.hidden_states[self.layer]
            return states.float().cpu().numpy()


def _drop_blocks_after(model: NucleotideTransformerV2ForMaskedLM, keep: int) -> None:
    """Keep only the first ``keep`` encoder blocks.

    ``keep = layer + 1`` so the wanted hidden state is never the last one, which
    transformers returns after the final LayerNorm.
    """
    blocks = model.esm.encoder.layer
    if keep < len(blocks):
        model.esm.encoder.layer = blocks[:keep]
        model.config.num_hidden_layers = keep
