"""Tests for haplexpr.training.datasets: sequence items from a real store, embedding shards."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from support.haplotype_stores import REF, build_two_gene_store, hand_one_hot
from torch.utils.data import DataLoader

from haplexpr.sequences.store import HaplotypeStore
from haplexpr.study.design import REFERENCE_INDIVIDUAL, Example
from haplexpr.training.datasets import EmbeddingDataset, SequenceDataset


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> HaplotypeStore:
    return build_two_gene_store(tmp_path_factory.mktemp("store"))


# --- SequenceDataset ----------------------------------------------------------------------


@pytest.mark.parametrize("length", [64, 121])  # 121 > the 100-bp window: N-padded ends
def test_sequence_items_are_one_hot_model_inputs_of_every_haplotype(store, length):
    examples = [Example(i, g, 0.5 * n) for n, (i, g) in enumerate([("S", "gA"), ("T", "gB")])]
    dataset = SequenceDataset(store, examples, length)
    assert len(dataset) == 2
    for example, (x, y) in zip(examples, dataset, strict=True):
        assert x.dtype == torch.float32 and x.shape == (2, length, 4)
        inputs = [store.model_input(example.individual, example.gene, h, length) for h in (1, 2)]
        assert inputs[0] != inputs[1]
        assert ("N" in inputs[0]) == (length > 100)
        np.testing.assert_array_equal(x.numpy(), np.stack([hand_one_hot(s) for s in inputs]))
        assert y.item() == example.target


def test_reference_item_has_one_haplotype(store):
    x, y = SequenceDataset(store, [Example(REFERENCE_INDIVIDUAL, "gA", -1.25)], 64)[0]
    assert x.shape == (1, 64, 4) and y.item() == -1.25
    # gA is on the + strand: the reference bases [TSS - 32, TSS + 32).
    np.testing.assert_array_equal(x[0].numpy(), hand_one_hot(REF[118:182]))


def test_minus_strand_item_is_reverse_complemented(store):
    x, _ = SequenceDataset(store, [Example(REFERENCE_INDIVIDUAL, "gB", 0.0)], 64)[0]
    forward = REF[368:432].translate(str.maketrans("ACGT", "TGCA"))[::-1]
    np.testing.assert_array_equal(x[0].numpy(), hand_one_hot(forward))


def test_sequence_items_collate_into_batches(store):
    examples = [Example(i, g, 1.0) for i in ("S", "T") for g in ("gA", "gB")]
    x, y = next(iter(DataLoader(SequenceDataset(store, examples, 32), batch_size=3)))
    assert x.shape == (3, 2, 32, 4) and y.shape == (3,)


# --- EmbeddingDataset ---------------------------------------------------------------------

TOKENS, DIM = 5, 3


def write_shard(path: Path, items: list[tuple[str, str, int]], seed: int) -> np.ndarray:
    """A shard as compute_embeddings writes it: float16 (items, T, D) .npy + <name>.json."""
    array = np.random.default_rng(seed).normal(size=(len(items), TOKENS, DIM)).astype(np.float16)
    np.save(path, array)
    index = {"shape": list(array.shape), "items": [list(item) for item in items]}
    path.with_suffix(".json").write_text(json.dumps(index) + "\n")
    return array


def items_of(individuals, genes=("gA", "gB")):
    return [
        (i, g, h)
        for i in individuals
        for g in genes
        for h in ((1,) if i == "reference" else (1, 2))
    ]


@pytest.fixture
def shards(tmp_path):
    first = write_shard(tmp_path / "shard000.npy", items_of(["reference", "S"]), seed=0)
    second = write_shard(tmp_path / "shard001.npy", items_of(["T", "U"]), seed=1)
    return [tmp_path / "shard000.npy", tmp_path / "shard001.npy"], first, second


def test_embedding_items_gather_rows_across_shards(shards):
    paths, first, second = shards
    examples = [Example("reference", "gB", 0.1), Example("S", "gA", 0.2), Example("U", "gB", 0.3)]
    dataset = EmbeddingDataset(paths, examples)
    assert len(dataset) == 3 and dataset.embedding_dim == DIM
    # Rows: shard000 = ref/gA, ref/gB, S/gA/1, S/gA/2, ...; shard001 = T/gA/1, ..., U/gB/2.
    expected = [first[[1]], first[[2, 3]], second[[6, 7]]]
    for example, want, (x, y) in zip(examples, expected, dataset, strict=True):
        assert x.dtype == torch.float32 and x.shape == (len(want), TOKENS, DIM)
        np.testing.assert_array_equal(x.numpy(), want.astype(np.float32))
        assert y.item() == pytest.approx(example.target)


def test_sequences_of_one_item_split_over_two_shards(tmp_path):
    """Rows are gathered from every listed shard, in the order of the shards."""
    one = write_shard(tmp_path / "a.npy", [("S", "gA", 1), ("T", "gA", 1)], seed=2)
    two = write_shard(tmp_path / "b.npy", [("T", "gA", 2), ("S", "gA", 2)], seed=3)
    x, _ = EmbeddingDataset([tmp_path / "a.npy", tmp_path / "b.npy"], [Example("S", "gA", 0.0)])[0]
    np.testing.assert_array_equal(x.numpy(), np.stack([one[0], two[1]]).astype(np.float32))


def test_item_without_embeddings_is_named(shards):
    paths, *_ = shards
    with pytest.raises(KeyError, match="no embeddings for 1 items, e.g. V/gA"):
        EmbeddingDataset(paths, [Example("S", "gA", 0.0), Example("V", "gA", 0.0)])


def test_unlisted_shard_is_a_key_error(shards):
    paths, *_ = shards
    examples = [Example("S", "gA", 0.0), Example("T", "gB", 0.0), Example("U", "gB", 0.0)]
    with pytest.raises(KeyError, match="no embeddings for 2 items, e.g. T/gB"):
        EmbeddingDataset(paths[:1], examples)
