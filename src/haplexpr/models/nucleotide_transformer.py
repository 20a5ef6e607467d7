"""Frozen Nucleotide Transformer (NT) v2 feature extractor: per-token hidden states.

The seed takes NT v2 500M multi-species, layer 20 (1,024-d per 6-mer token), as input to
its tower. Here ``layer`` indexes transformers' ``output_hidden_states`` tuple: 0 is the
embedding output, ``i`` the output of block ``i`` (NT's JAX ``embeddings_20`` is index 20),
-1 the last block after the final LayerNorm.

Architectures, stated plainly: the pretrained NT v2 checkpoints ship their own modelling
code (``trust_remote_code=True``), an ESM variant with rotary embeddings and a gated
(SwiGLU) FFN. transformers' built-in ``EsmForMaskedLM`` has rotary embeddings but no gated
FFN, so the tiny random-initialised model used in tests and demos is ESM-with-rotary, not
NT v2 proper; both load through the same ``AutoModelForMaskedLM.from_pretrained`` call.

Tokenisation is NT's (``nucleotide_transformer/tokenizers.py``, ``NucleotidesKmersTokenizer``)
rewritten here so every checkpoint gets the same rule: the sequence is split at N; each
N-free run is cut into non-overlapping 6-mers from the run's start, its leftover tail (<6
bases) becomes single-nucleotide tokens, and each N is its own token. Equivalently, read
left to right: take a 6-mer if the next six bases are all ACGT, else one base. Lower case
is upper-cased (soft-masked reference) and other IUPAC codes become N (NT's own tokenizer
has no token for them). A ``<cls>`` token is prepended, no ``<eos>`` appended, as NT does.

Output positions are anchored to the genome, not to tokens: for a window of L bases,
:meth:`NucleotideTransformerEmbedder.embed` returns ``L // 6 + L % 6`` positions, one per
6-mer slot ``[6j, 6j + 6)`` plus one per tail base. For an ACGT-only window these are
exactly NT's tokens; where an N shifts NT's 6-mer grid, each slot gets the base-weighted
mean of the tokens covering its bases. Equal-length windows therefore always give equal
shapes, and slot ``j`` is the same genomic stretch in every haplotype.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
import torch

from haplexpr.errors import reject_unknown_keys

__all__ = [
    "NT_VOCAB",
    "NucleotideTransformerEmbedder",
    "TINY_NT",
    "kmer_tokens",
    "save_pretrained_tiny",
]

K = 6
SPECIAL_TOKENS = ["<unk>", "<pad>", "<mask>", "<cls>", "<eos>", "<bos>"]
#: NT's base order (``nucleotide_transformer/constants.py``: ``NUCLEOTIDES = ["A","T","C","G"]``).
NT_BASES = "ATCG"

#: Vocabulary in the layout assumed for NT's hub ``vocab.txt`` (4,107 tokens): the six
#: special tokens (ids 0-5; recalled from the hub files, not verified offline; NT's JAX
#: code puts <eos>, <bos> last instead), the 4,096 6-mers in NT's A, T, C, G product
#: order (AAAAAA, AAAAAT, AAAAAC, ...), then A, T, C, G, N. Only the tiny model uses it;
#: pretrained checkpoints are read through their own tokenizer's vocabulary.
NT_VOCAB: list[str] = (
    SPECIAL_TOKENS + ["".join(p) for p in product(NT_BASES, repeat=K)] + list(NT_BASES) + ["N"]
)

#: Tiny ESM-with-rotary settings for CPU demos and tests.
TINY_NT: dict[str, Any] = {
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 128,
}

_TOKEN_RE = re.compile(r"[ACGT]{6}|.", re.DOTALL)
_UPPER_ACGT_ELSE_N = {c: "N" for c in range(128)}
_UPPER_ACGT_ELSE_N.update({ord(b): b for b in "ACGT"})
_UPPER_ACGT_ELSE_N.update({ord(b.lower()): b for b in "ACGT"})


def kmer_tokens(seq: str) -> list[str]:
    """Split ``seq`` into NT tokens: 6-mers, restarting after each N, single-base leftovers."""
    return _TOKEN_RE.findall(seq.translate(_UPPER_ACGT_ELSE_N))


def tokens_for_length(length: int) -> int:
    """Count genome-anchored output positions for a window of ``length`` bases."""
    return length // K + length % K


def _slot_lengths(length: int) -> np.ndarray:
    """Bases per output slot: six per full 6-mer slot, one per tail base."""
    return np.concatenate(
        [np.full(length // K, K, dtype=np.int64), np.ones(length % K, dtype=np.int64)]
    )


def _realign(hidden: np.ndarray, tokens: Sequence[str], length: int) -> np.ndarray:
    """Average token states onto the fixed 6-mer slot grid, weighting by shared bases."""
    token_lengths = np.fromiter((len(t) for t in tokens), dtype=np.int64, count=len(tokens))
    slot_lengths = _slot_lengths(length)
    per_base = np.repeat(hidden, token_lengths, axis=0)  # (length, D)
    starts = np.concatenate([[0], np.cumsum(slot_lengths)[:-1]])
    sums = np.add.reduceat(per_base, starts, axis=0)
    return (sums / slot_lengths[:, None]).astype(np.float32)


def _tiny_esm_config(tiny_cfg: Mapping[str, Any]):
    """Build an ``EsmConfig`` in NT v2's style (rotary, no token dropout) on :data:`NT_VOCAB`."""
    from transformers import EsmConfig

    # EsmConfig takes any keyword silently: refuse a misspelt field by name.
    reject_unknown_keys("tiny Nucleotide Transformer", tiny_cfg, EsmConfig().to_dict())
    fields: dict[str, Any] = {
        "vocab_size": len(NT_VOCAB),
        "pad_token_id": NT_VOCAB.index("<pad>"),
        "mask_token_id": NT_VOCAB.index("<mask>"),
        "position_embedding_type": "rotary",
        "token_dropout": False,
        "emb_layer_norm_before": False,
        "max_position_embeddings": 2050,  # NT v2's value; rotary embeddings ignore it
        **TINY_NT,
    }
    fields.update(tiny_cfg)
    return EsmConfig(**fields)


