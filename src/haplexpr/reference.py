"""The reference genome: fetched from a URL (bgzip + faidx), and checked before it is used.

hs37d5 is published as plain gzip, which ``faidx`` cannot index for random access; the
sequence store and bcftools need a bgzip FASTA with ``.fai`` and ``.gzi``. The download
resumes like the VCFs' (:func:`haplexpr.vcf.download.download`), is checked by reading the
gzip stream to its end (and its md5 when known), and the three final files appear only
when all are complete. :func:`check_reference` runs at start-up (compression, a current
index); :func:`check_bases` in rule sequences_reference, which reads the gene windows anyway.
"""

from __future__ import annotations

import gzip
import logging
import time
from pathlib import Path

import pysam

from haplexpr.atomic import atomic_path
from haplexpr.vcf.download import CHUNK, DownloadSettings, download

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
    entries = [line.split("\t") for line in needed[0].read_text().splitlines() if line]
    if not bgzip:
        _check_fai_offsets(path, entries)
    return {fields[0]: int(fields[1]) for fields in entries}


def _check_fai_offsets(path: Path, entries: list[list[str]]) -> None:
    """Each contig's header must end where its ``.fai`` says, and its sequence where it ends."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        for name, length, offset, line_bases, line_bytes, *_ in entries:
            length, offset, line_bases, line_bytes = map(
                int, (length, offset, line_bases, line_bytes)
            )
            handle.seek(max(offset - 1 - len(name) - 1024, 0))
            before = handle.read(offset - handle.tell()) if offset <= size else b""
            header = before[:-1].rsplit(b"\n", 1)[-1]
            end = offset + length // line_bases * line_bytes + length % line_bases
            handle.seek(min(end, size))
            after = handle.read(1 + line_bytes - line_bases)
            header_ok = before.endswith(b"\n") and header.split()[:1] == [b">" + name.encode()]
            if not header_ok or (after.strip() and not after.lstrip().startswith(b">")):
                raise ReferenceInputError(
                    f"{path}: its index {path}.fai does not match the file at contig {name} "
                    "(the FASTA changed after it was indexed); rebuild the index with "
                    f"samtools faidx {path}"
                )


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
