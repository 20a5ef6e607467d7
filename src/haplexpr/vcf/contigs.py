"""A VCF's contig names: those its header declares and its records use, and their renames.

The names are read from the file's own header lines (htslib adds an index's and the
records' contigs to the header it reads) and renamed to the reference's spelling by an
explicit map or by harmonising the ``chr`` prefix; a contig the reference lacks fails
with the fix. :mod:`haplexpr.vcf.normalise` applies the renames.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path

import pysam

from haplexpr.coordinates import UnknownContigError, harmonise_contig
from haplexpr.vcf.check import VariantInputError

CONTIG_FIX = (
    "set variants.harmonise_contigs: true in config.yaml (adds or strips the 'chr' prefix, "
    "maps M/MT) or give variants.contig_map, a two-column 'old new' file as for bcftools "
    "annotate --rename-chrs"
)


def read_contig_map(path: str | Path) -> dict[str, str]:
    """Read a two-column ``old new`` contig map (blank lines and ``#`` comments ignored)."""
    renames: dict[str, str] = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        columns = line.split()
        if len(columns) != 2:
            raise VariantInputError(
                f"{path}:{number}: expected two columns 'old new' (variants.contig_map), "
                f"got {line.strip()!r}"
            )
        old, new = columns
        if old in renames:
            raise VariantInputError(f"{path}:{number}: contig {old!r} is mapped twice")
        renames[old] = new
    return renames


def contig_renames(
    vcf_contigs: list[str],
    reference_contigs: list[str],
    contig_map: dict[str, str] | None = None,
    harmonise: bool = False,
) -> dict[str, str]:
    """Renames for ``vcf_contigs``: the explicit map first, then (if asked) chr-prefix fixes."""
    renames = {}
    known = set(reference_contigs)
    for name in vcf_contigs:
        if contig_map and name in contig_map:
            new = contig_map[name]
        elif harmonise and name not in known:
            try:
                new = harmonise_contig(name, reference_contigs)
            except UnknownContigError:
                continue  # left as is; fails below if the VCF has records on it
        else:
            continue
        if new != name:
            renames[name] = new
    return renames


def text_lines(source: str | Path) -> Iterator[bytes]:
    """The lines of a plain or gzipped (bgzipped) text file; none for BCF."""
    with Path(source).open("rb") as raw:
        magic = raw.read(4)
    if magic[:2] == b"\x1f\x8b":
        with gzip.open(source, "rb") as handle:
            if handle.read(3) == b"BCF":
                return
        with gzip.open(source, "rb") as handle:
            yield from handle
    elif magic[:3] != b"BCF":
        with open(source, "rb") as handle:
            yield from handle


def read_header_text(source: str | Path) -> str | None:
    """The header lines as the file holds them (None for BCF)."""
    lines = []
    for line in text_lines(source):
        lines.append(line.decode())
        if line.startswith(b"#CHROM"):
            return "".join(lines)
    return "".join(lines) if lines else None


def read_record_contigs(source: str | Path) -> list[str]:
    """Contigs the records use, in file order: from the index if there is one, else a scan."""
    for suffix in (".tbi", ".csi"):
        if Path(f"{source}{suffix}").exists():
            try:
                with pysam.TabixFile(str(source), index=f"{source}{suffix}") as tabix:
                    return list(tabix.contigs)
            except OSError:
                break  # an index that does not fit: scan
    seen: dict[str, None] = {}
    for line in text_lines(source):
        if not line.startswith(b"#"):
            seen.setdefault(line.split(b"\t", 1)[0].decode(), None)
    return list(seen)


def contig_id(line: str) -> str | None:
    """The ID of a ``##contig`` header line, else None."""
    if not line.startswith("##contig=<"):
        return None
    match = re.search(r"[<,]ID=([^,>]+)", line)
    return match[1] if match else None


def check_contig(
    name: str,
    renames: dict[str, str],
    reference_contigs: list[str],
    source: str | Path,
    reference: str | Path,
) -> None:
    """Fail, with the fix, if the VCF's records are on a contig the reference lacks."""
    final = renames.get(name, name)
    if final in reference_contigs:
        return
    shown = ", ".join(reference_contigs[:5])
    try:
        spelling = harmonise_contig(name, reference_contigs)
        hint = f"the reference spells it {spelling!r}: {CONTIG_FIX}"
    except UnknownContigError:
        hint = f"is the VCF on the same genome build as the reference? If so, {CONTIG_FIX}"
    renamed = f" (renamed to {final!r} by variants.contig_map)" if final != name else ""
    raise VariantInputError(
        f"{source}: contig {name!r}{renamed} is not in the reference {reference} "
        f"(it has {shown}...); {hint}"
    )
