"""The fast consensus engine: every sample and window of a chromosome in one VCF pass.

Each record overlapping any window is read once, with every sample's alleles
(``sequences.variant_reader``: the indexed text parsed in compiled code);
``sequences.kernel.apply_window`` then applies them to each window for all haplotypes at
once, following ``bcftools consensus`` rule for rule, on normalised or raw records alike
(multi-allelic, ``*``, symbolic and INFO/END ones: ``vcf.symbolic``);
``tests/test_consensus_parity.py`` holds it to that, byte for byte. The result is a
``HaplotypeEdits`` store.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pysam

from haplexpr.sequences.edits import (
    EditCollector,
    EngineError,
    HaplotypeEdits,
    Window,
    WindowEdits,
    windows_by_chromosome,
)
from haplexpr.sequences.kernel import (
    ALLELE_OUT_OF_RANGE,
    BLOCK_BEFORE_WINDOW,
    OK,
    REF_MISMATCH,
    Calls,
    Records,
    WindowResult,
    apply_window,
)
from haplexpr.sequences.variant_reader import VariantArrays, read_variants
from haplexpr.vcf.symbolic import NO_MATCH

log = logging.getLogger(__name__)


def fast_haplotypes(
    reference: str | Path,
    vcfs: dict[str, str | Path],
    samples: list[str],
    windows: list[Window],
    names: list[str],
    missing: str = "reference",
    variants: str = "all",
    threads: int = 1,
    unphased: str = "as_listed",
    haplotype: int | None = None,
) -> HaplotypeEdits:
    """Both haplotypes of every sample over every window: one VCF pass per chromosome.

    ``missing``, ``variants`` and ``unphased`` are checked by the entry points in
    ``personal_sequences``; ``unphased="iupac"`` reads unphased calls as ``-H 1pIu`` does
    (``error`` and ``as_listed`` both read them as ``-H 1`` does: the check refuses them
    under ``error``). ``haplotype``: apply only that one's calls (the other is left as the
    reference), so a record only the other carries cannot stop it, as with bcftools.
    """
    started = time.monotonic()
    by_chrom = windows_by_chromosome(windows, vcfs)
    collector = EditCollector(len(windows), 2 * len(samples))
    with pysam.FastaFile(str(reference)) as fasta:
        for chrom, numbers in by_chrom.items():
            chrom_started = time.monotonic()
            found = read_variants(
                vcfs[chrom],
                chrom,
                [windows[i].interval for i in numbers],
                samples,
                fasta,
                variants,
                keep_missing=missing == "N",
                iupac=unphased == "iupac",
            )
            if haplotype is not None:  # the other haplotype's calls become REF: not applied
                column = np.repeat(np.arange(len(found.col_ptr) - 1), np.diff(found.col_ptr))
                found.col_allele[column % 2 != haplotype - 1] = 0
            chromosome = [windows[n] for n in numbers]
            built = _apply_chromosome(
                found, fasta, chromosome, missing == "N", threads, vcfs[chrom]
            )
            for number, edits in zip(numbers, built, strict=True):
                collector.add(number, edits)
            log.info(
                "chromosome %s: %d records x %d samples over %d windows in %.1f s%s",
                chrom,
                len(found.pos),
                len(samples),
                len(numbers),
                time.monotonic() - chrom_started,
                f" (skipped: {dict(found.skipped)})" if found.skipped else "",
            )
    edits = collector.finish(samples, names)
    log.info(
        "fast engine: %d haplotypes (%d samples x %d windows x 2) in %.1f s",
        edits.length.size,
        len(samples),
        len(windows),
        time.monotonic() - started,
    )
    return edits


def _apply_chromosome(
    found: VariantArrays,
    fasta: pysam.FastaFile,
    windows: list[Window],
    missing_n: bool,
    threads: int,
    vcf: str | Path,
) -> list[WindowEdits]:
    """Each window's edits, its chromosome's records ``found`` applied on ``threads`` threads.

    The kernel releases the GIL, so the windows run in parallel; the first one bcftools
    would stop on raises an ``EngineError`` naming the record, sample, haplotype and window.
    """
    records = Records(
        found.pos,
        found.pos + found.ref_len,
        found.allele_ptr,
        found.allele_start,
        found.allele_len,
        found.allele_bytes,
        found.missing_block,
    )
    calls = Calls(found.col_ptr, found.col_rec, found.col_allele)
    longest = int(found.ref_len.max()) if len(found.pos) else 1  # REF reaching into a window

    def apply(window: Window, bases: bytes):
        start, end = window.interval.start, window.interval.end
        lo, hi = np.searchsorted(records.pos, [start - longest, end])
        window_bases = np.frombuffer(bases, np.uint8)
        tss = window.tss - start
        return apply_window(window_bases, start, tss, lo, hi, records, calls, missing_n)

    built = []
    with ThreadPoolExecutor(max_workers=threads) as pool:
        jobs = [
            pool.submit(apply, w, fasta.fetch(found.chrom, *_span(w)).encode()) for w in windows
        ]
        for window, job in zip(windows, jobs, strict=True):
            result = job.result()
            if result.status != OK:
                raise _window_error(result, found, fasta, vcf, window)
            built.append(result.edits)
    return built


def _span(window: Window) -> tuple[int, int]:
    return window.interval.start, window.interval.end


def _window_error(
    result: WindowResult,
    found: VariantArrays,
    fasta: pysam.FastaFile,
    vcf: str | Path,
    window: Window,
) -> EngineError:
    """The error for a window the kernel stopped on: what, where, for whom."""
    sample, haplotype = divmod(int(result.column), 2)
    start = int(found.pos[result.record])
    under = fasta.fetch(found.chrom, start, start + int(found.ref_len[result.record]))
    error = _engine_error(result.status, found, result.record, vcf, under.upper())
    return EngineError(
        f"{error} (sample {found.samples[sample]}, haplotype {haplotype + 1}, window "
        f"{window.interval.to_region()})"
    )


def _engine_error(
    status: int, found: VariantArrays, record: int, vcf: str | Path, under: str = ""
) -> str:
    """What went wrong at ``record``; ``under``: the reference bases under its REF."""
    first = found.allele_ptr[record]
    alleles = [
        found.allele_bytes[found.allele_start[a] : found.allele_start[a] + found.allele_len[a]]
        .tobytes()
        .decode()
        for a in range(first, found.allele_ptr[record + 1])
    ]
    where = f"{vcf}: {found.chrom}:{found.pos[record] + 1} {alleles[0]}>{','.join(alleles[1:])}"
    original = found.rewritten.get(record)
    if status == BLOCK_BEFORE_WINDOW:
        return (
            f"{vcf}: {original}: a missing call on a gVCF block that starts before the window: "
            "bcftools consensus 1.24 -M N reads the block's bases from before its buffer there "
            "and stops (Requested allele outside valid range); use missing: reference or "
            "windows that hold the block's start"
        )
    if original is not None and status != ALLELE_OUT_OF_RANGE:
        where = f"{vcf}: {original}"
        alts = original.split()[1].split(">", 1)[1].split(",")
        if any(a.startswith("<") and a.upper() not in ("<DEL>", "<*>", "<NON_REF>") for a in alts):
            return (
                f"{where}: bcftools consensus 1.24 applies no symbolic ALT but <DEL> (and skips "
                "<*>, <NON_REF>), and stops on a haplotype carrying another one; drop such "
                "records (bcftools view -e 'ALT~\"<.*>\"') or keep consensus.normalise: true"
            )
        if NO_MATCH in alleles[0]:
            return (
                f"{where}: INFO/END or SVLEN makes the record longer than its REF, so bcftools "
                "consensus 1.24 finds REF does not match the reference (or refuses -M N on it)"
            )
    if status == ALLELE_OUT_OF_RANGE:
        return f"{where}: a genotype names an allele the record does not have (broken VCF)"
    if status == REF_MISMATCH and "N" in under:
        return (
            f"{where}: the reference has {under} (N: an unknown base) under REF, and bcftools "
            "consensus 1.24 refuses to apply a record there; use a reference with the real "
            "bases, or windows (genes) away from its N stretches"
        )
    return (
        f"{where}: the reference does not match the REF allele; is the VCF on the same "
        "genome build as the reference, and normalised (bcftools norm -f REF)?"
    )
