"""Tests for haplexpr.embeddings.computed: shard arrays + indexes of frozen gLM embeddings."""

import json
from pathlib import Path

import numpy as np
import pytest
from support import ROOT
from support.embedding_shards import OneHotEmbedder
from support.haplotype_stores import SHARED_INDIVIDUALS, build_two_gene_store, hand_one_hot

from haplexpr.config import embedding_settings, load_config
from haplexpr.embeddings import computed
from haplexpr.sequences.store import HaplotypeStore
from haplexpr.study.design import Example
from haplexpr.training.datasets import EmbeddingDataset, SequenceDataset

LENGTH = 64
#: The config entry of the fake gLM: one state per base, as Caduceus has.
FAKE_GLM = {"architecture": "caduceus", "input_length": LENGTH}
INDIVIDUALS = ["reference", "S", "T"]  # as the workflow shards them: reference first
ITEMS = [("reference", "gA", 1), ("reference", "gB", 1)] + [
    (i, g, h) for i in ("S", "T") for g in ("gA", "gB") for h in (1, 2)
]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> HaplotypeStore:
    store = build_two_gene_store(tmp_path_factory.mktemp("store"))
    assert len({store.model_input(*item, LENGTH) for item in ITEMS}) == len(ITEMS)
    return store


def test_alike_haplotypes_share_one_stored_row(fake, shared_store, tmp_path):
    """Six distinct windows for 14 haplotypes: 6 rows, each haplotype reading its own input."""
    array, index = embed_into(tmp_path, shared_store, SHARED_INDIVIDUALS, batch_size=4)
    assert array.shape == (6, LENGTH, 4) and fake.batches == [4, 2]
    assert len(index["items"]) == len(index["rows"]) == 14
    for item, row in zip(index["items"], index["rows"], strict=True):
        want = hand_one_hot(shared_store.model_input(*item, LENGTH))
        np.testing.assert_array_equal(array[row], want)
    examples = [Example(i, g, 0.5) for i in SHARED_INDIVIDUALS for g in ("gA", "gB")]
    read = EmbeddingDataset([tmp_path / "shard000.npy"], examples)
    for (x, _), (want, _) in zip(
        read, SequenceDataset(shared_store, examples, LENGTH), strict=True
    ):
        np.testing.assert_array_equal(x.numpy(), want.numpy())


def embed_into(folder: Path, store, individuals, batch_size: int, **config):
    config = {**FAKE_GLM, "batch_size": batch_size, **config}
    array = folder / "shard000.npy"
    path = computed.compute_embeddings(
        store, individuals, config, array, folder / "shard000.json", device="cpu"
    )
    assert path == array
    return np.load(array), json.loads((folder / "shard000.json").read_text())


