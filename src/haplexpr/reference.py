"""The reference genome: fetched from a URL (bgzip + faidx), and checked before it is used.

hs37d5 is published as plain gzip, which ``faidx`` cannot index for random access; the
sequence store and bcftools need a bgzip FASTA with ``.fai`` and ``.gzi``. The download
resumes like the VCFs' (:func:`haplexpr.download.download`), is checked by reading the
gzip stream to its end (and its md5 when known), and the three final files appear only
when all are complete. :func:`check_reference` runs at start-up (compression, a current
index); :func:`check_bases` in rule sequences_reference, which reads the gene windows anyway.
"""

from __future__ import annotations

import gzip
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pysam

from haplexpr.atomic import atomic_path
from haplexpr.download import CHUNK, DownloadSettings, download

log = logging.getLogger(__name__)


def fetch_reference(
    url: str,
    dest: str | Path,
    md5: str | None = None,
    settings: DownloadSettings = DownloadSettings(),  # noqa: B008 (frozen, so shared safely)
) -> Path:
    """Download ``url`` next to ``dest``, then write ``dest`` (bgzip) with .fai and .gzi."""
    started = time.monotonic()
    dest = Path(dest)
    downloaded = dest.parent / "download" / url.rstrip("/").rsplit("/", 1)[-1]
    download(url, downloaded, md5=md5, settings=settings, bgzf=False)
    opener = gzip.open if downloaded.suffix == ".gz" else open
    with atomic_path(dest) as tmp:
        with opener(downloaded, "rb") as source, pysam.BGZFile(str(tmp), "wb") as out:
            while chunk := source.read(CHUNK):
                out.write(chunk)
        pysam.faidx(str(tmp))  # writes tmp.fai and tmp.gzi beside it
        for suffix in (".fai", ".gzi"):
            Path(f"{tmp}{suffix}").replace(f"{dest}{suffix}")
    contigs = sum(1 for _ in Path(f"{dest}.fai").open())
    log.info(
        "reference %s: %d contigs, bgzip + faidx in %.1f s -> %s",
        url,
        contigs,
        time.monotonic() - started,
        dest,
    )
    return dest


class ReferenceInputError(ValueError):
    """The reference FASTA or its index cannot be used as it is; the message says the fix."""


#: Bases a window may hold: A, C, G, T, N and the IUPAC ambiguity codes (hs37d5 and GRCh38
#: carry a few, e.g. M and R), either case; models read ambiguity codes as N.
NUCLEOTIDES = frozenset("ACGTNRYKMSWBDHVacgtnrykmswbdhv")


def check_reference(path: str | Path) -> dict[str, int]:
    """Check that ``path`` is a FASTA with a current index; return its contig lengths.

    Cheap enough for start-up (it reads the ``.fai`` and a few bytes per contig): plain
    gzip (no random access), a missing ``.fai`` (or ``.gzi`` for bgzip) and, for an
    uncompressed FASTA, a ``.fai`` that no longer matches the file (edited or replaced
    since indexing) each raise :class:`ReferenceInputError`.
    """
    path = Path(path)
    with path.open("rb") as handle:
        head = handle.read(18)
    bgzip = head[:2] == b"\x1f\x8b"
    if bgzip and not (head[3] & 4 and head[12:14] == b"BC"):
        raise ReferenceInputError(
            f"{path} is plain gzip, which cannot be read at random positions; recompress it "
            f"with bgzip (zcat {path} | bgzip > {path.with_suffix('.bgz')}, then samtools "
            "faidx), or set data.reference to its URL to have rule reference_download do it"
        )
    needed = [Path(f"{path}.fai"), *([Path(f"{path}.gzi")] if bgzip else [])]
    for index in needed:
        if not index.exists():
            raise ReferenceInputError(
                f"{path}: no index {index}; index the reference with samtools faidx {path}"
            )
    stale = (
        f"{path}: its index {path}.fai does not match the file%s; rebuild the index with "
        f"samtools faidx {path}"
    )
    try:
        entries = [_FaiEntry.parse(line) for line in needed[0].read_text().splitlines() if line]
    except ValueError as error:
        raise ReferenceInputError(stale % f" (it is no faidx index: {error})") from error
    if not bgzip:
        with path.open("rb") as handle:
            for entry in entries:
                if not entry.matches(handle):
                    where = f" at contig {entry.name} (the FASTA changed after it was indexed)"
                    raise ReferenceInputError(stale % where)
    return {entry.name: entry.length for entry in entries}


