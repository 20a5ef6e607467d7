"""Tests for haplexpr.models.nt_tokenizer: NT v2's 6-mer tokens and ids, its vocabulary, the
2,048-token limit and the realignment of token states onto bases."""

from __future__ import annotations

import numpy as np
import pytest
from support.dna import random_dna, seed_nt_input

from haplexpr.models.nt_tokenizer import (
    MAX_TOKENS,
    NT_VOCAB,
    kmer_tokens,
    realign,
    token_ids,
    tokens_for_length,
)

# Ids worked out by hand: a 6-mer's id is 6 + its base-4 number with A=0, T=1, C=2, G=3
# (NT's product("ATCG") order after the six specials); single A, T, C, G, N are 4102-4106;
# <cls> is 3. E.g. ACGTAC = 6 + (0, 2, 3, 1, 0, 2) in base 4 = 6 + 722 = 728.
HAND_TOKENISED = [
    ("", [3]),
    ("ACGTAC", [3, 728]),
    ("ATCGATG", [3, 439, 4105]),  # ATCGAT = 6 + 433, leftover G
    ("GATTACA", [3, 3160, 4102]),  # GATTAC = 6 + 3154, leftover A
    ("TTTTTTTTTTTT", [3, 1371, 1371]),  # TTTTTT = 6 + 1365
    ("NNNN", [3, 4106, 4106, 4106, 4106]),  # a run of N: one token each
    ("AAAAAANNTTTTTTA", [3, 6, 4106, 4106, 1371, 4102]),  # the grid restarts after N
    ("CCCCCCCNAAAAAAC", [3, 2736, 4104, 4106, 6, 4104]),  # leftovers before N and at the end
    ("acgtac", [3, 728]),  # soft-masked: upper-cased
    ("GGGGGGgggggg", [3, 4101, 4101]),  # GGGGGG = 6 + 4095, case mixed
    ("ACGRTACGTACG", [3, 4102, 4104, 4105, 4106, 1210, 4104, 4105]),  # IUPAC R -> N
    ("acgtyk-", [3, 4102, 4104, 4105, 4103, 4106, 4106, 4106]),  # y, k, gap -> N
]


@pytest.mark.parametrize(("seq", "ids"), HAND_TOKENISED)
def test_token_ids_written_out_by_hand(seq, ids):
    tokens, got = token_ids(seq)
    assert got == ids
    assert [NT_VOCAB[i] for i in got[1:]] == tokens


def test_kmer_tokens_follow_nt_rules():
    assert kmer_tokens("ACGTACGTA") == ["ACGTAC", "G", "T", "A"]
    assert kmer_tokens("ATCGAATNGGCGATGCAC") == ["ATCGAA", "T", "N", "GGCGAT", "G", "C", "A", "C"]
    assert tokens_for_length(11_000) == 1835 and tokens_for_length(2048) == 343


def test_nt_vocab_layout():
    assert len(NT_VOCAB) == 4107
    assert NT_VOCAB[:6] == ["<unk>", "<pad>", "<mask>", "<cls>", "<eos>", "<bos>"]
    assert NT_VOCAB[6:10] == ["AAAAAA", "AAAAAT", "AAAAAC", "AAAAAG"]
    assert NT_VOCAB[4101] == "GGGGGG" and NT_VOCAB[-5:] == ["A", "T", "C", "G", "N"]


def test_at_most_2048_tokens_per_forward_pass():
    assert MAX_TOKENS == 2048
    assert len(token_ids("A" * 6 * 2047)[1]) == 2048  # 12,282 bp: the most that fits
    with pytest.raises(ValueError, match=r"12,283-bp sequence makes 2,049 tokens .* 2,048"):
        token_ids("A" * (6 * 2047 + 1))
    with pytest.raises(ValueError, match="2,048"):  # N costs a token per base
        token_ids("N" * 2048)


def test_realign_weights_tokens_by_shared_bases():
    tokens = ["A", "C", "N", "GGCGAT", "T"]  # 10 bases: slot 0 = bases 0-5, then 4 singles
    hidden = np.arange(5, dtype=np.float32)[:, None].repeat(2, axis=1)
    out = realign(hidden, tokens, 10)
    np.testing.assert_allclose(out[:, 0], [(0 + 1 + 2 + 3 * 3) / 6, 3, 3, 3, 4])
    clean = kmer_tokens(random_dna(20))  # on NT's own grid the realignment is the identity
    hidden = np.random.default_rng(0).normal(size=(len(clean), 3)).astype(np.float32)
    np.testing.assert_allclose(realign(hidden, clean, 20), hidden, rtol=1e-6)


def test_delete_tokenises_the_sequence_with_non_acgt_removed_as_the_seed():
    seq = "ACGRTACGTNNACGTTAy-CGTACG"
    assert kmer_tokens(seq, "delete") == kmer_tokens(seed_nt_input(seq.upper()))
    assert kmer_tokens("ACGRTACGTACG", "delete") == ["ACGTAC", "G", "T", "A", "C", "G"]
    assert kmer_tokens("ACGRTACGTACG") == ["A", "C", "G", "N", "TACGTA", "C", "G"]
    assert token_ids("NNNN", "delete") == ([], [3])  # only <cls> is left
