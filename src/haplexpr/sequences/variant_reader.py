"""A chromosome's VCF records that reach into the windows, read once with every sample's calls.

The fast engine (``sequences.fast_engine``) reads each chromosome's records here: the
bgzipped VCF's text is fetched through its index, region by region, and parsed in compiled
code (``vcf.parser``); the rare symbolic and INFO/END records are first rewritten as plain
ones (``vcf.symbolic``) and unphased calls read as ``bcftools consensus -H 1pIu`` does on
request (``vcf.iupac``). The result, ``VariantArrays``, keeps the alleles and only the
non-reference calls, sorted by haplotype column for the kernel.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pysam

from haplexpr.coordinates import Interval
from haplexpr.sequences.edits import EngineError
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
from haplexpr.vcf.symbolic import MISSING_BLOCK, needs_rewrite, rewrite

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
                f"{self.vcf_path}: record {_record_name(lines[bad])}: unreadable GT (or GT not "
                f"the first FORMAT key) in {lines[bad][:60]!r}...; fix or re-export the VCF "
                "(bcftools view)"
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
                    f"{self.vcf_path}: record {_record_name(lines[bad])}: a genotype of more "
                    f"than two alleles in {lines[bad][:60]!r}...; personal sequences have one or "
                    "two haplotypes: drop or fix such records (bcftools view -e)"
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


def _record_name(line: str) -> str:
    """A VCF data line's CHROM:POS, as messages name the record."""
    chrom, pos = line.split("\t", 2)[:2]
    return f"{chrom}:{pos}"


def _merged(windows: list[Interval]) -> list[tuple[int, int]]:
    """Disjoint regions covering the windows, in order."""
    spans: list[list[int]] = []
    for w in sorted(windows, key=lambda w: w.start):
        if spans and w.start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], w.end)
        else:
            spans.append([w.start, w.end])
    return [(s, e) for s, e in spans]
