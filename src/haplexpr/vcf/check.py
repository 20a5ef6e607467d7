"""Checks a phased VCF against the reference and the study before any consensus is built.

The pipeline checks the VCF consensus reads (``haplexpr.vcf.normalise``'s output, or the
download itself with ``consensus.normalise: false``); the CLI checks any VCF it is given.
Each problem fails with a message naming the file, the record and the fix, because a
silently wrong personal sequence is worse than no sequence: a contig spelt differently from
the reference, REF alleles that disagree with it, unphased heterozygous genotypes of study
samples (unless ``unphased`` is ``as_listed`` or ``iupac``), samples the study names but the
VCF lacks, calls that are neither haploid nor diploid, and damaged files: a bgzip file cut
short, a header naming a sample twice, a line htslib cannot parse, records out of order, an
index older than the file. Multi-allelic records are accepted (bcftools consensus -H applies
the ALT a haplotype names, ``1|2`` included). Missing alleles (``.|1``, ``./.``) and haploid
calls (chrX of males) are accepted and counted: bcftools consensus leaves the reference base
for a missing allele (or writes N with ``consensus.missing: N``) and gives haplotype 2 of a
haploid call the reference (N under ``consensus.missing: N``: bcftools consensus -M N treats
the absent second allele as missing). A reference base N is unknown, not a disagreement: a
record whose REF lies on N (a study reference with real sequence for part of a chromosome)
is kept and counted as not checkable. A region on a contig the VCF does not declare holds no
variants: bcftools consensus writes the reference there.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cyvcf2
import numpy as np
import pysam
import pysam.bcftools

from haplexpr.atomic import atomic_path
from haplexpr.consensus_settings import check_options
from haplexpr.coordinates import Interval, UnknownContigError, harmonise_contig
from haplexpr.vcf.file_checks import (
    RecordOrder,
    VariantInputError,
    check_container,
    check_region,
    open_header,
    open_records,
)

log = logging.getLogger(__name__)

# Allele codes in cyvcf2's genotype arrays besides the allele index.
_MISSING = -1  # '.'
_VECTOR_END = -2  # no allele: the absent second allele of a haploid call

_REFERENCE_WINDOW = 4_000_000  # reference bases fetched at a time for the REF checks


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
    unphased_policy: str = "error"
    missing_policy: str = "reference"
    # Genotype calls (record x study sample) accepted under the policies above.
    missing_calls: int = 0
    haploid_calls: int = 0
    unphased_heterozygous_calls: int = 0
    # Of those, under unphased: iupac, the calls of two different called alleles: consensus
    # writes their IUPAC code (a half-missing one gets its called allele on both haplotypes).
    iupac_calls: int = 0
    # Records whose REF lies (partly) on reference N: an unknown base, so not checkable.
    unknown_reference: int = 0
    unknown_examples: list[str] = field(default_factory=list)
    seconds: float = 0.0


def check_vcf(
    vcf_path: str | Path,
    reference_path: str | Path,
    chrom: str,
    samples: list[str],
    region: Interval | None = None,
    *,
    unphased: str = "error",
    missing: str = "reference",
) -> VcfCheckReport:
    """Validate a VCF for the given samples (all of it, or one indexed ``region``).

    ``chrom`` names the chromosome the VCF is listed for; its records may be on ``chrom``
    or on the reference's spelling of it (``chr22`` for ``22``). ``unphased``: ``error``
    fails on an unphased heterozygous call; ``as_listed`` accepts it (the allele written
    first goes to haplotype 1, as bcftools consensus -H 1 does); ``iupac`` accepts it (both
    haplotypes get its IUPAC code, as bcftools consensus -H 1pIu does). ``missing``
    (``reference`` or ``N``) only names what consensus will do with missing alleles in the
    warning. Raises on the first problem.
    """
    check_options(unphased=unphased, missing=missing)
    started = time.monotonic()
    report = VcfCheckReport(
        vcf=str(vcf_path),
        contig=chrom,
        samples_checked=len(samples),
        unphased_policy=unphased,
        missing_policy=missing,
    )
    check_container(vcf_path)
    with pysam.FastaFile(str(reference_path)) as reference:
        bases = _ReferenceBases(reference)
        with open_header(vcf_path) as header:
            check_samples(header.header.samples, samples, vcf_path)  # before cyvcf2 subsets
            undeclared = region is not None and region.chrom not in header.header.contigs
            if region is not None:
                check_region(header, region, vcf_path, bases.lengths)
        contigs = _listed_contigs(chrom, reference.references)
        order = RecordOrder()
        with open_records(vcf_path, samples, region, undeclared) as (names, records):
            for number, record in enumerate(records, start=1):
                where = f"{vcf_path}: record {number} ({record.CHROM}:{record.POS})"
                order.check(record, where)
                _check_contig(record.CHROM, where, bases, contigs, chrom, reference_path)
                alts = record.ALT
                if not alts:
                    report.skipped["no_alt_allele"] += 1
                    continue
                if any(a.startswith("<") or a == "*" for a in alts):
                    report.skipped["symbolic_or_star_allele"] += 1
                    continue
                _check_ref(record, where, bases, report)
                if names:
                    _check_genotypes(record, names, where, unphased, report)
                if len(record.REF) == 1 and all(len(a) == 1 for a in alts):
                    report.snvs += 1
                else:
                    report.indels += 1
                report.records += 1
    report.seconds = round(time.monotonic() - started, 3)
    _log_accepted(report)
    return report


def _check_contig(
    contig: str,
    where: str,
    bases: _ReferenceBases,
    listed: set[str],
    chrom: str,
    reference_path: str | Path,
) -> None:
    """Fail unless a record's contig is in the reference and is one ``chrom`` may use."""
    if contig not in bases.lengths:
        raise VariantInputError(
            f"{where}: contig {contig!r} is not in the reference "
            f"{reference_path} (it has {', '.join(bases.reference.references[:5])}...); "
            "rename the VCF's contigs (bcftools annotate --rename-chrs) or use the "
            "matching reference"
        )
    if contig not in listed:
        raise VariantInputError(
            f"{where}: contig {contig!r} in the VCF listed for chromosome {chrom}"
        )


