"""Personal haplotype sequences over gene windows, with either of two engines.

``bcftools``: the seed's method, kept as the reference. One ``bcftools consensus -s S
-H h`` call per (sample, chromosome, haplotype) covers every window of that chromosome:
the windows are cut from the reference into a small FASTA whose records are named
``chrom:start-end``, which bcftools maps back to genome coordinates. bcftools comes from
the pinned pysam wheel (1.24), so window-edge behaviour is that of bcftools >= 1.20.

``fast``: every sample and window of a chromosome in one pass over the VCF
(``haplotypes.fast_engine.fast_haplotypes``), byte-for-byte equal to the bcftools engine.

Both write the same store: the reference windows once (``reference.fa.gz``), and each
shard of individuals as edits of those windows (``haplotypes.edits.HaplotypeEdits``).
"""

from __future__ import annotations

import faulthandler
import logging
import multiprocessing
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from pathlib import Path

import numpy as np
import pysam
import pysam.bcftools

from haplexpr.consensus_options import ConsensusOptionError, check_options
from haplexpr.coordinates import Interval
from haplexpr.haplotypes.edits import (
    EditCollector,
    EngineError,
    HaplotypeEdits,
    Window,
    WindowEdits,
    windows_by_chromosome,
)
from haplexpr.haplotypes.fast_engine import fast_haplotypes
from haplexpr.haplotypes.store import StoredSequence, write_store
from haplexpr.study.genes import GeneWindow
from haplexpr.vcf.check import VariantInputError, check_samples

log = logging.getLogger(__name__)

VARIANT_FILTERS = {"all": None, "snvs": "type='snp'"}


class ConsensusError(RuntimeError):
    """bcftools consensus failed or produced output that does not match its input."""


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
    engine: str = "fast",
    missing: str = "reference",
    variants: str = "all",
    threads: int = 1,
) -> Path:
    """Both haplotypes of every sample over every window, written as one edit store."""
    started = time.monotonic()
    edits = _haplotypes(
        engine,
        reference,
        vcfs,
        samples,
        [Window(w.interval, w.tss) for w in windows],
        [w.gene for w in windows],
        missing,
        variants,
        threads,
    )
    edits.save(path)
    log.info(
        "built %d haplotype windows for %d samples with the %s engine in %.1f s -> %s "
        "(%.1f MB in memory)",
        edits.length.size,
        len(samples),
        engine,
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
    engine: str = "fast",
    missing: str = "reference",
    variants: str = "all",
) -> dict[tuple[str, int], list[str]]:
    """Haplotype 1 and 2 of each sample over each window, as strings (one VCF, any contigs)."""
    edits = _haplotypes(
        engine,
        reference,
        {w.chrom: vcf for w in windows},
        samples,
        [Window(w, w.start) for w in windows],
        [w.to_region() for w in windows],
        missing,
        variants,
    )
    with pysam.FastaFile(str(reference)) as fasta:
        bases = [fasta.fetch(w.chrom, w.start, w.end).encode() for w in windows]
    return {
        (sample, h): [edits.sequence(s, w, h, bases[w]) for w in range(len(windows))]
        for s, sample in enumerate(samples)
        for h in (1, 2)
    }


def _haplotypes(
    engine: str,
    reference: str | Path,
    vcfs: dict[str, str | Path],
    samples: list[str],
    windows: list[Window],
    names: list[str],
    missing: str,
    variants: str,
    threads: int = 1,
) -> HaplotypeEdits:
    """Check the options, run the chosen engine; any input problem is a ConsensusError."""
    try:
        check_options(engine=engine, missing=missing, variants=variants)
        build = (
            partial(fast_haplotypes, threads=threads) if engine == "fast" else bcftools_haplotypes
        )
        return build(reference, vcfs, samples, windows, names, missing=missing, variants=variants)
    except (ConsensusOptionError, EngineError, VariantInputError) as error:
        raise ConsensusError(str(error)) from error