@dataclass(frozen=True)
class _FaiEntry:
    """One line of a ``.fai``: where a contig's bases start and how its lines are laid out."""

    name: str
    length: int
    offset: int
    line_bases: int
    line_bytes: int

    @classmethod
    def parse(cls, line: str) -> _FaiEntry:
        """Parse ``NAME LENGTH OFFSET LINEBASES LINEWIDTH`` (tab-separated)."""
        name, *numbers = line.split("\t")[:5]
        if len(numbers) != 4:
            raise ValueError(f"line {line!r} has fewer than 5 columns")
        return cls(name, *map(int, numbers))

    def matches(self, handle: BinaryIO) -> bool:
        """Whether the file still has this contig where the entry says.

        The byte before ``offset`` must end a ``>name`` line, and the contig's last base
        must be followed by a line end, then the next header or the end of the file.
        """
        if self.offset < 1 or self.line_bases < 1:
            return False
        handle.seek(self.offset - 1)
        if handle.read(1) != b"\n":
            return False
        start = self.offset - 1
        while start > 0 and b"\n" not in (block := _read_back(handle, start)):
            start -= len(block)  # a header longer than a block: keep reading back
        handle.seek(max(start - 4096, 0))
        header = handle.read(self.offset - 1 - handle.tell()).rsplit(b"\n", 1)[-1]
        if header.split()[:1] != [b">" + self.name.encode()]:
            return False
        full, rest = divmod(self.length, self.line_bases)
        handle.seek(self.offset + full * self.line_bytes + rest)
        after = handle.read(1 + self.line_bytes - self.line_bases).lstrip()
        return after == b"" or after.startswith(b">")


def _read_back(handle: BinaryIO, end: int, size: int = 4096) -> bytes:
    """The ``size`` bytes before ``end`` (fewer at the file's start)."""
    handle.seek(max(end - size, 0))
    return handle.read(end - handle.tell())


def check_bases(path: str | Path, windows: list) -> None:
    """Fail if a gene window holds a character that is no base, or every window is lowercase.

    A fully soft-masked (lowercase) reference is almost always the wrong file (a
    repeat-masked export); digits, ``*``, ``-`` or letters outside the IUPAC codes mean it
    is not nucleotide FASTA. ``windows`` are :class:`~haplexpr.study.genes.GeneWindow`.
    """
    any_upper = False
    with pysam.FastaFile(str(path)) as fasta:
        for window in windows:
            interval = window.interval
            seq = fasta.fetch(interval.chrom, interval.start, interval.end)
            bad = set(seq) - NUCLEOTIDES
            if bad:
                at = min(seq.index(c) for c in bad)
                raise ReferenceInputError(
                    f"{path}: {seq[at]!r} at {interval.chrom}:{interval.start + at + 1} "
                    f"(1-based, in the window of gene {window.gene}) is not a base; a reference "
                    "holds only A, C, G, T, N and IUPAC codes: use the nucleotide FASTA of "
                    "the genome build"
                )
            any_upper = any_upper or seq != seq.lower()
    if windows and not any_upper:
        raise ReferenceInputError(
            f"{path}: every base of the {len(windows)} gene windows is lowercase (soft-masked);"
            " a fully masked reference is usually the wrong file: use the unmasked FASTA or "
            "uppercase it (seqkit seq -u)"
        )
