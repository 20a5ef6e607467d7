"""Embedding shards on disk: one float16 array per (gLM, shard of individuals) plus its index.

Written by computed (``embeddings.computed``) and imported (``embeddings.imported``)
embeddings alike and read by the towers' datasets; numpy only, so the Snakefile's start-up,
which imports ``embeddings.imported``, loads no torch.
"""

from __future__ import annotations

import json
import logging
import time
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from haplexpr.atomic import atomic_path

log = logging.getLogger(__name__)


def write_shard(
    array_path: str | Path,
    index_path: str | Path,
    shape: tuple[int, int, int],
    items: list[tuple[str, str, int]],
    rows: list[int],
    blocks: Iterable[np.ndarray],
) -> None:
    """Write an embedding shard: ``blocks`` of consecutive rows, then its index.

    The array is float16 ``shape``, filled block by block through a memory map (never whole
    in memory); the index holds each item's row and the data's CRC-32, which
    :func:`open_shard` checks. Both files are renamed into place only when complete.
    """
    with atomic_path(array_path) as tmp:
        with tmp.open("wb") as handle:  # open_memmap would append .npy to the temp name
            np.lib.format.write_array_header_1_0(
                handle, {"descr": "<f2", "fortran_order": False, "shape": shape}
            )
            offset = handle.tell()
            handle.truncate(offset + int(np.prod(shape)) * 2)
        array = np.memmap(tmp, dtype=np.float16, mode="r+", offset=offset, shape=shape)
        last_report = time.monotonic()
        lo = checksum = 0  # CRC-32 of the data, row after row as stored
        for block in blocks:
            block = np.ascontiguousarray(block, dtype=np.float16)
            array[lo : lo + len(block)] = block
            checksum = zlib.crc32(block.data, checksum)
            lo += len(block)
            if time.monotonic() - last_report > 30:
                log.info("wrote %d/%d rows of %s", lo, shape[0], array_path)
                last_report = time.monotonic()
        if lo != shape[0]:
            raise RuntimeError(f"{lo} rows written to {array_path}, expected {shape[0]}")
        array.flush()
        del array
    with atomic_path(index_path) as tmp:
        index = {"shape": list(shape), "items": items, "rows": rows, "crc32": checksum}
        tmp.write_text(json.dumps(index) + "\n")


class DamagedShardError(ValueError):
    """An embedding shard whose array or index is missing, cut short or inconsistent."""


def open_shard(
    array_path: str | Path,
) -> tuple[np.memmap, list[tuple[str, str, int]], list[int]]:
    """Memory-map one shard; return it, every haplotype's (individual, gene, haplotype), its row.

    The array's header, its index and the file's length must agree, every row must be some
    haplotype's, and the data must have the CRC-32 its index recorded (shards written
    before checksums have none; checking reads the shard once, as one epoch does): a file
    cut short by a full disk or a copy, flipped bytes, or an index from another run raise
    :class:`DamagedShardError` naming the shard (delete it and rerun the job that wrote it)
    rather than training on zeros or misattributed rows.
    """
    path = Path(array_path)
    index_path = path.with_suffix(".json")

    def damaged(why: str) -> DamagedShardError:
        return DamagedShardError(
            f"embedding shard {path} is damaged ({why}); delete {path} and {index_path.name}"
            " and rerun the job that wrote it (embeddings_compute, or embeddings_import for a"
            " model with precomputed_root)"
        )

    try:
        index = json.loads(index_path.read_text())
        shape, items = tuple(index["shape"]), [tuple(item) for item in index["items"]]
        # Shards written before rows were shared hold one row per haplotype, in order.
        rows = [int(row) for row in index.get("rows", range(len(items)))]
        with path.open("rb") as handle:
            read_header = {
                (1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0,
            }[np.lib.format.read_magic(handle)]
            header_shape, _, dtype = read_header(handle)
            offset = handle.tell()
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise damaged(f"unreadable: {error}") from error
    if dtype != np.float16 or header_shape != shape:
        raise damaged(f"array {header_shape} {dtype}, index {shape}; expected float16, the same")
    if len(rows) != len(items) or set(rows) != set(range(shape[0])):
        raise damaged(
            f"index of {len(items)} haplotypes and {len(rows)} row numbers, which must name"
            f" each of the array's {shape[0]} rows"
        )
    expected = offset + int(np.prod(shape)) * 2
    if path.stat().st_size != expected:
        raise damaged(f"{path.stat().st_size:,} bytes, expected {expected:,}")
    if "crc32" in index and _crc32(path, offset) != index["crc32"]:
        raise damaged(f"its data's CRC-32 is not the {index['crc32']} its index recorded")
    array = np.memmap(path, dtype=np.float16, mode="r", offset=offset, shape=shape)
    return array, items, rows


def _crc32(path: Path, offset: int) -> int:
    """CRC-32 of ``path`` from ``offset`` to its end, read in chunks."""
    checksum = 0
    with path.open("rb") as handle:
        handle.seek(offset)
        while chunk := handle.read(1 << 24):
            checksum = zlib.crc32(chunk, checksum)
    return checksum
