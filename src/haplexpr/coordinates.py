"""Where 1-based region strings and TSS coordinates meet 0-based half-open intervals.

Inside the library every interval is 0-based half-open ``[start, end)``; strings such as
``chr1:101-200`` (samtools style, 1-based inclusive) exist only at the tool boundary. VCF
POS is converted where records are parsed, in compiled code (``haplexpr.vcf.parser``).
"""

from __future__ import annotations

import re
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


def tss_to_0based(tss: int, base: int) -> int:
    """Convert a TSS coordinate from the table's convention (``base`` 0 or 1) to 0-based."""
    if base not in (0, 1):
        raise ValueError(f"tss_coordinate_base must be 0 or 1, not {base}")
    return tss - base