def _check_ref(
    record: cyvcf2.Variant, where: str, bases: _ReferenceBases, report: VcfCheckReport
) -> None:
    """Fail where REF disagrees with the reference; count REFs on reference N (unknown).

    REF itself only: an INFO/END beyond it is the consensus engines' concern (bcftools
    checks REF against END's length and refuses where a haplotype carries it).
    """
    expected = bases.fetch(record.CHROM, record.start, record.start + len(record.REF))
    if record.REF.upper() == expected:
        return
    if not _unknown_only(record.REF.upper(), expected):
        raise VariantInputError(
            f"{where}: REF {record.REF} but the reference has {expected}; is the "
            "VCF on the same genome build as the reference?"
        )
    report.unknown_reference += 1
    if len(report.unknown_examples) < 5:
        report.unknown_examples.append(f"{record.CHROM}:{record.POS}")


def _unknown_only(ref: str, expected: str) -> bool:
    """Whether upper-case REF differs from the reference only where the reference has N."""
    return len(ref) == len(expected) and all(
        e == "N" or e == r for r, e in zip(ref, expected, strict=True)
    )


def _log_accepted(report: VcfCheckReport) -> None:
    """Warn about the calls the policies accepted, and the records not checkable, with counts."""
    if report.unknown_reference:
        log.warning(
            "%s: %d records on unknown reference bases (N), REF not checkable (e.g. %s); "
            "consensus (bcftools 1.24) refuses to apply their ALT alleles in a window",
            report.vcf,
            report.unknown_reference,
            ", ".join(report.unknown_examples),
        )
    if report.missing_calls:
        fill = "the reference base" if report.missing_policy == "reference" else "N"
        log.warning(
            "%s: %d genotype calls of study samples have a missing allele; consensus writes "
            "%s for it (consensus.missing: %s)",
            report.vcf,
            report.missing_calls,
            fill,
            report.missing_policy,
        )
    if report.unphased_heterozygous_calls and report.unphased_policy == "iupac":
        log.warning(
            "%s: %d unphased heterozygous calls of study samples; both haplotypes get the "
            "IUPAC code of %d of them, the called allele of the rest (half-missing) "
            "(consensus.unphased: iupac)",
            report.vcf,
            report.unphased_heterozygous_calls,
            report.iupac_calls,
        )
    elif report.unphased_heterozygous_calls:
        log.warning(
            "%s: %d unphased heterozygous calls of study samples; the allele written first "
            "goes to haplotype 1 (consensus.unphased: as_listed)",
            report.vcf,
            report.unphased_heterozygous_calls,
        )
    if report.haploid_calls:
        log.info(
            "%s: %d haploid calls of study samples (e.g. chrX of males); haplotype 2 gets %s there",
            report.vcf,
            report.haploid_calls,
            "the reference" if report.missing_policy == "reference" else "N",
        )


def _listed_contigs(chrom: str, reference_contigs: tuple[str, ...]) -> set[str]:
    """Contigs a VCF listed for ``chrom`` may use: it and the reference's spelling of it."""
    try:
        return {chrom, harmonise_contig(chrom, reference_contigs)}
    except UnknownContigError:  # not in the reference: its records fail on that first
        return {chrom}


