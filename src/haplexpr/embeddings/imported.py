"""The seed's precomputed gLM embeddings (one ``.pt`` per sample, gene and haplotype), imported.

The seed (StatBiomed/gLM2X-Tower, config key ``preCalculatedEmbed_root``) reads
``<root>/<sample>/<gene>_allele_<a>.pt`` with ``a`` = 1 or 2 for an individual's haplotypes
and ``<root>/<reference_sample>/<gene>_allele_.pt`` for the reference (its ``ref`` sample),
each a tensor saved with ``torch.save``: ``(1, positions, hidden)`` (or ``(positions, hidden)``),
float32 or bfloat16. With ``models.<name>.precomputed_root`` set, rule ``embeddings_import``
turns such a folder into the pipeline's shards (:func:`import_embeddings`) instead of running
the model: every file is checked, its states are put back base by base and pooled by the
model's ``pooling`` settings exactly as computed states are
(:meth:`~haplexpr.models.embedding_windows.EmbeddingWindows.pool`).

What a saved position is (the seed ran each window in one pass, so ``context`` and
``stride`` do not apply):

- Evo2: one state per base. Caduceus: one per base (the seed drops the final ``<sep>``).
- NT v2: ``<cls>``, then one state per 6-mer slot of the window (six bases; a leftover tail
  one base each), then padding up to the seed's fixed 2,000 tokens. The padding is dropped;
  ``<cls>`` is dropped too, as this pipeline drops it when it embeds, unless ``keep_cls:
  true`` keeps it as the leading position, as the seed's tower reads it. The seed deletes
  non-ACGT bases before tokenising, so a window with k such bases has its tokens shifted by
  up to k bases against the window; nothing in a file says so, and it is read as if there
  were none.
- Orientation: the seed reverse-complements minus-strand windows before embedding, so
  position 0 is the window's first base in the gene's direction, as in this pipeline's
  shards (``HaplotypeStore.model_input``).
- The seed's reference windows are one base longer than its individuals'
  (``[TSS - L/2, TSS + L/2]``): that extra base (last on the + strand, first after the
  reverse complement) is dropped, so the reference's states line up with the individuals'.

``input_length`` must be the seed's window (Evo2, Caduceus: 64,000; NT: 11,000); the
region kept around the TSS is centred on position ``input_length // 2``, as for computed
embeddings. The hidden size is the files' own: every file must have the width of the first
needed one (the reference's first gene), so all shards of a model agree.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from haplexpr.embeddings.shards import write_shard
from haplexpr.models.embedding_windows import EmbeddingWindows
from haplexpr.models.nt_tokenizer import slot_lengths
from haplexpr.study.design import REFERENCE_INDIVIDUAL

log = logging.getLogger(__name__)

#: (individual, gene, haplotype); the reference's one haplotype is 1.
Item = tuple[str, str, int]

#: Tensor dtypes the seed saves (float16 too: as exact for the shards, which are float16).
ACCEPTED_DTYPES = ("float32", "bfloat16", "float16")


class PrecomputedEmbeddingError(ValueError):
    """A precomputed embedding file that is missing or not what the model's config expects."""


def _one_per_base(length: int) -> np.ndarray:
    return np.ones(length, dtype=np.int64)


@dataclass(frozen=True)
class SeedPositions:
    """How the seed's saved states of one architecture map onto a window's bases."""

    #: States before the first base's (NT's ``<cls>``).
    leading: int
    #: Bases under each state of a ``length``-base window (sums to ``length``).
    spans: Callable[[int], np.ndarray]
    #: Whether padding states may follow the last base's (NT's fixed-size tokenizer).
    padded: bool = False


#: The seed's saved positions per architecture (see the module docstring).
SEED_POSITIONS = {
    "evo2": SeedPositions(0, _one_per_base),
    "caduceus": SeedPositions(0, _one_per_base),
    "nucleotide_transformer": SeedPositions(1, slot_lengths, padded=True),
}


