"""The bcftools engine: ``bcftools consensus`` 1.24 (pysam's) run per sample and haplotype.

One ``bcftools consensus -s S -H h`` call per (sample, chromosome, haplotype) covers every
window of that chromosome: the windows are cut from the reference into a small FASTA whose
records are named ``chrom:start-end``, which bcftools maps back to genome coordinates. Its
output and chain become edits of the reference windows (``sequences.edits``).

bcftools 1.24 has faults on some inputs (a write before its buffer, which glibc later
detects as heap corruption, and a segmentation fault): each call therefore runs in a fresh
interpreter (``python -c``), never a fork of the caller, so a corrupted heap or a signal
stays in that process and comes back as a :class:`ConsensusError` naming the VCF, sample,
haplotype and the window that fails on its own.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pysam

from haplexpr.coordinates import Interval
from haplexpr.sequences.edits import (
    EditCollector,
    HaplotypeEdits,
    Window,
    WindowEdits,
    windows_by_chromosome,
)
from haplexpr.vcf.check import check_samples

VARIANT_FILTERS = {"all": None, "snvs": "type='snp'"}
# The child: pysam's bcftools in a fresh interpreter, its errors on stderr.
_CHILD = "import sys, pysam.bcftools; pysam.bcftools.consensus(*sys.argv[1:], catch_stdout=False)"


class ConsensusError(RuntimeError):
    """bcftools consensus failed or produced output that does not match its input."""


def bcftools_haplotypes(
    reference: str | Path,
    vcfs: dict[str, str | Path],
    samples: list[str],
    windows: list[Window],
    names: list[str],
    missing: str = "reference",
    variants: str = "all",
    unphased: str = "as_listed",
    haplotype: int | None = None,
) -> HaplotypeEdits:
    """Run bcftools consensus per (chromosome, sample, haplotype); record its output as edits.

    ``unphased="iupac"`` runs ``-H 1pIu`` / ``-H 2pIu``, otherwise ``-H 1`` / ``-H 2``.
    ``haplotype``: run only that one (the other is left as the reference).
    """
    by_chrom = windows_by_chromosome(windows, vcfs)
    for chrom in by_chrom:
        with pysam.VariantFile(str(vcfs[chrom])) as vcf:
            check_samples(vcf.header.samples, samples, vcfs[chrom])
    collector = EditCollector(len(windows), 2 * len(samples))
    with tempfile.TemporaryDirectory(prefix="haplexpr-consensus-") as tmp:
        for chrom, numbers in by_chrom.items():
            region_fasta = Path(tmp) / "windows.fa"
            intervals = [windows[i].interval for i in numbers]
            bases = write_region_fasta(reference, intervals, region_fasta)
            unchanged = [(seq, (w.start, 0, [])) for seq, w in zip(bases, intervals, strict=True)]
            per_column = [
                run_consensus(
                    region_fasta, intervals, vcfs[chrom], sample, h, missing, variants, unphased
                )
                if haplotype in (None, h)
                else unchanged
                for sample in samples
                for h in (1, 2)
            ]
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
    windows: list[Interval],
    vcf: str | Path,
    sample: str,
    haplotype: int,
    missing: str = "reference",
    variants: str = "all",
    unphased: str = "as_listed",
) -> list[tuple[str, Chain]]:
    """One ``bcftools consensus`` over every window of a FASTA: (sequence, chain) per window.

    The FASTA's records are the windows, named by region, which bcftools must return in
    that order. On a failure each window is run alone to name the one that fails.
    """
    out = region_fasta.with_suffix(f".{sample}.hap{haplotype}.fa")
    chain = region_fasta.with_suffix(f".{sample}.hap{haplotype}.chain")
    args = ["-s", sample, "-H", f"{haplotype}pIu" if unphased == "iupac" else str(haplotype)]
    if missing == "N":
        args += ["-M", "N"]
    if VARIANT_FILTERS[variants]:
        args += ["-i", VARIANT_FILTERS[variants]]
    args += ["-c", str(chain), "-o", str(out), str(vcf)]
    failure = _bcftools_consensus(["-f", str(region_fasta), *args])
    if failure:
        where, failure = _failing_window(region_fasta, windows, args, failure)
        raise ConsensusError(
            f"bcftools consensus {failure} on {vcf}, sample {sample}, haplotype {haplotype}, "
            f"{where}; consensus.engine: fast gives bcftools' output where bcftools answers "
            "and a documented one where it crashes"
        )
    sequences = read_fasta(out)
    chains = read_chains(chain)
    out.unlink()
    chain.unlink()
    regions = [w.to_region() for w in windows]
    if [name for name, _ in sequences] != regions or len(chains) != len(regions):
        raise ConsensusError(
            f"bcftools consensus returned {len(sequences)} sequences and {len(chains)} chains "
            f"for {len(regions)} windows ({vcf}, sample {sample}, haplotype {haplotype})"
        )
    return [(seq, blocks) for (_, seq), blocks in zip(sequences, chains, strict=True)]


def _bcftools_consensus(args: list[str]) -> str | None:
    """Run bcftools consensus in a fresh interpreter: None, or how it failed."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *args], capture_output=True, text=True, check=False
    )
    if done.returncode == 0:
        return None
    if done.returncode < 0:
        return f"crashed ({signal.Signals(-done.returncode).name}, a bcftools 1.24 fault)"
    detail = done.stderr.rsplit("stderr=", 1)[-1].strip().strip("'\"").replace("\\n", " ")
    # bcftools prints the reference from REF to the end of its buffer: keep its start
    detail = re.sub(r"(REF \.fa : \[[^\]]*\]\S{0,20})\S+", r"\1...", detail)
    return f"failed ({' '.join(detail.split())[-400:]})"