@pytest.mark.parametrize("batch_size", [1, 3, 4, 10, 16])
def test_rows_follow_items_for_any_batch_size(fake, store, tmp_path, batch_size):
    array, index = embed_into(tmp_path, store, INDIVIDUALS, batch_size)
    sizes = [min(batch_size, len(ITEMS) - lo) for lo in range(0, len(ITEMS), batch_size)]
    assert fake.batches == sizes
    assert array.dtype == np.float16 and array.shape == (len(ITEMS), LENGTH, 4)
    assert index["shape"] == [len(ITEMS), LENGTH, 4]
    assert index["items"] == [list(i) for i in ITEMS]
    assert sorted(index["rows"]) == list(range(len(ITEMS)))
    expected = np.stack([hand_one_hot(store.model_input(*item, LENGTH)) for item in ITEMS])
    np.testing.assert_array_equal(array[index["rows"]], expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shard000.json", "shard000.npy"]


def test_rows_follow_the_order_of_individuals_given(fake, store, tmp_path):
    _, index = embed_into(tmp_path, store, ["T", "S"], batch_size=8)
    assert [tuple(i) for i in index["items"]] == ITEMS[6:] + ITEMS[2:6]


def test_only_the_genes_the_design_uses_are_embedded(fake, store, tmp_path):
    """The reference over both genes, individuals over gB only: 2 + 4 rows, not 10."""
    genes_of = {"reference": ["gA", "gB"], "S": ["gB"], "T": ["gB"]}.get
    config = {**FAKE_GLM, "batch_size": 4}
    computed.compute_embeddings(
        store, INDIVIDUALS, config, tmp_path / "a.npy", tmp_path / "a.json", "cpu", genes_of
    )
    index = json.loads((tmp_path / "a.json").read_text())
    want = ITEMS[:2] + [(i, "gB", h) for i in ("S", "T") for h in (1, 2)]
    assert [tuple(i) for i in index["items"]] == want
    array = np.load(tmp_path / "a.npy")
    assert array.shape == (len(want), LENGTH, 4)
    expected = np.stack([hand_one_hot(store.model_input(*item, LENGTH)) for item in want])
    np.testing.assert_array_equal(array[index["rows"]], expected)


def test_round_trip_through_embedding_dataset(fake, store, tmp_path):
    """Read back, each (individual, gene) is its haplotypes' rows: here their one-hot inputs."""
    embed_into(tmp_path, store, INDIVIDUALS, batch_size=3)
    examples = [Example(i, g, 0.25) for i in INDIVIDUALS for g in ("gB", "gA")]
    read = EmbeddingDataset([tmp_path / "shard000.npy"], examples)
    assert read.embedding_dim == 4
    for (x, y), (want, target) in zip(read, SequenceDataset(store, examples, LENGTH), strict=True):
        np.testing.assert_array_equal(x.numpy(), want.numpy())
        assert y.item() == target.item()


def test_failure_mid_way_leaves_no_files(monkeypatch, store, tmp_path):
    failing = OneHotEmbedder(fail_on_batch=1)
    monkeypatch.setattr(computed, "load_embedder", lambda config, device: failing)
    with pytest.raises(RuntimeError, match="CUDA out of memory"):
        embed_into(tmp_path, store, INDIVIDUALS, batch_size=4)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def nt_config():
    """The demo's tiny NT (random weights, seed 0) with the keys an embedding job gets."""
    model = load_config(ROOT / "config.yaml")["models"]["nt"]
    assert model["pretrained"] is None
    config = embedding_settings(model)
    return {**config, "input_length": LENGTH, "batch_size": 3}


def test_tiny_nt_embeddings_equal_what_the_embedder_returns(nt_config, store, tmp_path):
    """An independently loaded tiny NT reproduces every stored row, one window at a time."""
    array, index = embed_into(tmp_path, store, INDIVIDUALS, **nt_config)
    embedder = computed.load_embedder(nt_config, device="cpu")
    assert embedder.device.type == "cpu"
    assert all(p.device.type == "cpu" for p in embedder.model.parameters())
    assert embedder.embedding_dim == nt_config["tiny"]["hidden_size"]
    shape = (len(ITEMS), -(-LENGTH // 6), embedder.embedding_dim)  # bins of 6 bases
    assert array.dtype == np.float16 and array.shape == shape == (10, 11, 32)
    assert index["shape"] == list(shape) and index["items"] == [list(i) for i in ITEMS]
    array = array[index["rows"]]  # in the order of ITEMS
    # Each 6-mer state spread over its bases, then averaged in bins of 6 from the start:
    # bins are the 10 whole 6-mers and the 4 single tail bases' mean.
    windows = [embedder.embed([store.model_input(*i, LENGTH)])[0] for i in ITEMS]
    expected = np.stack([np.concatenate([w[:10], w[10:].mean(0, keepdims=True)]) for w in windows])
    # float16 keeps 11 significant bits (relative rounding error <= 2**-11 ~ 4.9e-4).
    np.testing.assert_allclose(array.astype(np.float32), expected, rtol=1e-3, atol=1e-5)
    # Rows are told apart far beyond that tolerance, so a swapped or shifted row would fail.
    gaps = [np.abs(a - b).max() for n, a in enumerate(expected) for b in expected[n + 1 :]]
    assert min(gaps) > 0.01
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shard000.json", "shard000.npy"]
    read = EmbeddingDataset([tmp_path / "shard000.npy"], [Example("T", "gB", 1.0)])
    np.testing.assert_array_equal(read[0][0].numpy(), array[8:10].astype(np.float32))
