"""Frozen gLM embeddings, computed once per (gLM, individual) and reused by every run.

The seed kept one ``.pt`` per sample x gene x haplotype (0.5-1 GB each for Evo2); here
each shard of individuals (one GPU job) gets one float16 array ``(rows, positions, dim)``,
one row per distinct window (haplotypes with the same sequence share it),
written straight to a memory-mapped ``.npy`` (never whole in memory) plus a JSON index of
its rows, both renamed into place only when complete.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from haplexpr.devices import resolve_device
from haplexpr.embeddings.shards import write_shard
from haplexpr.models import registry
from haplexpr.models.embedding_windows import EmbeddingWindows
from haplexpr.sequences.distinct import batches, distinct_windows
from haplexpr.sequences.store import HaplotypeStore

log = logging.getLogger(__name__)


def load_embedder(model_config: dict, device: str = "auto"):
    """The frozen feature extractor named by a gLM's config (tiny or pretrained)."""
    return registry.build(model_config, device=str(resolve_device(device)))


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
    (:mod:`haplexpr.sequences.distinct`), each tiled and pooled as its config says
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
    batch = registry.settings(model_config).batch_size
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
