"""The VCF as a file: whole, readable, indexed where queried, its records parsed and sorted.

Intact bgzip, a header htslib reads, a region it can query with an index no older than the
file, records that parse, in sorted order. :mod:`haplexpr.vcf.check` runs these before and
while it checks the records' contents (its ``VariantInputError`` is this module's).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cyvcf2
import pysam

from haplexpr.coordinates import Interval
from haplexpr.download import BGZF_EOF

log = logging.getLogger(__name__)


class VariantInputError(ValueError):
    """A VCF cannot be used as it is; the message says what to fix."""


def check_container(vcf_path: str | Path) -> None:
    """A ``.gz`` VCF must end with BGZF's end-of-file block, else it was cut short."""
    path = Path(vcf_path)
    if path.suffix != ".gz":
        return
    with path.open("rb") as handle:
        handle.seek(max(path.stat().st_size - len(BGZF_EOF), 0))
        if handle.read() != BGZF_EOF:
            raise VariantInputError(
                f"{vcf_path}: no BGZF end-of-file block: the file is truncated (a cut download "
                "or copy) or not bgzip-compressed; download it again, or recompress it with "
                "bgzip"
            )


@contextmanager
def open_header(vcf_path: str | Path) -> Iterator[pysam.VariantFile]:
    """Open ``vcf_path`` with pysam; a header htslib rejects is explained where we can."""
    try:
        vcf = pysam.VariantFile(str(vcf_path))
    except (OSError, ValueError) as error:
        with pysam.BGZFile(str(vcf_path), "rb") as handle:
            columns = next((line for line in handle if line.startswith(b"#CHROM")), b"").split()
        names = [name.decode() for name in columns[9:]]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise VariantInputError(
                f"{vcf_path}: samples listed twice in the header: {', '.join(twice[:5])}; each "
                "sample must appear once (rename one with bcftools reheader --samples)"
            ) from error
        raise VariantInputError(
            f"{vcf_path}: htslib cannot read the header ({error}); is it a VCF? check it "
            "with bcftools view -h"
        ) from error
    with vcf:
        yield vcf


def check_region(
    vcf: pysam.VariantFile, region: Interval, vcf_path: str | Path, contig_length: dict[str, int]
) -> None:
    """Fail clearly if ``region`` is on an unknown contig or the VCF cannot be queried."""
    if region.chrom not in contig_length:
        raise VariantInputError(
            f"contig {region.chrom!r} is not in the reference (it has "
            f"{', '.join(list(contig_length)[:5])}...)"
        )
    if region.chrom not in vcf.header.contigs:
        # bcftools consensus writes the reference for a contig the VCF does not declare
        log.info(
            "%s: no contig %r in the VCF header (it has %s...): no variants in %s",
            vcf_path,
            region.chrom,
            ", ".join(list(vcf.header.contigs)[:5]),
            region.to_region(),
        )
        return
    try:
        vcf.fetch(region.chrom, region.start, region.end)  # needs an index, reads no record
    except ValueError as error:
        raise VariantInputError(
            f"{vcf_path}: cannot fetch {region.to_region()} ({error}); index it with "
            f"bcftools index {vcf_path}"
        ) from error
    for index in (Path(f"{vcf_path}.csi"), Path(f"{vcf_path}.tbi")):
        if index.exists() and index.stat().st_mtime < Path(vcf_path).stat().st_mtime:
            raise VariantInputError(
                f"{index} is older than {vcf_path}: the VCF changed after it was indexed, so "
                f"the index may point at the wrong records; rebuild it with bcftools index -f "
                f"{vcf_path}"
            )


@contextmanager
def open_records(
    vcf_path: str | Path, samples: list[str], region: Interval | None, undeclared: bool = False
) -> Iterator[tuple[list[str], Iterator[cyvcf2.Variant]]]:
    """The study samples' names (in the VCF's order) and the records (all, or in ``region``).

    ``undeclared``: the region's contig is not in the VCF, so it has no records.
    """
    vcf = cyvcf2.VCF(str(vcf_path), samples=list(samples), lazy=True)
    try:
        with warnings.catch_warnings():
            # cyvcf2 warns about a region without records, where there is nothing to check.
            warnings.filterwarnings("ignore", "no intervals found", UserWarning)
            if undeclared:
                records = iter(())
            else:
                records = iter(vcf) if region is None else vcf(region.to_region())
            yield vcf.samples, _parsed(records, vcf_path)
    finally:
        vcf.close()


def _parsed(records: Iterator[cyvcf2.Variant], vcf_path: str | Path) -> Iterator[cyvcf2.Variant]:
    """``records``, with htslib's parse failures turned into an error naming the place."""
    number = 0
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except Exception as error:  # cyvcf2 raises a bare Exception where htslib cannot parse
            raise VariantInputError(
                f"{vcf_path}: the line after record {number} cannot be parsed ({error}); it is "
                "malformed (too few tab-separated columns, a non-numeric POS...): look at it "
                "with bcftools view and fix or drop it"
            ) from error
        number += 1
        yield record


class RecordOrder:
    """Records must be sorted: by position within a contig, each contig in one block."""

    def __init__(self) -> None:
        self.contig: str | None = None
        self.pos = 0
        self.done: set[str] = set()

    def check(self, record: cyvcf2.Variant, where: str) -> None:
        """Fail if ``record`` comes before the one read last."""
        if record.CHROM != self.contig:
            if record.CHROM in self.done:
                raise self._unsorted(where, f"contig {record.CHROM} appears again after others")
            if self.contig is not None:
                self.done.add(self.contig)
            self.contig, self.pos = record.CHROM, 0
        if record.POS < self.pos:
            raise self._unsorted(where, f"position {record.POS} comes after {self.pos}")
        self.pos = record.POS

    @staticmethod
    def _unsorted(where: str, why: str) -> VariantInputError:
        return VariantInputError(
            f"{where}: {why}: the records are not sorted; sort the VCF with bcftools sort (in "
            "the pipeline: the file data.vcf_urls lists for this chromosome) and rerun"
        )