class _ReferenceBases:
    """Upper-case reference bases, fetched a window at a time and sliced for each record."""

    def __init__(self, reference: pysam.FastaFile) -> None:
        self.reference = reference
        self.lengths = dict(zip(reference.references, reference.lengths, strict=True))
        self.contig: str | None = None
        self.start = self.end = 0
        self.bases = ""

    def fetch(self, contig: str, start: int, end: int) -> str:
        """Bases of ``[start, end)``, cut at the contig's end as ``FastaFile.fetch`` cuts them."""
        if contig != self.contig or start < self.start or end > self.end:
            # Sorted records need each window once; a whole chr1 would need ~0.5 GB.
            self.contig, self.start, self.end = contig, start, max(end, start + _REFERENCE_WINDOW)
            self.bases = self.reference.fetch(contig, start, self.end).upper()
        return self.bases[start - self.start : end - self.start]


def check_samples(present: Iterable[str], samples: list[str], vcf_path: str | Path) -> None:
    """Fail, naming them, if study ``samples`` are not among the VCF's ``present`` ones."""
    present = set(present)
    absent = [s for s in samples if s not in present]
    if absent:
        raise VariantInputError(
            f"{vcf_path}: {len(absent)} study samples are not in the VCF, e.g. "
            f"{', '.join(absent[:5])}; fix the individual lists or the VCF"
        )


def _check_genotypes(
    record: cyvcf2.Variant, names: list[str], where: str, unphased: str, report: VcfCheckReport
) -> None:
    """Check and count the study samples' calls of one record under the policies."""
    try:
        # (sample, allele..., phased), samples as ``names``; unpacks the record's FORMAT
        calls = record.genotype.array()
    except Exception:  # cyvcf2's bare Exception: the record has no GT
        calls = None
    # Like the VCF spec, pysam only took GT as the first FORMAT key. Reading FORMAT before
    # genotype unpacked it would crash on a lazy cyvcf2 record.
    if calls is None or not record.FORMAT or record.FORMAT[0] != "GT":
        what = "no GT as its first FORMAT key" if record.FORMAT else "no FORMAT and sample columns"
        raise VariantInputError(
            f"{where}: sample {names[0]} has no genotype: the record has {what}; is the line "
            "malformed (too few tab-separated columns)? fix or drop it"
        )
    # Most records at study scale: every call diploid, phased, of REF (0) or ALT (1). As
    # unsigned, missing and vector-end codes are large; the last column is the phase.
    n_alts = len(record.ALT)
    if calls.shape[1] == 3 and calls.view(np.uint16).max() <= n_alts and calls[:, 2].all():
        return
    alleles = calls[:, :-1]
    # An allele index beyond the ALTs reads as missing, as pysam reads it.
    alleles = np.where(alleles > n_alts, _MISSING, alleles)
    ploidy = (alleles != _VECTOR_END).sum(axis=1)
    wrong_ploidy = (ploidy == 0) | (ploidy > 2)
    # Phased comes from the second allele; a missing allele differs from any other.
    unphased_het = (ploidy == 2) & (calls[:, -1] == 0)
    if alleles.shape[1] > 1:
        unphased_het &= alleles[:, 0] != alleles[:, 1]
    failing = wrong_ploidy | unphased_het if unphased == "error" else wrong_ploidy
    if failing.any():
        first = int(failing.argmax())
        if wrong_ploidy[first]:
            raise VariantInputError(
                f"{where}: sample {names[first]} has a genotype of {ploidy[first]} alleles; "
                "personal sequences have one or two haplotypes, so every call must be haploid "
                "or diploid: fix the record or drop it (bcftools view -e)"
            )
        raise VariantInputError(
            f"{where}: sample {names[first]} has an unphased heterozygous genotype; "
            "personal haplotypes need phased genotypes (phase the VCF first, or set "
            "consensus.unphased: as_listed to give haplotype 1 the allele written first, or "
            "iupac to write the IUPAC code on both, as the seed's bcftools -H 1pIu)"
        )
    report.missing_calls += int((alleles == _MISSING).any(axis=1).sum())
    report.haploid_calls += int((ploidy == 1).sum())
    report.unphased_heterozygous_calls += int(unphased_het.sum())
    if unphased == "iupac" and alleles.shape[1] > 1:
        report.iupac_calls += int((unphased_het & (alleles != _MISSING).all(axis=1)).sum())


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
        # asdict rebuilds a Counter from (key, count) pairs, counting the pairs: undo that
        tmp.write_text(
            json.dumps(asdict(report) | {"skipped": dict(report.skipped)}, indent=2) + "\n"
        )
