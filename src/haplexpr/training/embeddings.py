"""Frozen gLM embeddings, computed once per (gLM, individual) and reused by every run.

The seed kept one ``.pt`` per sample x gene x haplotype (0.5-1 GB each for Evo2); here
each shard of individuals (one GPU job) gets one float16 array ``(items, tokens, dim)``
written straight to a memory-mapped ``.npy`` (never whole in memory) plus a JSON index of
its rows, both renamed into place only when complete.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from haplexpr.atomic import atomic_path
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
) -> Path:
    """Embed every gene window and haplotype of some individuals into one array + index.

    The array is ``(items, positions, dim)`` float16, each window tiled and pooled as its
    config says (:class:`~haplexpr.models.embedding_windows.EmbeddingWindows`); the index
    lists each row's individual, gene and haplotype, so readers never need to know how
    individuals were sharded.
    """
    started = time.monotonic()
    windows = EmbeddingWindows.from_config("the gLM's config", model_config)
    embedder = load_embedder(model_config, device)
    length = windows.input_length
    items = [
        (individual, gene, h)
        for individual in individuals
        for gene in store.genes()
        for h in store.haplotypes(individual, gene)
    ]
    batch = int(model_config.get("batch_size", 8))
    shape = (len(items), windows.positions, embedder.embedding_dim)
    with atomic_path(array_path) as tmp:
        with tmp.open("wb") as handle:  # open_memmap would append .npy to the temp name
            np.lib.format.write_array_header_1_0(
                handle, {"descr": "<f2", "fortran_order": False, "shape": shape}
            )
            offset = handle.tell()
            handle.truncate(offset + int(np.prod(shape)) * 2)
        array = np.memmap(tmp, dtype=np.float16, mode="r+", offset=offset, shape=shape)
        last_report = time.monotonic()
        for lo in range(0, len(items), batch):
            chunk = items[lo : lo + batch]
            seqs = [store.model_input(ind, gene, h, length) for ind, gene, h in chunk]
            array[lo : lo + len(chunk)] = windows.embed(embedder, seqs)
            if time.monotonic() - last_report > 30:
                log.info("embedded %d/%d haplotype windows", lo + len(chunk), len(items))
                last_report = time.monotonic()
        array.flush()
        del array
    with atomic_path(index_path) as tmp:
        tmp.write_text(json.dumps({"shape": list(shape), "items": items}) + "\n")
    log.info(
        "embedded %d haplotype windows of %d individuals (%s) in %.1f s -> %s",
        len(items),
        len(individuals),
        "x".join(map(str, shape)),
        time.monotonic() - started,
        array_path,
    )
    return Path(array_path)


class DamagedShardError(ValueError):
    """An embedding shard whose array or index is missing, cut short or inconsistent."""


def open_shard(array_path: str | Path) -> tuple[np.memmap, list[tuple[str, str, int]]]:
    """Memory-map one shard and return it with its rows' (individual, gene, haplotype).

    The array's header, its index and the file's length must agree: a file cut short by a
    full disk or a copy, or an index from another run, raises :class:`DamagedShardError`
    naming the shard (delete it and rerun its ``embeddings_compute`` job) rather than
    training on zeros or misattributed rows.
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
        with path.open("rb") as handle:
            read_header = {
                (1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0,
            }[np.lib.format.read_magic(handle)]
            header_shape, _, dtype = read_header(handle)
            offset = handle.tell()
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise damaged(f"unreadable: {error}") from error
    if dtype != np.float16 or header_shape != shape or len(items) != shape[0]:
        raise damaged(
            f"array {header_shape} {dtype}, index {shape} with {len(items)} rows; expected"
            " float16 and the same shape"
        )
    expected = offset + int(np.prod(shape)) * 2
    if path.stat().st_size != expected:
        raise damaged(f"{path.stat().st_size:,} bytes, expected {expected:,}")
    return np.memmap(path, dtype=np.float16, mode="r", offset=offset, shape=shape), items
