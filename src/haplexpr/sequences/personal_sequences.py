"""Personal haplotype sequences over gene windows, with either of two engines.

``bcftools``: the seed's method, kept as the reference (``sequences.bcftools_engine``):
``bcftools consensus -s S -H h`` from the pinned pysam wheel (1.24), so window-edge
behaviour is that of bcftools >= 1.20, each call in a process of its own.

``fast``: every sample and window of a chromosome in one pass over the VCF
(``sequences.fast_engine.fast_haplotypes``), byte-for-byte equal to the bcftools engine.

Both write the same store: the reference windows once (``reference.fa.gz``), and each
shard of individuals as edits of those windows (``sequences.edits.HaplotypeEdits``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import pysam

from haplexpr.consensus_settings import ConsensusOptions
from haplexpr.coordinates import Interval
from haplexpr.sequences.bcftools_engine import ConsensusError, bcftools_haplotypes
from haplexpr.sequences.edits import EngineError, HaplotypeEdits, Window
from haplexpr.sequences.fast_engine import fast_haplotypes
from haplexpr.sequences.store import StoredSequence, write_store
from haplexpr.study.genes import GeneWindow
from haplexpr.vcf.check import VariantInputError

log = logging.getLogger(__name__)

__all__ = ["ConsensusError", "build_haplotype_store", "build_reference_store", "window_sequences"]


def build_reference_store(
    reference: str | Path, windows: list[GeneWindow], prefix: str | Path
) -> Path:
    """Store the reference windows (haplotype 1 only): the base every haplotype edits."""
    with pysam.FastaFile(str(reference)) as fasta:
        items = [
            StoredSequence(
                w.gene, 1, w.chrom, w.interval.start, w.interval.end, w.strand,
                w.tss - w.interval.start,
                fasta.fetch(w.chrom, w.interval.start, w.interval.end),
            )
            for w in windows
        ]  # fmt: skip
    return write_store(prefix, items)


def build_haplotype_store(
    reference: str | Path,
    vcfs: dict[str, str | Path],
    samples: list[str],
    windows: list[GeneWindow],
    path: str | Path,
    options: ConsensusOptions = ConsensusOptions(),  # noqa: B008 (frozen, so shared safely)
    threads: int = 1,
) -> Path:
    """Both haplotypes of every sample over every window, written as one edit store."""
    started = time.monotonic()
    edits = _haplotypes(
        options,
        reference,
        vcfs,
        samples,
        [Window(w.interval, w.tss) for w in windows],
        [w.gene for w in windows],
        threads,
    )
    edits.save(path)
    log.info(
        "built %d haplotype windows for %d samples with the %s engine in %.1f s -> %s "
        "(%.1f MB in memory)",
        edits.length.size,
        len(samples),
        options.engine,
        time.monotonic() - started,
        path,
        edits.nbytes() / 1e6,
    )
    return Path(path)


def window_sequences(
    reference: str | Path,
    vcf: str | Path,
    samples: list[str],
    windows: Sequence[Interval],
    options: ConsensusOptions = ConsensusOptions(),  # noqa: B008 (frozen, so shared safely)
    haplotype: int | None = None,
) -> dict[tuple[str, int], list[str]]:
    """Haplotype 1 and 2 of each sample over each window, as strings (one VCF, any contigs).

    ``haplotype``: build only that one (the other comes back as the reference), so what
    stops the other (a bcftools abort, a REF mismatch) cannot stop it.
    """
    edits = _haplotypes(
        options,
        reference,
        {w.chrom: vcf for w in windows},
        samples,
        [Window(w, w.start) for w in windows],
        [w.to_region() for w in windows],
        haplotype=haplotype,
    )
    with pysam.FastaFile(str(reference)) as fasta:
        bases = [fasta.fetch(w.chrom, w.start, w.end).encode() for w in windows]
    return {
        (sample, h): [edits.sequence(s, w, h, bases[w]) for w in range(len(windows))]
        for s, sample in enumerate(samples)
        for h in (1, 2)
    }


def _haplotypes(
    options: ConsensusOptions,
    reference: str | Path,
    vcfs: dict[str, str | Path],
    samples: list[str],
    windows: list[Window],
    names: list[str],
    threads: int = 1,
    haplotype: int | None = None,
) -> HaplotypeEdits:
    """Run the chosen engine; any input problem is a ConsensusError."""
    try:
        build = (
            partial(fast_haplotypes, threads=threads)
            if options.engine == "fast"
            else bcftools_haplotypes
        )
        return build(
            reference, vcfs, samples, windows, names, missing=options.missing,
            variants=options.variants, unphased=options.unphased, haplotype=haplotype,
        )  # fmt: skip
    except (EngineError, VariantInputError) as error:
        raise ConsensusError(str(error)) from error
