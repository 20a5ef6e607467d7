"""Checks a phased VCF against the reference and the study before any consensus is built.

Each problem fails with a message naming the file, the record and the fix, because a
silently wrong personal sequence is worse than no sequence: a contig spelt differently
from the reference, REF alleles that disagree with it, unphased or missing genotypes of
study samples, and samples the study names but the VCF lacks.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pysam
import pysam.bcftools

from haplexpr.atomic import atomic_path
from haplexpr.coordinates import Interval

log = logging.getLogger(__name__)


class VariantInputError(ValueError):
    """A VCF cannot be used as it is; the message says what to fix."""


@dataclass
class VcfCheckReport:
    """What the check saw in one VCF; written next to it as JSON."""

    vcf: str
    contig: str
    records: int = 0
    snvs: int = 0
    indels: int = 0
    skipped: Counter = field(default_factory=Counter)
    samples_checked: int = 0
    seconds: float = 0.0


def check_vcf(
    vcf_path: str | Path,
    reference_path: str | Path,
    chrom: str,
    samples: list[str],
    region: Interval | None = None,
) -> VcfCheckReport:
    """Validate a VCF for the given samples (all of it, or one indexed ``region``).

    Raises on the first problem.
    """
    started = time.monotonic()
    report = VcfCheckReport(vcf=str(vcf_path), contig=chrom, samples_checked=len(samples))
    with pysam.FastaFile(str(reference_path)) as reference, pysam.VariantFile(str(vcf_path)) as vcf:
        _check_samples(vcf, samples, vcf_path)
        vcf.subset_samples(samples)
        contig_length = dict(zip(reference.references, reference.lengths, strict=True))
        records = vcf if region is None else _fetch(vcf, region, vcf_path, contig_length)
        for number, record in enumerate(records, start=1):
            where = f"{vcf_path}: record {number} ({record.chrom}:{record.pos})"
            if record.chrom not in contig_length:
                raise VariantInputError(
                    f"{where}: contig {record.chrom!r} is not in the reference {reference_path} "
                    f"(it has {', '.join(reference.references[:5])}...); rename the VCF's "
                    "contigs (bcftools annotate --rename-chrs) or use the matching reference"
                )
            if record.chrom != chrom:
                raise VariantInputError(
                    f"{where}: contig {record.chrom!r} in the VCF listed for chromosome {chrom}"
                )
            alts = record.alts or ()
            if not alts:
                report.skipped["no_alt_allele"] += 1
                continue
            if any(a.startswith("<") or a == "*" for a in alts):
                report.skipped["symbolic_or_star_allele"] += 1
                continue
            if len(alts) != 1:
                raise VariantInputError(
                    f"{where}: {len(alts)} ALT alleles; split multi-allelic records first "
                    "(bcftools norm -m -both -f REF)"
                )
            expected = reference.fetch(record.chrom, record.start, record.stop).upper()
            if record.ref.upper() != expected:
                raise VariantInputError(
                    f"{where}: REF {record.ref} but the reference has {expected}; is the VCF "
                    "on the same genome build as the reference?"
                )
            _check_genotypes(record, where)
            if len(record.ref) == 1 and len(alts[0]) == 1:
                report.snvs += 1
            else:
                report.indels += 1
            report.records += 1
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _fetch(
    vcf: pysam.VariantFile, region: Interval, vcf_path: str | Path, contig_length: dict[str, int]
):
    """Records overlapping ``region``, with clear errors for unknown contigs."""
    if region.chrom not in contig_length:
        raise VariantInputError(
            f"contig {region.chrom!r} is not in the reference (it has "
            f"{', '.join(list(contig_length)[:5])}...)"
        )
    if region.chrom not in vcf.header.contigs:
        raise VariantInputError(
            f"{vcf_path}: no contig {region.chrom!r} in the VCF header (it has "
            f"{', '.join(list(vcf.header.contigs)[:5])}...); are the contig names spelt alike?"
        )
    try:
        return vcf.fetch(region.chrom, region.start, region.end)
    except ValueError as error:
        raise VariantInputError(
            f"{vcf_path}: cannot fetch {region.to_region()} ({error}); index it with bcftools index"
        ) from error


def _check_samples(vcf: pysam.VariantFile, samples: list[str], vcf_path: str | Path) -> None:
    present = set(vcf.header.samples)
    absent = [s for s in samples if s not in present]
    if absent:
        raise VariantInputError(
            f"{vcf_path}: {len(absent)} study samples are not in the VCF, e.g. "
            f"{', '.join(absent[:5])}; fix the individual lists or the VCF"
        )


def _check_genotypes(record: pysam.VariantRecord, where: str) -> None:
    for name, call in record.samples.items():
        alleles = call.alleles if "GT" in call else None
        if alleles is None or len(alleles) != 2:
            raise VariantInputError(f"{where}: sample {name} has no diploid GT")
        if None in call["GT"]:
            raise VariantInputError(
                f"{where}: sample {name} has a missing genotype; impute the VCF first"
            )
        if not call.phased and call["GT"][0] != call["GT"][1]:
            raise VariantInputError(
                f"{where}: sample {name} has an unphased heterozygous genotype; "
                "personal haplotypes need phased genotypes (phase the VCF first)"
            )


def index_vcf(vcf_path: str | Path) -> Path:
    """Build a CSI index with bcftools (written to a temporary name, then renamed)."""
    vcf_path = Path(vcf_path)
    index = vcf_path.with_name(vcf_path.name + ".csi")
    with atomic_path(index) as tmp:
        pysam.bcftools.index("--force", "--csi", "-o", str(tmp), str(vcf_path))
    return index


def write_report(report: VcfCheckReport, path: str | Path) -> None:
    """Write the check report as JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(asdict(report), indent=2) + "\n")
