"""The fast consensus engine: every sample and window of a chromosome in one VCF pass.

Each record overlapping any window is read once, with every sample's alleles
(``vcf.parser``: the indexed text parsed in compiled code);
``haplotypes.kernel.apply_window`` then applies them to each window for all haplotypes at
once, following ``bcftools consensus`` rule for rule, on normalised or raw records alike
(multi-allelic, ``*``, symbolic and INFO/END ones: ``vcf.symbolic``);
``tests/test_consensus_parity.py`` holds it to that, byte for byte. The result is a
``HaplotypeEdits`` store.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pysam

from haplexpr.coordinates import Interval
from haplexpr.haplotypes.edits import (
    EditCollector,
    EngineError,
    HaplotypeEdits,
    Window,
    windows_by_chromosome,
)
from haplexpr.haplotypes.kernel import (
    ALLELE_OUT_OF_RANGE,
    BLOCK_BEFORE_WINDOW,
    OK,
    REF_MISMATCH,
    Calls,
    Records,
    apply_window,
)
from haplexpr.vcf.alleles import MISSING, SKIP
from haplexpr.vcf.check import check_samples
from haplexpr.vcf.iupac import resolve_line, resolve_unphased
from haplexpr.vcf.parser import (
    MALFORMED_GT,
    NOT_SNV,
    POLYPLOID,
    gather_alleles,
    group_by_column,
    parse_records,
)
from haplexpr.vcf.symbolic import MISSING_BLOCK, NO_MATCH, needs_rewrite, rewrite

log = logging.getLogger(__name__)


@dataclass
class VariantArrays:
    """The records of one chromosome that reach into the windows, and who carries what.

    Genotypes are sparse by haplotype column (``2 * sample + haplotype - 1``): column
    ``c`` has allele ``col_allele[k]`` (an ALT index, or ``MISSING``) at record
    ``col_rec[k]`` for ``k`` in ``col_ptr[c]:col_ptr[c + 1]``; all other calls are REF.
    """

    chrom: str
    samples: list[str]
    pos: np.ndarray
    allele_ptr: np.ndarray
    allele_start: np.ndarray
    allele_len: np.ndarray
    allele_bytes: np.ndarray
    col_ptr: np.ndarray
    col_rec: np.ndarray
    col_allele: np.ndarray
    missing_block: np.ndarray  # record -> whether it is a -M N gVCF block line
    skipped: Counter = field(default_factory=Counter)
    rewritten: dict[int, str] = field(default_factory=dict)  # record -> its original text

    @property
    def ref_len(self) -> np.ndarray:
        """Length of each record's REF allele."""
        return self.allele_len[self.allele_ptr[:-1]]


LINES_PER_CHUNK = 4096


def read_variants(
    vcf_path: str | Path,
    chrom: str,
    windows: list[Interval],
    samples: list[str],
    fasta: pysam.FastaFile,
    variants: str = "all",
    keep_missing: bool = False,
    iupac: bool = False,
) -> VariantArrays:
    """Read every record reaching into any window once, with every sample's alleles.

    The bgzipped VCF's text is fetched through its index region by region and parsed in
    chunks (``vcf.parser.parse_records``), so memory follows the records kept, not the
    file's width; the rare records with symbolic ALTs or an INFO/END are first rewritten
    as plain ones (``vcf.symbolic``, which reads ``fasta``). ``keep_missing`` keeps missing
    alleles (needed for ``missing="N"``); ``iupac`` gives each unphased call the allele
    ``bcftools consensus -H 1pIu`` applies (``vcf.iupac``).
    """
    vcf_path = Path(vcf_path)
    index = next(
        (p for p in (Path(f"{vcf_path}.csi"), Path(f"{vcf_path}.tbi")) if p.exists()), None
    )
    try:
        tabix = pysam.TabixFile(str(vcf_path), index=str(index) if index else None)
    except OSError as error:
        raise EngineError(
            f"{vcf_path}: cannot open as a bgzipped, indexed VCF ({error}); the fast engine "
            "reads .vcf.gz with a .tbi/.csi index (bcftools view -Oz, bcftools index)"
        ) from error
    with tabix:
        header = tabix.header[-1] if tabix.header else ""
        file_samples = header.rstrip("\n").split("\t")[9:]
        check_samples(file_samples, samples, vcf_path)
        declared = {
            line.split("ID=", 1)[1].split(",", 1)[0].rstrip(">")
            for line in tabix.header
            if line.startswith("##contig=<") and "ID=" in line
        }
        if chrom not in tabix.contigs and chrom not in declared:
            # bcftools consensus writes the reference for a contig the VCF does not declare
            log.info(
                "%s: no contig %r in the VCF (it has %s...): its windows get the reference",
                vcf_path,
                chrom,
                ", ".join(sorted(declared | set(tabix.contigs))[:5]),
            )
        sample_column = np.full(len(file_samples), -1, np.int64)
        sample_column[[file_samples.index(s) for s in samples]] = np.arange(len(samples))
        reader = _ChunkReader(
            vcf_path, sample_column, len(samples), variants, keep_missing, iupac,
            fetch=lambda start, end: fasta.fetch(chrom, start, end),
        )  # fmt: skip
        previous_end = -1
        regions = _merged(windows) if chrom in tabix.contigs else []  # else: no records
        for start, end in regions:
            lines = []
            for line in tabix.fetch(chrom, start, end):
                lines.append(line)
                if len(lines) == LINES_PER_CHUNK:
                    reader.add(lines, previous_end)
                    lines = []
            reader.add(lines, previous_end)
            previous_end = end
    return reader.finish(chrom, samples)