def seed_file(root: str | Path, reference_sample: str, item: Item) -> Path:
    """Where the seed keeps one haplotype's embedding (the reference: ``<gene>_allele_.pt``)."""
    individual, gene, haplotype = item
    if individual == REFERENCE_INDIVIDUAL:
        return Path(root) / reference_sample / f"{gene}_allele_.pt"
    return Path(root) / individual / f"{gene}_allele_{haplotype}.pt"


def needed_items(individuals: Sequence[str], genes: Sequence[str]) -> list[Item]:
    """Every haplotype of every gene, individual by individual (the shards' item order)."""
    return [
        (individual, gene, h)
        for individual in individuals
        for gene in genes
        for h in ((1,) if individual == REFERENCE_INDIVIDUAL else (1, 2))
    ]


def check_present(
    root: str | Path,
    individuals: Sequence[str],
    genes: Sequence[str],
    reference_sample: str,
    where: str,
) -> None:
    """Raise naming the first missing file; one listing per sample folder (cheap at start-up)."""
    listings: dict[Path, set[str]] = {}
    missing = []
    items = needed_items(individuals, genes)
    for item in items:
        path = seed_file(root, reference_sample, item)
        if path.parent not in listings:
            listings[path.parent] = set(os.listdir(path.parent)) if path.parent.is_dir() else set()
        if path.name not in listings[path.parent]:
            missing.append((item, path))
    if missing:
        (individual, gene, haplotype), path = missing[0]
        which = (
            "the reference"
            if individual == REFERENCE_INDIVIDUAL
            else f"{individual} haplotype {haplotype}"
        )
        raise PrecomputedEmbeddingError(
            f"{where}: {len(missing):,} of {len(items):,} precomputed embedding files are"
            f" missing, the first {path} ({which}, gene {gene}); the seed's layout is"
            f" <root>/<sample>/<gene>_allele_<1|2>.pt and <root>/{reference_sample}/"
            "<gene>_allele_.pt for the reference (predicted for every strategy). Add the"
            f" files, or set {where}: null to compute the embeddings here"
        )


def load_tensor(path: Path):
    """``torch.load`` of one seed file as weights only; memory-mapped where its format allows."""
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError as error:
        if "mmap" not in str(error):
            raise
        return torch.load(path, map_location="cpu", weights_only=True)  # legacy format


class SeedFileReader:
    """Reads and checks one model's seed files; returns their states one per window base.

    The hidden size is the ``anchor`` file's: every other file must have it.
    """

    def __init__(self, where: str, positions: SeedPositions, input_length: int, anchor: Path):
        self.where, self.positions, self.input_length = where, positions, input_length
        self.anchor = anchor
        self.hidden = int(self._load(anchor).shape[1])

    def expected(self, bases: int) -> int:
        """States of a ``bases``-base window before any padding."""
        return self.positions.leading + len(self.positions.spans(bases))

    def _load(self, path: Path):
        """The file's 2-D tensor (a leading dimension of 1 dropped), or an error naming it."""
        import torch

        try:
            tensor = load_tensor(path)
        except Exception as error:  # any unreadable file is named, not raised raw
            why = f"torch.load failed ({type(error).__name__}: {error})"
            raise self.malformed(path, why) from error
        if not isinstance(tensor, torch.Tensor):
            raise self.malformed(path, f"holds a {type(tensor).__name__}, not a tensor")
        dtype = str(tensor.dtype).removeprefix("torch.")
        if dtype not in ACCEPTED_DTYPES:
            raise self.malformed(path, f"dtype {dtype}")
        if tensor.ndim == 3 and tensor.shape[0] == 1:
            tensor = tensor[0]
        if tensor.ndim != 2:
            raise self.malformed(path, f"shape {tuple(tensor.shape)}")
        return tensor

    def _window_bases(self, path: Path, positions: int, reference: bool) -> int:
        """Bases of the window the file's states cover: input_length, or one more (reference)."""
        # The seed's reference windows have one base more than its individuals'.
        lengths = [self.input_length + 1, self.input_length] if reference else [self.input_length]
        for n in lengths:
            if positions == self.expected(n):
                return n
        for n in lengths:  # padded (NT): the seed's own window length first
            if self.positions.padded and positions > self.expected(n):
                return n
        raise self.malformed(
            path,
            f"{positions:,} positions where a {self.input_length:,}-base window has"
            f" {self.expected(self.input_length):,}"
            + (" (or more: padding)" if self.positions.padded else "")
            + f"; is {self.where.rsplit('.', 1)[0]}.input_length the seed's window?",
        )

    def per_base(self, path: Path, reference: bool, strand: str) -> tuple[np.ndarray, np.ndarray]:
        """The file's leading states (NT's ``<cls>``) and one per base of the window, float32."""
        tensor = self._load(path)
        positions, hidden = tensor.shape
        if hidden != self.hidden:
            raise self.malformed(path, f"hidden size {hidden}, {self.anchor} has {self.hidden}")
        bases = self._window_bases(path, positions, reference)
        states = tensor[: self.expected(bases)].float().numpy()
        if not np.isfinite(states).all():
            raise self.malformed(path, "non-finite values (NaN or inf)")
        leading, states = np.split(states, [self.positions.leading])
        spans = self.positions.spans(bases)
        per_base = states if np.all(spans == 1) else np.repeat(states, spans, axis=0)
        if bases > self.input_length:  # drop the extra base: last on +, first after the RC
            per_base = per_base[1:] if strand == "-" else per_base[:-1]
        return leading, per_base

    def malformed(self, path: Path, why: str) -> PrecomputedEmbeddingError:
        """The error for one unusable file: what it holds and what was expected."""
        return PrecomputedEmbeddingError(
            f"{path}: {why}; {self.where} expects a tensor saved with torch.save, shape"
            " (1, positions, hidden) or (positions, hidden), dtype"
            f" {' or '.join(ACCEPTED_DTYPES)}, {self.expected(self.input_length):,} positions"
            f" for a {self.input_length:,}-base window; recompute or replace this file"
        )


