"""Normalises a downloaded VCF before it is checked and indexed: one representation per variant.

In order: contig names are made to match the reference (or the run fails with the fix);
contigs that records use but the header does not declare (1000 Genomes files on ``chr22``
with a header of ``1``...``22``) are declared first, so that bcftools can read them; study
samples must be in the VCF; ``bcftools norm -m -both -f REF`` splits multi-allelic records
and left-aligns indels, and a REF that disagrees with the reference fails with the file,
record and fix. A reference base N is an unknown base, not a disagreement (a study reference
may hold real sequence for part of a chromosome only): records whose REF lies on N are kept,
counted and logged as not checkable. Then records with a symbolic (``<DEL>``) or ``*``
ALT, or none, are dropped and counted, since a personal sequence cannot be built from them.
Contigs are renamed as config ``variants`` says (``coordinates.VariantSettings``). With
``normalise=False`` (``consensus.normalise: false``) only the contig names and samples
are seen to and the records are kept as they are: both consensus engines then give what
bcftools consensus gives on the VCF as published. The result is written under a temporary
name and renamed when complete.
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pysam
import pysam.bcftools

from haplexpr.atomic import atomic_path, remove_stale_temporaries
from haplexpr.coordinates import VariantSettings
from haplexpr.vcf.check import VariantInputError, check_samples
from haplexpr.vcf.contigs import (
    check_contig,
    contig_id,
    contig_renames,
    read_contig_map,
    read_header_text,
    read_record_contigs,
)

log = logging.getLogger(__name__)

# bcftools norm --check-ref w: one line per record whose REF differs from the reference
REF_MISMATCH = re.compile(
    r"^REF_MISMATCH\t(?P<chrom>[^\t]+)\t(?P<pos>\d+)\t(?P<ref>[^\t]*)\t(?P<expected>[^\t\n]*)$",
    re.MULTILINE,
)
UNKNOWN_BASES = frozenset("Nn")
NORM_SUMMARY = re.compile(r"Lines\s+(?P<names>[\w/]+):\s+(?P<counts>[\d/]+)")
DROPPED = {"symbolic": "symbolic ALT", "star": "* ALT", "no_alt": "no ALT"}


@dataclass
class NormalisationReport:
    """What normalising one VCF did; the counts are logged."""

    source: str
    output: str
    renamed: dict[str, str] = field(default_factory=dict)
    norm: dict[str, int] = field(default_factory=dict)
    dropped: Counter = field(default_factory=Counter)
    records: int = 0
    declared: list[str] = field(default_factory=list)  # record contigs the header lacked
    # records kept whose REF lies (partly) on reference N: not checkable; first few listed
    unknown_reference: int = 0
    unknown_examples: list[str] = field(default_factory=list)
    seconds: float = 0.0


def normalise_vcf(
    source: str | Path,
    reference: str | Path,
    dest: str | Path,
    samples: list[str],
    *,
    variants: VariantSettings = VariantSettings(),  # noqa: B008 (frozen, so shared safely)
    normalise: bool = True,
) -> NormalisationReport:
    """Write ``source`` normalised against ``reference`` to ``dest`` (bgzipped VCF).

    ``normalise=False`` renames contigs and checks samples but leaves the records as they are.
    """
    started = time.monotonic()
    report = NormalisationReport(source=str(source), output=str(dest))
    lengths = _reference_lengths(reference)
    reference_contigs = list(lengths)
    header_text = read_header_text(source)
    with _open(source) as vcf:
        # htslib adds the contigs of a tabix index, and of each record, to the header it
        # reads; bcftools reading the file without them fails: read the file's own lines
        declared = list(vcf.header.contigs)
        if header_text is not None:
            declared = [c for c in map(contig_id, header_text.splitlines()) if c is not None]
        first = next(iter(vcf), None)
        check_samples(vcf.header.samples, samples, source)
    record_contigs = [first.chrom] if first is not None else []
    if first is not None and first.chrom not in declared:
        record_contigs = read_record_contigs(source)  # undeclared: bcftools cannot read them
        report.declared = [c for c in record_contigs if c not in declared]
    explicit = read_contig_map(variants.contig_map) if variants.contig_map else None
    report.renamed = contig_renames(
        declared + report.declared, reference_contigs, explicit, variants.harmonise_contigs
    )
    for chrom in record_contigs:
        check_contig(chrom, report.renamed, reference_contigs, source, reference)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(dest, ("tmp", "scratch"))  # a killed run's leftovers
    with tempfile.TemporaryDirectory(prefix=f".{dest.name}.scratch", dir=dest.parent) as scratch:
        readable = Path(source)
        if report.declared:
            readable = _declare_contigs(
                source, header_text, report, record_contigs, lengths, Path(scratch)
            )
        renamed = _rename_contigs(readable, report.renamed, Path(scratch), source)
        if normalise:
            normalised = Path(scratch) / "normalised.bcf"
            _bcftools_norm(renamed, reference, normalised, source, report)
        with atomic_path(dest) as tmp:
            if normalise:
                report.records = _drop_unusable(normalised, tmp, report.dropped)
            else:
                report.records = _copy(renamed, tmp, source)
    report.seconds = round(time.monotonic() - started, 3)
    _log_report(report)
    return report


def _reference_lengths(reference: str | Path) -> dict[str, int]:
    with pysam.FastaFile(str(reference)) as fasta:
        return dict(zip(fasta.references, fasta.lengths, strict=True))


def _declare_contigs(
    source: str | Path,
    header_text: str,
    report: NormalisationReport,
    record_contigs: list[str],
    lengths: dict[str, int],
    scratch: Path,
) -> Path:
    """A copy of ``source`` whose header declares every contig its records use.

    A record contig is declared under its own name with the reference length of the name it
    is renamed to; a declared contig that would be renamed to that same name and holds no
    records (``22`` beside records on ``chr22``) is dropped, so no name is declared twice.
    """
    final = {c: report.renamed.get(c, c) for c in report.declared}
    taken = set(final.values())
    lines = []
    for line in header_text.splitlines():
        contig = contig_id(line)
        target = report.renamed.get(contig, contig) if contig is not None else None
        if target in taken:
            if contig in record_contigs:
                other = next(c for c, f in final.items() if f == target)
                raise VariantInputError(
                    f"{source}: records on both {contig!r} and {other!r}, both the reference's "
                    f"{target!r}; give them one name (bcftools annotate --rename-chrs) and rerun"
                )
            continue
        if line.startswith("#CHROM"):
            for contig in report.declared:
                length = lengths.get(final[contig])
                size = f",length={length}" if length else ""
                lines.append(f"##contig=<ID={contig}{size}>")
        lines.append(line)
    new_header = scratch / "header.txt"
    new_header.write_text("\n".join(lines) + "\n")
    name = Path(source).name
    declared = scratch / ("declared.vcf.gz" if name.endswith(".gz") else "declared.vcf")
    _bcftools("reheader", "-h", str(new_header), "-o", str(declared), str(source), source=source)
    log.info(
        "%s: records on contigs the header does not declare: %s; declared them (length from "
        "the reference)",
        source,
        ", ".join(report.declared),
    )
    return declared


def _rename_contigs(vcf: Path, renames: dict[str, str], scratch: Path, source: str | Path) -> Path:
    """``bcftools annotate --rename-chrs`` when there is anything to rename."""
    if not renames:
        return vcf
    mapping = scratch / "contig_map.txt"
    mapping.write_text("".join(f"{old}\t{new}\n" for old, new in renames.items()))
    renamed = scratch / "renamed.bcf"
    _bcftools(
        "annotate", "--rename-chrs", str(mapping), "--no-version", "-Ou", "-o", str(renamed),
        str(vcf), source=source,
    )  # fmt: skip
    pairs = [f"{old} -> {new}" for old, new in renames.items()]
    more = f" and {len(pairs) - 10} more" if len(pairs) > 10 else ""
    log.info("renamed %d contigs: %s%s", len(pairs), ", ".join(pairs[:10]), more)
    return renamed


def _bcftools_norm(
    vcf: Path, reference: str | Path, output: Path, source: str | Path, report: NormalisationReport
) -> None:
    """Split multi-allelics and left-align indels; REF mismatches become clear errors.

    ``--check-ref w`` lists every record whose REF differs from the reference and leaves it
    as it is; one on reference N (an unknown base) is kept and counted, any other fails.
    """
    stderr = _bcftools(
        "norm", "-m", "-both", "-f", str(reference), "--check-ref", "w", "--no-version",
        "-Ou", "-o", str(output), str(vcf), source=source,
    )  # fmt: skip
    for mismatch in REF_MISMATCH.finditer(stderr):
        if not _unknown_only(mismatch["ref"], mismatch["expected"]):
            raise _ref_error(mismatch, vcf, source)
        report.unknown_reference += 1
        if len(report.unknown_examples) < 5:
            report.unknown_examples.append(f"{mismatch['chrom']}:{mismatch['pos']}")
    match = NORM_SUMMARY.search(stderr)
    if not match:
        log.warning("bcftools norm printed no summary: %s", stderr.strip()[-2000:])
        return
    names, counts = match["names"].split("/"), map(int, match["counts"].split("/"))
    report.norm = dict(zip(names, counts, strict=True))


def _unknown_only(ref: str, expected: str) -> bool:
    """Whether REF differs from the reference bases only where those are N (unknown)."""
    return len(ref) == len(expected) and all(
        e in UNKNOWN_BASES or e.upper() == r.upper() for r, e in zip(ref, expected, strict=True)
    )


def _ref_error(mismatch: re.Match, vcf: Path, source: str | Path) -> VariantInputError:
    chrom, pos = mismatch["chrom"], int(mismatch["pos"])
    number = _record_number(vcf, chrom, pos)
    record = f"record {number} ({chrom}:{pos})" if number else f"record at {chrom}:{pos}"
    return VariantInputError(
        f"{source}: {record}: REF {mismatch['ref']} but the reference has "
        f"{mismatch['expected']}; is the VCF on the same genome build as the reference?"
    )


def _record_number(vcf: Path, chrom: str, pos: int) -> int | None:
    """1-based number of the first record at ``chrom:pos`` (found only when reporting)."""
    with _open(vcf) as records:
        for number, record in enumerate(records, start=1):
            if record.chrom == chrom and record.pos == pos:
                return number
    return None


def _drop_unusable(vcf: Path, dest: Path, dropped: Counter) -> int:
    """Copy ``vcf`` to bgzipped ``dest`` without symbolic, ``*`` or ALT-less records."""
    written = 0
    with _open(vcf) as records:
        with pysam.VariantFile(str(dest), "wz", header=records.header) as out:
            for record in records:
                alts = record.alts or ()
                if not alts:
                    dropped["no_alt"] += 1
                elif any(a.startswith("<") for a in alts):
                    dropped["symbolic"] += 1
                elif "*" in alts:
                    dropped["star"] += 1
                else:
                    if record.rlen != len(record.ref):
                        # INFO/END of a split record that also had a symbolic allele
                        record.rlen = len(record.ref)
                    out.write(record)
                    written += 1
    return written


def _copy(vcf: Path, dest: Path, source: str | Path) -> int:
    """Copy ``vcf`` to bgzipped ``dest`` record for record (bcftools view); count them."""
    _bcftools("view", "--no-version", "-Oz", "-o", str(dest), str(vcf), source=source)
    with _open(dest) as records:
        return sum(1 for _ in records)


def _log_report(report: NormalisationReport) -> None:
    norm = report.norm
    if norm:
        log.info(
            "bcftools norm -m -both: %d lines total, %d split, %d realigned, %d skipped",
            norm.get("total", 0),
            norm.get("split", 0),
            norm.get("realigned", 0),
            norm.get("skipped", 0),
        )
    if report.unknown_reference:
        log.warning(
            "%d records on unknown reference bases (N), REF not checkable (e.g. %s); kept: "
            "consensus (bcftools 1.24) refuses to apply their ALT alleles in a window",
            report.unknown_reference,
            ", ".join(report.unknown_examples),
        )
    skipped = sum(report.dropped.values())
    if skipped:
        kinds = ", ".join(f"{n} {DROPPED[k]}" for k, n in sorted(report.dropped.items()))
        log.warning(
            "skipped %d records with symbolic or * alleles or no ALT (%s); personal "
            "sequences ignore them",
            skipped,
            kinds,
        )


def _bcftools(command: str, *args: str, source: str | Path) -> str:
    """Run a bcftools command in-process (pysam); return what it printed on stderr.

    A failure is a :class:`VariantInputError` naming ``source`` (the VCF as downloaded).
    """
    tool = getattr(pysam.bcftools, command)
    try:
        tool(*args, catch_stdout=False)
    except pysam.SamtoolsError as error:
        detail = " ".join(str(error).split("stderr=", 1)[-1].replace("\\n", " ").split())
        raise VariantInputError(
            f"{source}: bcftools {command} cannot read it ({detail[-600:]}); look at the "
            f"file with bcftools view {source} (a damaged download, records on contigs the "
            "header does not declare, a malformed line) and fix it or download it again"
        ) from error
    stderr = tool.stderr or ""
    return stderr if isinstance(stderr, str) else "\n".join(stderr)


def _open(path: str | Path) -> pysam.VariantFile:
    """Open a VCF/BCF to stream it, without htslib's notice that it has no index."""
    previous = pysam.set_verbosity(0)
    try:
        return pysam.VariantFile(str(path))
    finally:
        pysam.set_verbosity(previous)
