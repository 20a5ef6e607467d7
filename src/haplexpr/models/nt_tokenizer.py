"""Nucleotide Transformer v2 tokenisation and the genome-anchored 6-mer grid its outputs map to.

Rule (NT's ``NucleotidesKmersTokenizer``, ``nucleotide_transformer/tokenizers.py``): split the
sequence at N; cut each N-free piece into non-overlapping 6-mers from the piece's start; the
piece's leftover tail (< 6 bases) becomes single-nucleotide tokens; each N is its own token.
Read left to right that is: take a 6-mer if the next six bases are all ACGT, else one base.
``<cls>`` goes first and no ``<eos>`` is appended, as NT v2 does.

Two choices of ours, because NT's vocabulary has no token for them (its tokenizers would give
``<unk>``): lower case (soft-masked repeats: an annotation, not a different base) is
upper-cased, and every other IUPAC code (R, Y, ..., also gaps) becomes N, the one token that
means "some base" (``non_acgt: n_token``). The seed instead deletes every base other than
A, C, G, T before tokenising (its ``nonCan = ""`` for NT; ``non_acgt: delete``), so 6-mers
run across the deleted bases; upper-casing comes first either way (the seed's check is
case-sensitive, so it would delete soft-masked bases too; hs37d5 is upper case).

The vocabulary is NT v2's (``vocab.txt`` of the ``InstaDeepAI/nucleotide-transformer-v2-*``
checkpoints, 4,107 tokens): the six specials, the 4,096 6-mers in
``itertools.product("ATCG", repeat=6)`` order, then A, T, C, G, N. A checkpoint whose
``vocab.txt`` differs is refused by :func:`check_vocab`, so ids are never silently wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import product

import numpy as np

from haplexpr.sequence_encoding import acgt_or

__all__ = [
    "MAX_TOKENS",
    "NON_ACGT_RULES",
    "NT_VOCAB",
    "acgt_mask",
    "check_vocab",
    "kmer_tokens",
    "realign",
    "slot_lengths",
    "token_ids",
    "tokens_for_length",
]

K = 6
SPECIAL_TOKENS = ["<unk>", "<pad>", "<mask>", "<cls>", "<eos>", "<bos>"]
#: NT's base order (``nucleotide_transformer/constants.py``: ``NUCLEOTIDES = ["A","T","C","G"]``).
NT_BASES = "ATCG"
NT_VOCAB: list[str] = (
    SPECIAL_TOKENS + ["".join(p) for p in product(NT_BASES, repeat=K)] + list(NT_BASES) + ["N"]
)
TOKEN_ID = {token: i for i, token in enumerate(NT_VOCAB)}
CLS_ID = TOKEN_ID["<cls>"]
PAD_ID = TOKEN_ID["<pad>"]
MASK_ID = TOKEN_ID["<mask>"]
#: Tokens per forward pass, ``<cls>`` included (NT v2's 2,048 positions: 2,047 6-mers, 12,282 bp).
MAX_TOKENS = 2048

_TOKEN_RE = re.compile(r"[ACGT]{6}|.", re.DOTALL)
_UPPER_ACGT = str.maketrans("acgt", "ACGT")


#: What becomes of a base other than A, C, G, T (after upper-casing): the N token, or nothing.
NON_ACGT_RULES = {"n_token": "N", "delete": ""}


def kmer_tokens(seq: str, non_acgt: str = "n_token") -> list[str]:
    """Split ``seq`` into NT tokens: 6-mers, restarting after each N, single-base leftovers.

    ``non_acgt``: ``n_token`` turns other codes into N; ``delete`` (the seed's) drops them.
    """
    return _TOKEN_RE.findall(acgt_or(seq, NON_ACGT_RULES[non_acgt]))


def acgt_mask(seq: str) -> np.ndarray:
    """Which bases of ``seq`` are A, C, G or T in either case (the bases ``delete`` keeps)."""
    codes = np.frombuffer(seq.translate(_UPPER_ACGT).encode("ascii", "replace"), dtype=np.uint8)
    return np.isin(codes, np.frombuffer(b"ACGT", dtype=np.uint8))


def token_ids(seq: str, non_acgt: str = "n_token") -> tuple[list[str], list[int]]:
    """NT tokens of ``seq`` and their ids, ``<cls>`` id first; refuses more than MAX_TOKENS."""
    tokens = kmer_tokens(seq, non_acgt)
    if len(tokens) + 1 > MAX_TOKENS:
        raise ValueError(
            f"a {len(seq):,}-bp sequence makes {len(tokens) + 1:,} tokens with <cls>, more than"
            f" NT v2's {MAX_TOKENS:,} per forward pass (<= {(MAX_TOKENS - 1) * K:,} bp of ACGT);"
            " use a shorter input_length"
        )
    return tokens, [CLS_ID, *(TOKEN_ID[t] for t in tokens)]


def check_vocab(vocab: Sequence[str], where: str) -> None:
    """Refuse a checkpoint vocabulary that is not NT v2's, naming the first difference."""
    vocab = list(vocab)
    if vocab == NT_VOCAB:
        return
    if len(vocab) != len(NT_VOCAB):
        raise ValueError(f"{where}: {len(vocab):,} tokens, NT v2 has {len(NT_VOCAB):,}")
    i = next(i for i, (a, b) in enumerate(zip(vocab, NT_VOCAB, strict=True)) if a != b)
    raise ValueError(f"{where}: token {i} is {vocab[i]!r}, NT v2 has {NT_VOCAB[i]!r}")


def tokens_for_length(length: int) -> int:
    """Count genome-anchored output positions for a window of ``length`` bases."""
    return length // K + length % K


def slot_lengths(length: int) -> np.ndarray:
    """Bases per output slot: six per full 6-mer slot, one per tail base."""
    return np.concatenate(
        [np.full(length // K, K, dtype=np.int64), np.ones(length % K, dtype=np.int64)]
    )


def realign(
    hidden: np.ndarray, tokens: Sequence[str], length: int, kept: np.ndarray | None = None
) -> np.ndarray:
    """Average token states onto the fixed 6-mer slot grid, weighting by shared bases.

    ``kept`` marks the bases the tokens cover, in order (None: all); the others (deleted
    before tokenising) take no part, and a slot with no kept base is zeros.
    """
    token_lengths = np.fromiter((len(t) for t in tokens), dtype=np.int64, count=len(tokens))
    slots = slot_lengths(length)
    per_token_base = np.repeat(hidden, token_lengths, axis=0)
    if kept is None:
        per_base, weights = per_token_base, np.ones(length)
    else:
        per_base = np.zeros((length, hidden.shape[1]), dtype=hidden.dtype)
        per_base[kept] = per_token_base
        weights = kept.astype(np.float64)
    starts = np.concatenate([[0], np.cumsum(slots)[:-1]])
    sums = np.add.reduceat(per_base, starts, axis=0)
    counts = np.add.reduceat(weights, starts)
    return (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)