def bcftools_haplotypes(
    reference: str | Path,
    vcfs: dict[str, str | Path],
    samples: list[str],
    windows: list[Window],
    names: list[str],
    missing: str = "reference",
    variants: str = "all",
) -> HaplotypeEdits:
    """The bcftools engine: run bcftools consensus, then record its output as edits."""
    by_chrom = windows_by_chromosome(windows, vcfs)
    for chrom in by_chrom:
        with pysam.VariantFile(str(vcfs[chrom])) as vcf:
            check_samples(vcf.header.samples, samples, vcfs[chrom])
    n_columns = 2 * len(samples)
    collector = EditCollector(len(windows), n_columns)
    with tempfile.TemporaryDirectory(prefix="haplexpr-consensus-") as tmp:
        for chrom, numbers in by_chrom.items():
            region_fasta = Path(tmp) / "windows.fa"
            intervals = [windows[i].interval for i in numbers]
            bases = write_region_fasta(reference, intervals, region_fasta)
            regions = [interval.to_region() for interval in intervals]
            per_column: list[list[tuple[str, list]]] = []
            for sample in samples:
                for haplotype in (1, 2):
                    per_column.append(
                        run_consensus(
                            region_fasta, regions, vcfs[chrom], sample, haplotype, missing, variants
                        )
                    )
            for k, number in enumerate(numbers):
                columns = [column[k] for column in per_column]
                collector.add(number, _window_edits(bases[k], windows[number], columns))
    return collector.finish(samples, names)


def write_region_fasta(reference: str | Path, windows: list[Interval], path: Path) -> list[str]:
    """Cut the windows from the reference into records named by their samtools region."""
    bases = []
    with pysam.FastaFile(str(reference)) as fasta, path.open("w") as out:
        for window in windows:
            seq = fasta.fetch(window.chrom, window.start, window.end)
            out.write(f">{window.to_region()}\n{seq}\n")
            bases.append(seq)
    return bases


def run_consensus(
    region_fasta: Path,
    regions: list[str],
    vcf: str | Path,
    sample: str,
    haplotype: int,
    missing: str = "reference",
    variants: str = "all",
) -> list[tuple[str, list]]:
    """One ``bcftools consensus`` over every window of a FASTA: (sequence, chain) per window.

    ``regions`` are the FASTA's record names, which bcftools must return in that order.
    """
    out = region_fasta.with_suffix(f".{sample}.hap{haplotype}.fa")
    chain = region_fasta.with_suffix(f".{sample}.hap{haplotype}.chain")
    args = ["-f", str(region_fasta), "-s", sample, "-H", str(haplotype)]
    if missing == "N":
        args += ["-M", "N"]
    if VARIANT_FILTERS[variants]:
        args += ["-i", VARIANT_FILTERS[variants]]
    args += ["-c", str(chain), "-o", str(out), str(vcf)]
    # bcftools 1.24 can write one byte before its buffer (a record crossing a window start
    # without a shared first base) and glibc then aborts the process: run it in a forked
    # child, so that kills the child, not the caller, and is reported like a refusal.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as child:
        try:
            child.submit(_bcftools_consensus, args).result()
        except BrokenProcessPool as error:
            raise ConsensusError(
                f"bcftools consensus {' '.join(args)} crashed for sample {sample}, haplotype "
                f"{haplotype} (a known bcftools 1.24 fault with a record that crosses a window "
                "start); use consensus.engine: fast, which gives bcftools' output without it"
            ) from error
        except pysam.utils.SamtoolsError as error:
            raise ConsensusError(
                f"bcftools consensus {' '.join(args)} failed for sample {sample}, "
                f"haplotype {haplotype}: {error}"
            ) from error
    sequences = read_fasta(out)
    chains = read_chains(chain)
    out.unlink()
    chain.unlink()
    if [name for name, _ in sequences] != regions or len(chains) != len(regions):
        raise ConsensusError(
            f"bcftools consensus returned {len(sequences)} sequences and {len(chains)} chains "
            f"for {len(regions)} windows (sample {sample}, haplotype {haplotype})"
        )
    return [(seq, blocks) for (_, seq), blocks in zip(sequences, chains, strict=True)]


def _bcftools_consensus(args: list[str]) -> None:
    faulthandler.disable()  # an abort here is reported by the parent, not dumped twice
    pysam.bcftools.consensus(*args, catch_stdout=False)


def read_fasta(path: Path) -> list[tuple[str, str]]:
    """Read a small FASTA into (name, sequence) pairs, keeping order."""
    records: list[tuple[str, list[str]]] = []
    with path.open() as handle:
        for line in handle:
            line = line.rstrip("\n")
            if line.startswith(">"):
                records.append((line[1:].split()[0], []))
            elif line:
                records[-1][1].append(line)
    return [(name, "".join(parts)) for name, parts in records]


Chain = tuple[int, int, list[tuple[int, int, int]]]