class _ChunkReader:
    """Parses chunks of VCF lines and keeps the alleles and non-reference calls."""

    def __init__(self, vcf_path, sample_column, n_samples, variants, keep_missing, iupac, fetch):
        self.vcf_path = vcf_path
        self.iupac = iupac
        self.sample_column = sample_column
        self.n_columns = 2 * n_samples
        self.variants = variants
        self.keep_missing = keep_missing
        self.parts: dict[str, list[np.ndarray]] = {
            k: [] for k in ("pos", "count", "len", "bytes", "col", "rec", "allele", "block")
        }
        self.n_records = 0
        self.skipped: Counter = Counter()
        self.rewritten: dict[int, str] = {}
        self.fetch = fetch  # reference bases of the chromosome, (start, end) 0-based

    def _plain(self, lines: list[str]) -> tuple[list[str], dict[int, str]]:
        """The lines with symbolic or INFO/END records rewritten; line -> original text."""
        if not any(needs_rewrite(line) for line in lines):
            return lines, {}
        plain: list[str] = []
        sources: dict[int, str] = {}
        for line in lines:
            if not needs_rewrite(line):
                plain.append(line)
                continue
            # a record split per ALT would separate an unphased call's alleles: resolve first
            resolved = resolve_line(line) if self.iupac else line
            new = rewrite(resolved, self.fetch, self.keep_missing, self.variants == "snvs")
            if not new:
                self.skipped["not_snv"] += 1
            elif new != [resolved]:
                f = line.split("\t", 8)
                original = f"{f[0]}:{f[1]} {f[3]}>{f[4]} {f[7]}"
                sources.update({len(plain) + k: original for k in range(len(new))})
            plain += new
        return plain, sources

    def add(self, lines: list[str], previous_end: int) -> None:
        """Parse lines; drop records already read with the previous region."""
        lines, sources = self._plain(lines)
        if not lines:
            return
        text = np.frombuffer(("\n".join(lines) + "\n").encode(), np.uint8)
        parsed = parse_records(text, len(lines), self.sample_column, self.n_columns // 2)
        pos, ptr, flags = parsed.pos, parsed.allele_ptr, parsed.flags
        if np.any(flags & MALFORMED_GT):
            bad = int(np.flatnonzero(flags & MALFORMED_GT)[0])
            raise EngineError(
                f"{self.vcf_path}: unreadable GT (or GT not the first FORMAT key) in the "
                f"record {lines[bad][:60]!r}...; fix or re-export the VCF (bcftools view)"
            )
        keep = pos >= previous_end
        if self.variants == "snvs":
            not_snv = (flags & NOT_SNV) != 0
            # a rewritten line's record passed type='snp' as written (vcf.symbolic): its
            # -M N or <*> line is kept whatever type the rewrite has
            not_snv[list(sources)] = False
            self._count("not_snv", not_snv & keep)
            keep &= ~not_snv
        kept = np.flatnonzero(keep)
        block = np.zeros(len(lines), bool)
        for line in sources:
            block[line] = lines[line].split("\t", 3)[2] == MISSING_BLOCK
        if sources:
            for number, line in enumerate(kept.tolist()):
                if line in sources:
                    self.rewritten[self.n_records + number] = sources[line]
        counts = np.diff(ptr)[kept]
        # rows ptr[k]:ptr[k + 1] of every kept record, without a Python loop
        within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        allele_rows = np.repeat(ptr[kept], counts) + within
        lengths = parsed.allele_len[allele_rows]
        data, _ = gather_alleles(text, parsed.allele_start[allele_rows], lengths)
        calls = parsed.genotypes[kept]
        if self.iupac:
            if np.any(flags[kept] & POLYPLOID):
                bad = int(kept[np.flatnonzero(flags[kept] & POLYPLOID)[0]])
                raise EngineError(
                    f"{self.vcf_path}: a genotype of more than two alleles in the record "
                    f"{lines[bad][:60]!r}...; personal sequences have one or two haplotypes: "
                    "drop or fix such records (bcftools view -e)"
                )
            counts, lengths, data = resolve_unphased(
                calls, parsed.unphased[kept], counts, lengths, data
            )
        carried = (calls != 0) & (calls != SKIP)
        if not self.keep_missing:
            carried &= calls != MISSING
        record, column = np.nonzero(carried)
        for key, value in (
            ("pos", pos[kept]),
            ("count", counts),
            ("len", lengths),
            ("bytes", data),
            ("col", column.astype(np.int32)),
            ("rec", record + self.n_records),
            ("allele", calls[record, column]),
            ("block", block[kept]),
        ):
            self.parts[key].append(value)
        self.n_records += len(kept)

    def _count(self, reason: str, dropped: np.ndarray) -> None:
        if dropped.any():
            self.skipped[reason] += int(dropped.sum())

    def finish(self, chrom: str, samples: list[str]) -> VariantArrays:
        """Concatenate the chunks; sort the calls by column (stable: records stay sorted)."""

        def joined(key, dtype):
            parts = self.parts[key]
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

        pos = joined("pos", np.int64)
        if np.any(np.diff(pos) < 0):
            raise EngineError(f"{self.vcf_path}: records are not sorted by position")
        allele_len = joined("len", np.int64)
        allele_ptr = np.zeros(len(pos) + 1, np.int64)
        np.cumsum(joined("count", np.int64), out=allele_ptr[1:])
        allele_start = np.zeros(len(allele_len), np.int64)
        np.cumsum(allele_len[:-1], out=allele_start[1:]) if len(allele_len) > 1 else None
        col_ptr, col_rec, col_allele = group_by_column(
            joined("col", np.int32),
            joined("rec", np.int64),
            joined("allele", np.int16),
            self.n_columns,
        )
        return VariantArrays(
            chrom=chrom,
            samples=list(samples),
            pos=pos,
            allele_ptr=allele_ptr,
            allele_start=allele_start,
            allele_len=allele_len,
            allele_bytes=joined("bytes", np.uint8),
            col_ptr=col_ptr,
            col_rec=col_rec,
            col_allele=col_allele,
            missing_block=joined("block", np.bool_),
            skipped=self.skipped,
            rewritten=self.rewritten,
        )


def _merged(windows: list[Interval]) -> list[tuple[int, int]]:
    """Disjoint regions covering the windows, in order."""
    spans: list[list[int]] = []
    for w in sorted(windows, key=lambda w: w.start):
        if spans and w.start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], w.end)
        else:
            spans.append([w.start, w.end])
    return [(s, e) for s, e in spans]


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
            longest = int(found.ref_len.max()) if len(found.pos) else 1

            def apply(number, bases, records=records, calls=calls, longest=longest):
                window = windows[number]
                interval = window.interval
                lo, hi = np.searchsorted(records.pos, [interval.start - longest, interval.end])
                return apply_window(
                    np.frombuffer(bases, np.uint8),
                    interval.start,
                    window.tss - interval.start,
                    lo,
                    hi,
                    records,
                    calls,
                    missing == "N",
                )

            # The kernel releases the GIL: windows are applied on `threads` threads.
            with ThreadPoolExecutor(max_workers=threads) as pool:
                jobs = [
                    (n, pool.submit(apply, n, fasta.fetch(chrom, *_span(windows[n])).encode()))
                    for n in numbers
                ]
                for number, job in jobs:
                    result = job.result()
                    if result.status != OK:
                        column = divmod(int(result.column), 2)
                        start = int(found.pos[result.record])
                        under = fasta.fetch(chrom, start, start + int(found.ref_len[result.record]))
                        error = _engine_error(
                            result.status, found, result.record, vcfs[chrom], under.upper()
                        )
                        raise EngineError(
                            f"{error} "
                            f"(sample {samples[column[0]]}, haplotype {column[1] + 1}, window "
                            f"{windows[number].interval.to_region()})"
                        )
                    collector.add(number, result.edits)
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


def _span(window: Window) -> tuple[int, int]:
    return window.interval.start, window.interval.end


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