def _failing_window(
    region_fasta: Path, windows: list[Interval], args: list[str], failure: str
) -> tuple[str, str]:
    """The first window that fails alone, and how; else all of them, and the first failure."""
    single = region_fasta.with_suffix(".single.fa")
    sequences = read_fasta(region_fasta)
    for window, (name, seq) in zip(windows, sequences, strict=True):
        single.write_text(f">{name}\n{seq}\n")
        alone = _bcftools_consensus(["-f", str(single), *args])
        if alone:
            return f"window {window.to_region()}", alone
    shown = ", ".join(w.to_region() for w in windows[:5])
    return f"windows {shown}{'...' if len(windows) > 5 else ''} (together)", failure


def read_fasta(path: Path) -> list[tuple[str, str]]:
    """Read a small FASTA into (name, sequence) pairs, keeping order."""
    records: list[tuple[str, list[str]]] = []
    with path.open() as handle:
        for line in handle:
            line = line.rstrip("\n")
            if line.startswith(">"):
                records.append((line[1:].split()[0], []))
            elif line and records:
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
            elif chains:
                size = int(fields[0])
                dt, dq = (int(fields[1]), int(fields[2])) if len(fields) == 3 else (0, 0)
                chains[-1][2].append((size, dt, dq))
    return chains


Edit = tuple[int, int, bytes]


def edits_from_alignment(reference: bytes, sequence: bytes, chain: Chain, start: int) -> list[Edit]:
    """Edits turning a reference window into bcftools' output, read off its chain.

    Gaps of the chain are indels; inside its aligned blocks, runs of differing bases are
    substitutions. If the chain does not reproduce the sequence exactly (it describes
    bcftools' bookkeeping, not a promise: a window emptied by a deletion or a record from
    before the window leaves blocks outside it), one edit over the differing stretch is used.
    """
    edits: list[Edit] = []
    t, q0, blocks = chain
    t -= start
    q = 0
    ref = np.frombuffer(reference, np.uint8)
    seq = np.frombuffer(sequence, np.uint8)
    for size, dt, dq in blocks:
        if min(t, q, size, dt, dq) < 0 or t + size > len(ref) or q + size > len(seq):
            break  # a block outside the window (before its start, or past an emptied one)
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
