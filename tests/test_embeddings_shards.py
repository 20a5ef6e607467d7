"""Tests for haplexpr.embeddings.shards: a shard written block by block reads back with its
items and shared rows, and one damaged on disk or out of step with its index is refused."""

import json
from itertools import pairwise

import numpy as np
import pytest

from haplexpr.embeddings.shards import DamagedShardError, open_shard, write_shard

ITEMS = [("reference", "gA", 1), ("S", "gA", 1), ("S", "gA", 2), ("S", "gB", 1)]
ROWS = [0, 1, 1, 2]  # S's two gA haplotypes are alike: one row
VALUES = np.arange(3 * 5 * 2, dtype=np.float32).reshape(3, 5, 2) / 7 - 2


def write_example(folder, blocks=(VALUES[:2], VALUES[2:])):
    """The example shard (``folder/shard000.npy`` and ``.json``) from ``blocks`` of rows."""
    array, index = folder / "shard000.npy", folder / "shard000.json"
    write_shard(array, index, VALUES.shape, ITEMS, ROWS, blocks)
    return array, index


@pytest.mark.parametrize("sizes", [(3,), (1, 1, 1), (2, 1), (0, 3)])
def test_a_shard_reads_back_its_rows_items_and_shared_rows(tmp_path, sizes):
    edges = np.cumsum((0, *sizes))
    array_path, _ = write_example(tmp_path, [VALUES[a:b] for a, b in pairwise(edges)])
    array, items, rows = open_shard(array_path)
    assert array.dtype == np.float16 and array.shape == VALUES.shape
    # float16 rounds values of magnitude < 4 by at most 2**-10; a swapped row is off by > 0.1
    np.testing.assert_allclose(array.astype(np.float32), VALUES, atol=2**-9, rtol=0)
    assert items == ITEMS and rows == ROWS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shard000.json", "shard000.npy"]


def test_too_few_rows_leave_no_files(tmp_path):
    with pytest.raises(RuntimeError, match=r"2 rows written to .*shard000.npy, expected 3"):
        write_example(tmp_path, [VALUES[:2]])
    assert list(tmp_path.iterdir()) == []


def test_a_shard_from_before_shared_rows_and_checksums_is_read(tmp_path):
    array_path, index_path = write_example(tmp_path)
    index_path.write_text(json.dumps({"shape": [3, 5, 2], "items": ITEMS[:3]}))
    _, items, rows = open_shard(array_path)
    assert items == ITEMS[:3] and rows == [0, 1, 2]  # one row per haplotype, in order


@pytest.mark.parametrize(
    "damage",
    ["truncated", "longer", "flipped", "index_items", "index_rows", "index_missing", "header"],
)
def test_a_damaged_shard_is_named_when_read(tmp_path, damage):
    """A shard cut short, grown, changed, or out of step with its index is refused by name."""
    write_example(tmp_path)
    array, index = tmp_path / "shard000.npy", tmp_path / "shard000.json"
    data = array.read_bytes()
    if damage == "truncated":
        array.write_bytes(data[:-2])
    elif damage == "longer":
        array.write_bytes(data + b"\0\0")
    elif damage == "flipped":  # same length, one value changed: only the checksum sees it
        array.write_bytes(data[:-2] + bytes([data[-2] ^ 0x40]) + data[-1:])
    elif damage.startswith("index_"):
        content = json.loads(index.read_text())
        if damage == "index_items":
            content["items"] = content["items"][:-1]
        else:  # a row left out, another named twice
            content["rows"] = [content["rows"][0], *content["rows"][:-1]]
        index.write_text(json.dumps(content))
    elif damage == "index_missing":
        index.unlink()
    else:
        array.write_bytes(b"not an npy file" + data[15:])
    with pytest.raises(DamagedShardError, match=f"embedding shard {array} is damaged"):
        open_shard(array)
