"""Frozen gLM embeddings, computed once per (gLM, individual) and reused by every run.

The seed kept one ``.pt`` per sample x gene x haplotype (0.5-1 GB each for Evo2); here
each shard of individuals (one GPU job) gets one float16 array ``(rows, positions, dim)``,
one row per distinct window (haplotypes with the same sequence share it),
written straight to a memory-mapped ``.npy`` (never whole in memory) plus a JSON index of
its rows, both renamed into place only when complete.
"""

from __future__ import annotations

import json
import logging
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from haplexpr.atomic import atomic_path
from haplexpr.haplotypes.distinct import batches, distinct_windows
from haplexpr.haplotypes.store import HaplotypeStore
from haplexpr.models import registry
from haplexpr.models.embedding_windows import EmbeddingWindows
from haplexpr.training.loop import resolve_device

log = logging.getLogger(__name__)


def load_embedder(model_config: dict, device: str = "auto"):
    """The frozen feature extractor named by a gLM's config (tiny or pretrained)."""
    return registry.build({**model_config, "device": str(resolve_device(device))})


def compute_embeddings(
    store: HaplotypeStore,
    individuals: list[str],
    model_config: dict,
    array_path: str | Path,
    index_path: str | Path,
    device: str = "auto",
    genes_of: Callable[[str], list[str]] | None = None,
) -> Path:
    """Embed the gene windows and haplotypes of some individuals into one array + index.

    ``genes_of(individual)`` names the genes to embed for each (the design's,
    :meth:`~haplexpr.study.design.Study.genes_of`); None embeds every gene of the store.

    The array is ``(rows, positions, dim)`` float16, one row per distinct window of a gene
    (:mod:`haplexpr.haplotypes.distinct`), each tiled and pooled as its config says
    (:class:`~haplexpr.models.embedding_windows.EmbeddingWindows`); the index lists every
    haplotype's individual, gene and haplotype number with its row, so readers never need
    to know how individuals were sharded or which haplotypes were alike.
    """
    started = time.monotonic()
    windows = EmbeddingWindows.from_config("the gLM's config", model_config)
    embedder = load_embedder(model_config, device)
    every_gene = store.genes()
    cohorts = gene_cohorts(individuals, genes_of or (lambda _individual: every_gene))
    length = windows.input_length

    def windows_of_shard() -> Iterator:
        for members, genes in cohorts:
            yield from distinct_windows(store, members, genes, length)

    # First pass: which haplotypes share a row (the array's size must be known up front).
    groups = [w.items for w in windows_of_shard()]
    row_of = {item: row for row, items in enumerate(groups) for item in items}
    items = [
        (individual, gene, h)
        for members, genes in cohorts
        for individual in members
        for gene in genes
        for h in store.haplotypes(individual, gene)
    ]
    batch = int(model_config.get("batch_size", 8))
    shape = (len(groups), windows.positions, embedder.embedding_dim)
    log.info(
        "%d haplotype windows of %d individuals, %d distinct", len(items), len(individuals),
        len(groups),
    )  # fmt: skip

    def blocks():
        lo = 0
        for chunk in batches(windows_of_shard(), batch):
            if [w.items for w in chunk] != groups[lo : lo + len(chunk)]:
                raise RuntimeError("the sequence store changed while embedding it")
            lo += len(chunk)
            yield windows.embed(embedder, [w.sequence for w in chunk])

    write_shard(array_path, index_path, shape, items, [row_of[i] for i in items], blocks())
    log.info(
        "embedded %d haplotype windows (%d distinct) of %d individuals (%s) in %.1f s -> %s",
        len(items),
        len(groups),
        len(individuals),
        "x".join(map(str, shape)),
        time.monotonic() - started,
        array_path,
    )
    return Path(array_path)


def gene_cohorts(
    individuals: list[str], genes_of: Callable[[str], list[str]]
) -> list[tuple[list[str], list[str]]]:
    """``individuals`` grouped by the genes they are embedded for, in order of first sight.

    The reference (its own genes) and the individuals (theirs) make two groups; within a
    group, haplotypes of a gene that share a window share a row.
    """
    cohorts: dict[tuple[str, ...], list[str]] = {}
    for individual in individuals:
        cohorts.setdefault(tuple(genes_of(individual)), []).append(individual)
    return [(members, list(genes)) for genes, members in cohorts.items()]


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
    :class:`DamagedShardError` naming the shard (delete it and rerun its
    ``embeddings_compute`` job) rather than training on zeros or misattributed rows.
    """
    path = Path(array_path)
    index_path = path.with_suffix(".json")

    def damaged(why: str) -> DamagedShardError:
        return DamagedShardError(
            f"embedding shard {path} is damaged ({why}); delete {path} and {index_path.name}"
            " and rerun its embeddings_compute job"
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
