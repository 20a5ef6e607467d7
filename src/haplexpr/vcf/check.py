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
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cyvcf2
import numpy as np
import pysam
import pysam.bcftools

from haplexpr.atomic import atomic_path
from haplexpr.consensus_options import check_options
from haplexpr.coordinates import Interval
from haplexpr.study.genes import StudyTableError, harmonise_contig
from haplexpr.vcf.download import BGZF_EOF

log = logging.getLogger(__name__)

# Allele codes in cyvcf2's genotype arrays besides the allele index.
_MISSING = -1  # '.'
_VECTOR_END = -2  # no allele: the absent second allele of a haploid call

_REFERENCE_WINDOW = 4_000_000  # reference bases fetched at a time for the REF checks


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
        with _open_header(vcf_path) as header:
            check_samples(header.header.samples, samples, vcf_path)  # before cyvcf2 subsets
            undeclared = region is not None and region.chrom not in header.header.contigs
            if region is not None:
                _check_region(header, region, vcf_path, bases.lengths)
        contigs = _listed_contigs(chrom, reference.references)
        order = _RecordOrder()
        with _open_records(vcf_path, samples, region, undeclared) as (names, records):
            for number, record in enumerate(records, start=1):
                where = f"{vcf_path}: record {number} ({record.CHROM}:{record.POS})"
                order.check(record, where)
                if record.CHROM not in bases.lengths:
                    raise VariantInputError(
                        f"{where}: contig {record.CHROM!r} is not in the reference "
                        f"{reference_path} (it has {', '.join(reference.references[:5])}...); "
                        "rename the VCF's contigs (bcftools annotate --rename-chrs) or use the "
                        "matching reference"
                    )
                if record.CHROM not in contigs:
                    raise VariantInputError(
                        f"{where}: contig {record.CHROM!r} in the VCF listed for chromosome {chrom}"
                    )
                alts = record.ALT
                if not alts:
                    report.skipped["no_alt_allele"] += 1
                    continue
                if any(a.startswith("<") or a == "*" for a in alts):
                    report.skipped["symbolic_or_star_allele"] += 1
                    continue
                # REF itself: an INFO/END beyond it is the consensus engines' concern (bcftools
                # checks REF against END's length and refuses where a haplotype carries it).
                expected = bases.fetch(record.CHROM, record.start, record.start + len(record.REF))
                if record.REF.upper() == expected:
                    pass
                elif _unknown_only(record.REF.upper(), expected):
                    report.unknown_reference += 1
                    if len(report.unknown_examples) < 5:
                        report.unknown_examples.append(f"{record.CHROM}:{record.POS}")
                else:
                    raise VariantInputError(
                        f"{where}: REF {record.REF} but the reference has {expected}; is the "
                        "VCF on the same genome build as the reference?"
                    )
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


def _check_region(
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
def _open_records(
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


class _RecordOrder:
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
def _open_header(vcf_path: str | Path) -> Iterator[pysam.VariantFile]:
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


def _listed_contigs(chrom: str, reference_contigs: tuple[str, ...]) -> set[str]:
    """Contigs a VCF listed for ``chrom`` may use: it and the reference's spelling of it."""
    try:
        return {chrom, harmonise_contig(chrom, reference_contigs)}
    except StudyTableError:  # not in the reference: its records fail on that first
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