def read_chains(path: Path) -> list[Chain]:
    """Parse a chain file: per record (tStart, qStart, [(size, dt, dq), ...])."""
    chains: list[Chain] = []
    with path.open() as handle:
        for line in handle:
            fields = line.split()
            if not fields:
                continue
            if fields[0] == "chain":
                chains.append((int(fields[5]), int(fields[10]), []))
            else:
                size = int(fields[0])
                dt, dq = (int(fields[1]), int(fields[2])) if len(fields) == 3 else (0, 0)
                chains[-1][2].append((size, dt, dq))
    return chains


Edit = tuple[int, int, bytes]


def edits_from_alignment(reference: bytes, sequence: bytes, chain: Chain, start: int) -> list[Edit]:
    """Edits turning a reference window into bcftools' output, read off its chain.

    Gaps of the chain are indels; inside its aligned blocks, runs of differing bases are
    substitutions. If the chain does not reproduce the sequence exactly (it describes
    bcftools' bookkeeping, not a promise), one edit over the differing stretch is used.
    """
    edits: list[Edit] = []
    t, q0, blocks = chain
    t -= start
    q = 0
    ref = np.frombuffer(reference, np.uint8)
    seq = np.frombuffer(sequence, np.uint8)
    for size, dt, dq in blocks:
        if t + size > len(ref) or q + size > len(seq):
            break
        differ = np.flatnonzero(ref[t : t + size] != seq[q : q + size])
        if len(differ):
            breaks = np.flatnonzero(np.diff(differ) > 1)
            for lo, hi in zip(
                np.r_[differ[0], differ[breaks + 1]], np.r_[differ[breaks], differ[-1]], strict=True
            ):
                edits.append((t + lo, t + hi + 1, sequence[q + lo : q + hi + 1]))
        t, q = t + size, q + size
        if dt or dq:
            edits.append((t, t + dt, sequence[q : q + dq]))
        t, q = t + dt, q + dq
    if apply_edits(reference, edits) != sequence:
        edits = _single_edit(reference, sequence)
    return edits


def _single_edit(reference: bytes, sequence: bytes) -> list[Edit]:
    """One edit replacing the stretch between the common prefix and suffix."""
    if reference == sequence:
        return []
    prefix = 0
    limit = min(len(reference), len(sequence))
    while prefix < limit and reference[prefix] == sequence[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and reference[-1 - suffix] == sequence[-1 - suffix]:
        suffix += 1
    return [(prefix, len(reference) - suffix, sequence[prefix : len(sequence) - suffix])]


def apply_edits(reference: bytes, edits: list[Edit]) -> bytes:
    """The window with ``edits`` (sorted, non-overlapping) applied."""
    parts = []
    cursor = 0
    for start, end, data in edits:
        parts += [reference[cursor:start], data]
        cursor = end
    return b"".join([*parts, reference[cursor:]])


def tss_after_edits(tss: int, edits: list[Edit]) -> int:
    """Where reference offset ``tss`` lands in the edited window.

    Inside a replaced stretch it keeps its offset into the new bases, or takes the base
    after them when they are shorter (a deleted TSS lands on the next surviving base).
    """
    shift = 0
    for start, end, data in edits:
        if tss < start:
            break
        if tss < end:
            return start + shift + min(tss - start, len(data))
        shift += len(data) - (end - start)
    return tss + shift


def _window_edits(reference: str, window: Window, columns: list[tuple[str, Chain]]) -> WindowEdits:
    """One window's distinct edits and each column's list of them (the kernel's layout)."""
    ref = reference.encode()
    table: dict[Edit, int] = {}
    ids, col_ptr, lengths, tss = [], [0], [], []
    for sequence, chain in columns:
        edits = edits_from_alignment(ref, sequence.encode(), chain, window.interval.start)
        ids += [table.setdefault(edit, len(table)) for edit in edits]
        col_ptr.append(len(ids))
        lengths.append(len(sequence))
        tss.append(tss_after_edits(window.tss - window.interval.start, edits))
    rows = list(table)
    data_len = np.array([len(d) for _, _, d in rows], np.int32)
    data_ptr = np.zeros(len(rows), np.int64)
    if len(rows) > 1:
        np.cumsum(data_len[:-1], out=data_ptr[1:])
    return WindowEdits(
        edit_start=np.array([s for s, _, _ in rows], np.int32),
        edit_end=np.array([e for _, e, _ in rows], np.int32),
        edit_data_ptr=data_ptr,
        edit_data_len=data_len,
        edit_data=np.frombuffer(b"".join(d for _, _, d in rows), np.uint8),
        col_ptr=np.array(col_ptr, np.int64),
        edit_ids=np.array(ids, np.int32),
        lengths=np.array(lengths, np.int32),
        tss_offsets=np.array(tss, np.int32),
    )
