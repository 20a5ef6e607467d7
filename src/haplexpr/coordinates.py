"""Coordinates and contig names: where the tables, the VCFs and the reference meet.

Contig names are matched to the reference's spelling (``chr1`` <-> ``1``) for the tables
and the VCFs alike (:func:`harmonise_contig`); how a VCF's are renamed is config
``variants`` (:class:`VariantSettings`).

Inside the library every interval is 0-based half-open ``[start, end)``; strings such as
``chr1:101-200`` (samtools style, 1-based inclusive; ``chr1`` alone is the whole contig)
exist only at the tool boundary. VCF
POS is converted where records are parsed, in compiled code (``haplexpr.vcf.parser``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_REGION = re.compile(r"^(?P<chrom>[^:\s]+):(?P<start>[\d,]+)-(?P<end>[\d,]+)$")


@dataclass(frozen=True)
class Interval:
    """A 0-based half-open interval on a contig."""

    chrom: str
    start: int
    end: int

    def __post_init__(self) -> None:
        if self.start < 0 or self.end < self.start:
            raise ValueError(f"invalid interval {self.chrom}:[{self.start}, {self.end})")

    @property
    def length(self) -> int:
        """Number of bases covered."""
        return self.end - self.start

    def to_region(self) -> str:
        """Format as a 1-based inclusive samtools region string."""
        return f"{self.chrom}:{self.start + 1}-{self.end}"

    @classmethod
    def from_region(cls, region: str) -> Interval:
        """Parse a 1-based inclusive samtools region ``CHROM:START-END``."""
        match = _REGION.match(region.strip())
        if not match:
            raise ValueError(f"region {region!r} is not CHROM:START-END (1-based, inclusive)")
        start = int(match["start"].replace(",", ""))
        end = int(match["end"].replace(",", ""))
        if start < 1 or end < start:
            raise ValueError(f"region {region!r}: need 1 <= START <= END")
        return cls(match["chrom"], start - 1, end)


def samtools_region(region: str, lengths: dict[str, int]) -> Interval:
    """Parse a region as samtools does: ``CHROM``, ``CHROM:START``, ``CHROM:START-END``.

    ``lengths`` are the reference's contig lengths: a whole contig, an open end (to the
    contig's end) and an end past it (cut there) follow samtools faidx. A name that is a
    contig of its own (one with a colon in it) is that whole contig.
    """
    text = region.strip()
    if text in lengths:
        return Interval(text, 0, lengths[text])
    chrom, colon, span = text.rpartition(":")
    if not colon or chrom not in lengths:
        name = chrom if colon else text
        raise ValueError(
            f"region {region!r}: contig {name!r} is not in the reference (it has "
            f"{', '.join(list(lengths)[:5])}...)"
        )
    match = re.fullmatch(r"(?P<start>[\d,]*)(?:-(?P<end>[\d,]*))?", span)
    if not match or not (match["start"] or match["end"]):
        raise ValueError(f"region {region!r} is not CHROM[:START[-END]] (1-based, inclusive)")
    start = int(match["start"].replace(",", "") or 1)
    end = min(int((match["end"] or "").replace(",", "") or lengths[chrom]), lengths[chrom])
    if start < 1 or end < start:
        raise ValueError(f"region {region!r}: need 1 <= START <= END <= {lengths[chrom]}")
    return Interval(chrom, start - 1, end)


def tss_to_0based(tss: int, base: int) -> int:
    """Convert a TSS coordinate from the table's convention (``base`` 0 or 1) to 0-based."""
    if base not in (0, 1):
        raise ValueError(f"tss_coordinate_base must be 0 or 1, not {base}")
    return tss - base


@dataclass(frozen=True)
class VariantSettings:
    """Config ``variants``: how a VCF's contig names are made the reference's.

    The schema requires both keys and fills none; these defaults (config.yaml's) serve
    library callers such as the tests.
    """

    #: two-column 'old new' file (bcftools annotate --rename-chrs); None for none
    contig_map: str | None = None
    #: add/strip the chr prefix (and map M/MT) where VCF and reference names differ
    harmonise_contigs: bool = False

    @classmethod
    def from_config(cls, config: dict) -> VariantSettings:
        """Settings from a validated config."""
        return cls(**config["variants"])


class UnknownContigError(ValueError):
    """A contig name the reference has under no spelling."""


def harmonise_contig(name: str, reference_contigs: Iterable[str]) -> str:
    """Map a contig name to the reference's spelling (``chr1`` <-> ``1``, ``chrM`` <-> ``MT``)."""
    contigs = set(reference_contigs)
    if name in contigs:
        return name
    bare = name[3:] if name.lower().startswith("chr") else name
    candidates = [bare, f"chr{bare}"]
    if bare.upper() in ("M", "MT"):
        candidates += ["MT", "M", "chrM", "chrMT"]
    for candidate in candidates:
        if candidate in contigs:
            return candidate
    shown = ", ".join(sorted(contigs)[:8])
    raise UnknownContigError(
        f"contig {name!r} is not in the reference (reference contigs: {shown}...); "
        "check that the table, VCFs and FASTA use the same genome build"
    )
