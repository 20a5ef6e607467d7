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

    The array is ``(items, tokens, dim)`` float16; the index lists each row's individual,
    gene and haplotype, so readers never need to know how individuals were sharded.
    """
    started = time.monotonic()
    embedder = load_embedder(model_config, device)
    length = int(model_config["input_length"])
    items = [
        (individual, gene, h)
        for individual in individuals
        for gene in store.genes()
        for h in store.haplotypes(individual, gene)
    ]
    batch = int(model_config.get("batch_size", 8))
    shape = (len(items), embedder.tokens_for_length(length), embedder.embedding_dim)
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
            array[lo : lo + len(chunk)] = embedder.embed(seqs)
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