def import_embeddings(
    root: str | Path,
    individuals: list[str],
    genes: Mapping[str, str],
    model_config: dict,
    reference_sample: str,
    array_path: str | Path,
    index_path: str | Path,
    where: str = "precomputed_root",
) -> Path:
    """Import the seed-layout embeddings of some individuals into one shard array + index.

    ``genes`` maps each gene to its strand; the shard holds one row per haplotype, in the
    order of :func:`needed_items`, pooled as the model's config says, and is read like a
    computed one (:func:`~haplexpr.embeddings.shards.open_shard`). ``where`` names the
    config key in errors.
    """
    started = time.monotonic()
    architecture = model_config["architecture"]
    if architecture not in SEED_POSITIONS:
        raise PrecomputedEmbeddingError(
            f"{where}: the seed saved no embeddings of architecture {architecture!r}; known:"
            f" {', '.join(SEED_POSITIONS)}"
        )
    windows = EmbeddingWindows.from_config(where.rsplit(".", 1)[0], model_config)
    ordered = sorted(genes)
    # The reference's files too: its first gene's file sets the hidden size of every shard.
    check_present(
        root, list(dict.fromkeys([REFERENCE_INDIVIDUAL, *individuals])), ordered,
        reference_sample, where,
    )  # fmt: skip
    anchor = seed_file(root, reference_sample, (REFERENCE_INDIVIDUAL, ordered[0], 1))
    reader = SeedFileReader(where, SEED_POSITIONS[architecture], windows.input_length, anchor)
    hidden = reader.hidden
    items = needed_items(individuals, ordered)
    shape = (len(items), windows.positions, hidden)

    def blocks() -> Iterator[np.ndarray]:
        for individual, gene, haplotype in items:
            path = seed_file(root, reference_sample, (individual, gene, haplotype))
            leading, states = reader.per_base(path, individual == REFERENCE_INDIVIDUAL, genes[gene])
            yield windows.pool(states[None], leading[None, : windows.leading_states])

    write_shard(array_path, index_path, shape, items, list(range(len(items))), blocks())
    log.info(
        "imported %d precomputed embeddings of %d individuals from %s (%s) in %.1f s -> %s",
        len(items),
        len(individuals),
        root,
        "x".join(map(str, shape)),
        time.monotonic() - started,
        array_path,
    )
    return Path(array_path)
