"""Normalises a downloaded VCF before it is checked and indexed: one representation per variant.

In order: contig names are made to match the reference (or the run fails with the fix);
study samples must be in the VCF; ``bcftools norm -m -both -f REF --check-ref e`` splits
multi-allelic records and left-aligns indels, and a REF that disagrees with the reference
fails with the file, record and fix; then records with a symbolic (``<DEL>``) or ``*``
ALT, or none, are dropped and counted, since a personal sequence cannot be built from them.
With ``normalise=False`` (``consensus.normalise: false``) only the contig names and samples
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
from haplexpr.study.genes import StudyTableError, harmonise_contig
from haplexpr.vcf.check import VariantInputError, check_samples

log = logging.getLogger(__name__)

CONTIG_FIX = (
    "set variants.harmonise_contigs: true in config.yaml (adds or strips the 'chr' prefix, "
    "maps M/MT) or give variants.contig_map, a two-column 'old new' file as for bcftools "
    "annotate --rename-chrs"
)
REF_MISMATCH = re.compile(
    r"Reference allele mismatch at (?P<chrom>\S+):(?P<pos>\d+) \.\. "
    r"REF_SEQ:'(?P<expected>[^']*)' vs VCF:'(?P<ref>[^']*)'"
)
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
    seconds: float = 0.0


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
            except StudyTableError:
                continue  # left as is; fails below if the VCF has records on it
        else:
            continue
        if new != name:
            renames[name] = new
    return renames


def normalise_vcf(
    source: str | Path,
    reference: str | Path,
    dest: str | Path,
    samples: list[str],
    *,
    contig_map: str | Path | None = None,
    harmonise_contigs: bool = False,
    normalise: bool = True,
) -> NormalisationReport:
    """Write ``source`` normalised against ``reference`` to ``dest`` (bgzipped VCF).

    ``normalise=False`` renames contigs and checks samples but leaves the records as they are.
    """
    started = time.monotonic()
    report = NormalisationReport(source=str(source), output=str(dest))
    reference_contigs = _reference_contigs(reference)
    with _open(source) as vcf:
        contigs = list(vcf.header.contigs)
        first = next(iter(vcf), None)
        if first is not None and first.chrom not in contigs:
            contigs.append(first.chrom)
        explicit = read_contig_map(contig_map) if contig_map else None
        report.renamed = contig_renames(contigs, reference_contigs, explicit, harmonise_contigs)
        if first is not None:
            _check_contig(first.chrom, report.renamed, reference_contigs, source, reference)
        check_samples(vcf.header.samples, samples, source)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(dest, ("tmp", "scratch"))  # a killed run's leftovers
    with tempfile.TemporaryDirectory(prefix=f".{dest.name}.scratch", dir=dest.parent) as scratch:
        renamed = _rename_contigs(source, report.renamed, Path(scratch))
        if normalise:
            normalised = Path(scratch) / "normalised.bcf"
            report.norm = _bcftools_norm(renamed, reference, normalised, source)
        with atomic_path(dest) as tmp:
            if normalise:
                report.records = _drop_unusable(normalised, tmp, report.dropped)
            else:
                report.records = _copy(renamed, tmp)
    report.seconds = round(time.monotonic() - started, 3)
    _log_report(report)
    return report


def _reference_contigs(reference: str | Path) -> list[str]:
    with pysam.FastaFile(str(reference)) as fasta:
        return list(fasta.references)


def _check_contig(
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
    except StudyTableError:
        hint = f"is the VCF on the same genome build as the reference? If so, {CONTIG_FIX}"
    renamed = f" (renamed to {final!r} by variants.contig_map)" if final != name else ""
    raise VariantInputError(
        f"{source}: contig {name!r}{renamed} is not in the reference {reference} "
        f"(it has {shown}...); {hint}"
    )


def _rename_contigs(source: str | Path, renames: dict[str, str], scratch: Path) -> Path:
    """``bcftools annotate --rename-chrs`` when there is anything to rename."""
    if not renames:
        return Path(source)
    mapping = scratch / "contig_map.txt"
    mapping.write_text("".join(f"{old}\t{new}\n" for old, new in renames.items()))
    renamed = scratch / "renamed.bcf"
    _bcftools(
        "annotate", "--rename-chrs", str(mapping), "--no-version", "-Ou", "-o", str(renamed),
        str(source),
    )  # fmt: skip
    pairs = [f"{old} -> {new}" for old, new in renames.items()]
    more = f" and {len(pairs) - 10} more" if len(pairs) > 10 else ""
    log.info("renamed %d contigs: %s%s", len(pairs), ", ".join(pairs[:10]), more)
    return renamed


def _bcftools_norm(
    vcf: Path, reference: str | Path, output: Path, source: str | Path
) -> dict[str, int]:
    """Split multi-allelics and left-align indels; REF mismatches become clear errors."""
    try:
        stderr = _bcftools(
            "norm", "-m", "-both", "-f", str(reference), "--check-ref", "e", "--no-version",
            "-Ou", "-o", str(output), str(vcf),
        )  # fmt: skip
    except pysam.SamtoolsError as error:
        raise _norm_error(str(error), vcf, source) from error
    match = NORM_SUMMARY.search(stderr)
    if not match:
        log.warning("bcftools norm printed no summary: %s", stderr.strip())
        return {}
    return dict(zip(match["names"].split("/"), map(int, match["counts"].split("/")), strict=True))


def _norm_error(message: str, vcf: Path, source: str | Path) -> VariantInputError:
    mismatch = REF_MISMATCH.search(message)
    if mismatch is None:
        detail = message.split("stderr=", 1)[-1].strip()
        return VariantInputError(f"{source}: bcftools norm failed: {detail}")
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


def _copy(vcf: Path, dest: Path) -> int:
    """Copy ``vcf`` to bgzipped ``dest`` record for record (bcftools view); count them."""
    _bcftools("view", "--no-version", "-Oz", "-o", str(dest), str(vcf))
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
    skipped = sum(report.dropped.values())
    if skipped:
        kinds = ", ".join(f"{n} {DROPPED[k]}" for k, n in sorted(report.dropped.items()))
        log.warning(
            "skipped %d records with symbolic or * alleles or no ALT (%s); personal "
            "sequences ignore them",
            skipped,
            kinds,
        )


def _bcftools(command: str, *args: str) -> str:
    """Run a bcftools command in-process (pysam); return what it printed on stderr."""
    tool = getattr(pysam.bcftools, command)
    tool(*args, catch_stdout=False)
    stderr = tool.stderr or ""
    return stderr if isinstance(stderr, str) else "\n".join(stderr)


def _open(path: str | Path) -> pysam.VariantFile:
    """Open a VCF/BCF to stream it, without htslib's notice that it has no index."""
    previous = pysam.set_verbosity(0)
    try:
        return pysam.VariantFile(str(path))
    finally:
        pysam.set_verbosity(previous)