def save_pretrained_tiny(
    path: str | Path, tiny_cfg: Mapping[str, Any] | None = None, seed: int = 0
) -> Path:
    """Write a random-initialised tiny ESM + NT-layout tokenizer loadable by ``from_config``.

    Tests load it through the same ``from_pretrained`` calls a hub checkpoint takes.
    """
    import tempfile

    from transformers import EsmForMaskedLM, EsmTokenizer

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    config = _tiny_esm_config(TINY_NT if tiny_cfg is None else tiny_cfg)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = EsmForMaskedLM(config)
    model.save_pretrained(path)
    with tempfile.TemporaryDirectory() as tmp:
        vocab_file = Path(tmp) / "vocab.txt"
        vocab_file.write_text("\n".join(NT_VOCAB) + "\n")
        EsmTokenizer(vocab_file=str(vocab_file)).save_pretrained(path)
    return path


class NucleotideTransformerEmbedder:
    """Frozen NT-style model returning per-6-mer hidden states of one layer as float32."""

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: Any,
        layer: int = -1,
        device: str | torch.device = "cpu",
        batch_size: int = 8,
        truncate_layers: bool = True,
    ):
        self.tokenizer = tokenizer
        self.layer = layer
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.cls_id = tokenizer.cls_token_id
        self.pad_id = tokenizer.pad_token_id
        if tokenizer.convert_tokens_to_ids("ACGTAC") == tokenizer.unk_token_id:
            raise ValueError("tokenizer has no 6-mer vocabulary; is this an NT checkpoint?")
        n_layers = model.config.num_hidden_layers
        if not -(n_layers + 1) <= layer <= n_layers:
            raise ValueError(f"layer must index 0..{n_layers} hidden states, got {layer}")
        if truncate_layers and 0 <= layer < n_layers - 1:
            _drop_blocks_after(model, layer + 1)
        self.model = model.to(self.device).eval().requires_grad_(False)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> NucleotideTransformerEmbedder:
        """Load ``pretrained`` (hub ID or directory) or build ``tiny`` with random weights.

        Keys: ``pretrained``, ``tiny`` (``EsmConfig`` fields, default :data:`TINY_NT`),
        ``layer`` (-1), ``input_length`` (bp, only checked against the token budget),
        ``device`` ("cpu"), ``dtype`` ("float32"; "bfloat16"/"float16" on GPU),
        ``batch_size`` (8), ``truncate_layers`` (True: skip blocks after ``layer``),
        ``seed`` (0, tiny weights only).
        """
        from transformers import AutoModelForMaskedLM, AutoTokenizer

        dtype = getattr(torch, str(cfg.get("dtype", "float32")))
        pretrained = cfg.get("pretrained")
        if pretrained is not None:
            model = AutoModelForMaskedLM.from_pretrained(str(pretrained), trust_remote_code=True)
            tokenizer = AutoTokenizer.from_pretrained(str(pretrained), trust_remote_code=True)
        else:
            from tempfile import TemporaryDirectory

            with TemporaryDirectory() as tmp:  # same loading path as a checkpoint on disk
                save_pretrained_tiny(tmp, cfg.get("tiny") or TINY_NT, seed=cfg.get("seed", 0))
                model = AutoModelForMaskedLM.from_pretrained(tmp, trust_remote_code=True)
                tokenizer = AutoTokenizer.from_pretrained(tmp, trust_remote_code=True)
        model = model.to(dtype)
        embedder = cls(
            model,
            tokenizer,
            layer=int(cfg.get("layer", -1)),
            device=cfg.get("device", "cpu"),
            batch_size=int(cfg.get("batch_size", 8)),
            truncate_layers=bool(cfg.get("truncate_layers", True)),
        )
        input_length = cfg.get("input_length")
        max_pos = getattr(model.config, "max_position_embeddings", None)
        if input_length is not None and max_pos is not None:
            if tokens_for_length(int(input_length)) + 1 > max_pos:
                raise ValueError(
                    f"input_length {input_length} needs {tokens_for_length(int(input_length))}"
                    f" tokens + <cls>, more than the model's {max_pos} positions"
                )
        return embedder

    @property
    def embedding_dim(self) -> int:
        """Width D of the returned hidden states."""
        return int(self.model.config.hidden_size)

    @staticmethod
    def tokens_for_length(length: int) -> int:
        """Output positions T for a window of ``length`` bases (``length // 6 + length % 6``)."""
        return tokens_for_length(length)

    def token_ids(self, seq: str) -> tuple[list[str], list[int]]:
        """NT tokens of ``seq`` and their ids, ``<cls>`` id first."""
        tokens = kmer_tokens(seq)
        return tokens, [self.cls_id, *self.tokenizer.convert_tokens_to_ids(tokens)]

    def embed(self, seqs: Sequence[str]) -> np.ndarray:
        """Hidden states of ``layer`` as float32 ``(B, T, D)``, ``<cls>`` dropped.

        All sequences must have the same length L; T is ``tokens_for_length(L)``.
        """
        if len(seqs) == 0:
            raise ValueError("embed needs at least one sequence")
        length = len(seqs[0])
        if any(len(s) != length for s in seqs):
            raise ValueError("embed needs sequences of equal length")
        n_slots = tokens_for_length(length)
        grid = _slot_lengths(length)
        out = np.empty((len(seqs), n_slots, self.embedding_dim), dtype=np.float32)
        for lo in range(0, len(seqs), self.batch_size):
            chunk = [self.token_ids(s) for s in seqs[lo : lo + self.batch_size]]
            hidden = self._forward([ids for _, ids in chunk])
            for i, (tokens, _) in enumerate(chunk):
                states = hidden[i, 1 : len(tokens) + 1]
                if len(tokens) == n_slots and np.array_equal([len(t) for t in tokens], grid):
                    out[lo + i] = states
                else:
                    out[lo + i] = _realign(states, tokens, length)
        return out

    def _forward(self, batch_ids: list[list[int]]) -> np.ndarray:
        """Run the model on right-padded ids and return the chosen layer as float32 numpy."""
        width = max(len(ids) for ids in batch_ids)
        input_ids = torch.full((len(batch_ids), width), self.pad_id, dtype=torch.long)
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


def _drop_blocks_after(model: torch.nn.Module, keep: int) -> None:
    """Keep only the first ``keep`` encoder blocks, when the model exposes them ESM-style.

    ``keep = layer + 1`` so the wanted hidden state is never the last one, which
    transformers returns after the final LayerNorm.
    """
    encoder = getattr(getattr(model, "esm", None), "encoder", None)
    blocks = getattr(encoder, "layer", None)
    if isinstance(blocks, torch.nn.ModuleList) and keep < len(blocks):
        encoder.layer = blocks[:keep]
        model.config.num_hidden_layers = keep
