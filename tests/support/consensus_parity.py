"""The parity harness: inputs, bcftools consensus 1.24 in fresh interpreters, both engines, and
the comparison with bcftools (see tests/test_consensus_parity.py for what is compared and why).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pysam

from haplexpr.consensus_settings import ConsensusOptions
from haplexpr.coordinates import Interval
from haplexpr.sequences.bcftools_engine import read_fasta
from haplexpr.sequences.personal_sequences import ConsensusError, window_sequences
from haplexpr.vcf.symbolic import htslib_rlen

MISSING_MODES = ("reference", "N")
HAPLOTYPES = (1, 2)
# variants="snvs": the fast engine keeps SNV-only records; bcftools gets this include filter.
SNV_FILTER = "type='snp'"


# ---------------------------------------------------------------------------------------------
# Inputs: a reference, samples, VCF records and windows


@dataclass(frozen=True)
class Record:
    """One VCF record: 1-based POS, REF, ALTs, one GT string per sample and INFO."""

    chrom: str
    pos: int
    ref: str
    alts: tuple[str, ...]
    gts: tuple[str, ...]
    info: str = "."

    @classmethod
    def parse(cls, text: str) -> Record:
        """Parse ``CHROM POS REF ALT[,ALT...] [INFO] GT [GT...]`` (INFO holds an ``=``)."""
        chrom, pos, ref, alts, *gts = text.split()
        info = gts.pop(0) if gts and "=" in gts[0] else "."
        return cls(chrom, int(pos), ref, tuple(alts.split(",")), tuple(gts), info)

    @property
    def end(self) -> int:
        """1-based inclusive end of the record as htslib reads it (INFO/END, SVLEN)."""
        return self.pos + htslib_rlen(self.pos, self.ref, list(self.alts), self.info) - 1

    def overlaps(self, window: Interval) -> bool:
        """Whether the REF allele overlaps the window (how bcftools selects records)."""
        return self.chrom == window.chrom and self.pos <= window.end and self.end > window.start

    def vcf_line(self) -> str:
        """The record as a VCF body line."""
        fields = [self.chrom, str(self.pos), ".", self.ref, ",".join(self.alts), ".", "PASS"]
        return "\t".join([*fields, self.info, "GT", *self.gts])

    def describe(self, sample_index: int) -> str:
        """Short ``POS REF>ALT GT`` text for one sample, for failure messages."""
        return (
            f"{self.chrom}:{self.pos} {self.ref}>{','.join(self.alts)} GT={self.gts[sample_index]}"
        )


@dataclass(frozen=True)
class ParityInput:
    """Everything one parity comparison needs; records sorted by contig order, then POS.

    ``undeclared`` names reference contigs the VCF header leaves out (no records on them).
    A REF may differ from the reference only where the reference has N (an unknown base).
    """

    contigs: dict[str, str]
    samples: tuple[str, ...]
    records: tuple[Record, ...]
    windows: tuple[Interval, ...]
    undeclared: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        order = {name: i for i, name in enumerate(self.contigs)}
        keys = [(order[r.chrom], r.pos) for r in self.records]
        if keys != sorted(keys):
            raise ValueError("records must be sorted by contig (reference order) and POS")
        for record in self.records:
            if len(record.gts) != len(self.samples):
                raise ValueError(f"{record}: one GT per sample needed")
            if record.chrom in self.undeclared:
                raise ValueError(f"{record}: on a contig the VCF header does not declare")
            found = self.contigs[record.chrom][record.pos - 1 : record.pos - 1 + len(record.ref)]
            if len(found) != len(record.ref) or any(
                f.upper() not in ("N", r.upper()) for f, r in zip(found, record.ref, strict=False)
            ):
                raise ValueError(f"{record}: REF does not match the reference ({found})")

    def reproducer(self) -> str:
        """Plain-text dump (reference, VCF body, windows) to rebuild a failing example."""
        lines = [f">{name}\n{seq}" for name, seq in self.contigs.items()]
        lines.append("#CHROM POS ID REF ALT QUAL FILTER INFO FORMAT " + " ".join(self.samples))
        lines += [r.vcf_line().replace("\t", " ") for r in self.records]
        lines.append("windows: " + " ".join(w.to_region() for w in self.windows))
        return "\n".join(lines)


@dataclass(frozen=True)
class InputFiles:
    """Reference FASTA (+ .fai), bgzipped and indexed VCF, and the windows' region FASTA."""

    reference: Path
    vcf: Path
    region_fasta: Path


def write_inputs(data: ParityInput, folder: Path) -> InputFiles:
    """Write the reference, the VCF and the region FASTA of the windows under ``folder``."""
    reference = folder / "reference.fa"
    with reference.open("w") as out:
        for name, seq in data.contigs.items():
            out.write(f">{name}\n")
            for i in range(0, len(seq), 60):
                out.write(seq[i : i + 60] + "\n")
    pysam.faidx(str(reference))

    header = [
        "##fileformat=VCFv4.2",
        *(
            f"##contig=<ID={name},length={len(seq)}>"
            for name, seq in data.contigs.items()
            if name not in data.undeclared
        ),
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##INFO=<ID=END,Number=1,Type=Integer,Description="End position">',
        '##INFO=<ID=SVLEN,Number=A,Type=Integer,Description="Length change">',
        *(f'##ALT=<ID={kind},Description="{kind}">' for kind in ("DEL", "DUP", "CN0", "INV")),
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
        + "\t"
        + "\t".join(data.samples),
    ]
    plain = folder / "calls.vcf"
    plain.write_text("\n".join(header + [r.vcf_line() for r in data.records]) + "\n")
    vcf = folder / "calls.vcf.gz"
    pysam.tabix_compress(str(plain), str(vcf), force=True)
    pysam.tabix_index(str(vcf), preset="vcf", force=True)

    region_fasta = folder / "windows.fa"
    with pysam.FastaFile(str(reference)) as fasta, region_fasta.open("w") as out:
        for window in data.windows:
            seq = fasta.fetch(window.chrom, window.start, window.end)
            out.write(f">{window.to_region()}\n{seq}\n")
    return InputFiles(reference, vcf, region_fasta)


# ---------------------------------------------------------------------------------------------
# The expected side: bcftools consensus, isolated in forked children


@dataclass(frozen=True)
class Job:
    """One ``bcftools consensus`` run over all windows: sample, haplotype and the options."""

    sample: str
    haplotype: int
    missing: str
    variants: str = "all"
    unphased: str = "as_listed"  # iupac: -H 1pIu / -H 2pIu


@dataclass
class BcftoolsFailure:
    """bcftools refused the input (non-zero exit) or aborted (``signal`` is set)."""

    message: str
    signal: int | None = None


@dataclass
class Outcome:
    """What bcftools returned for every job, by job."""

    sequences: dict[Job, list[str]] = field(default_factory=dict)
    failures: dict[Job, BcftoolsFailure] = field(default_factory=dict)


def consensus_args(files: InputFiles, job: Job, output: Path) -> list[str]:
    """The ``bcftools consensus`` command line (without the program name) for one job."""
    which = f"{job.haplotype}pIu" if job.unphased == "iupac" else str(job.haplotype)
    args = ["-f", str(files.region_fasta), "-s", job.sample, "-H", which]
    if job.missing == "N":
        args += ["-M", "N"]
    if job.variants == "snvs":
        args += ["-i", SNV_FILTER]
    return [*args, "-o", str(output), str(files.vcf)]


# One job's bcftools, in a fresh interpreter: never a fork of pytest, so a heap that bcftools
# corrupts (1.24 writes before its buffer on some inputs) dies with that job alone.
_CHILD = "import sys, pysam.bcftools; pysam.bcftools.consensus(*sys.argv[1:], catch_stdout=False)"


def run_bcftools(files: InputFiles, jobs: list[Job], windows: tuple[Interval, ...]) -> Outcome:
    """Run every job with bcftools, each in a process of its own; record output or failure."""
    outcome = Outcome()
    folder = Path(tempfile.mkdtemp(prefix="bcftools-", dir=files.region_fasta.parent))
    regions = [w.to_region() for w in windows]
    for i, job in enumerate(jobs):
        output = folder / f"job{i}.fa"
        args = consensus_args(files, job, output)
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, *args], capture_output=True, text=True, check=False
        )
        if done.returncode < 0:
            name = signal.Signals(-done.returncode).name
            outcome.failures[job] = BcftoolsFailure(
                f"bcftools consensus died ({name})", -done.returncode
            )
        elif done.returncode:
            outcome.failures[job] = BcftoolsFailure(done.stderr.strip().splitlines()[-1])
        else:
            records = read_fasta(output)
            names = [name for name, _ in records]
            assert names == regions, f"bcftools returned records {names} for windows {regions}"
            outcome.sequences[job] = [seq for _, seq in records]
    return outcome


# ---------------------------------------------------------------------------------------------
# The actual side: the engines

ENGINES = ("fast", "bcftools")


def engine_haplotypes(
    files: InputFiles,
    data: ParityInput,
    missing: str,
    variants: str,
    engine: str,
    unphased: str = "as_listed",
) -> dict[tuple[str, int], list[str]]:
    """All haplotypes of all windows from one engine, keyed by (sample, haplotype)."""
    return window_sequences(
        files.reference,
        files.vcf,
        samples=list(data.samples),
        windows=list(data.windows),
        options=ConsensusOptions(engine, variants, missing, unphased),
    )


def engine_unless_refused(
    files: InputFiles,
    data: ParityInput,
    missing: str,
    variants: str,
    outcome: Outcome,
    engine: str = "fast",
    unphased: str = "as_listed",
) -> dict[tuple[str, int], list[str]] | None:
    """An engine's answer, or None when it refused the input where it must.

    Both engines answer every sample and haplotype in one call. Where bcftools refuses a job
    (non-zero exit: a REF check, an unsupported symbolic ALT), both must raise
    :class:`ConsensusError`. Where it aborts, the bcftools engine must raise it (its child
    died, the caller did not) and the fast engine must answer. Neither may raise otherwise.
    """
    must = [
        str(job) for job, f in outcome.failures.items() if f.signal is None or engine == "bcftools"
    ]
    try:
        actual = engine_haplotypes(files, data, missing, variants, engine, unphased)
    except ConsensusError as error:
        if not must:
            raise AssertionError(
                f"{engine} engine refused what bcftools accepted: {error}"
            ) from error
        return None
    assert not must, (
        f"bcftools failed on {must} ({next(iter(outcome.failures.values())).message}), "
        f"but the {engine} engine answered"
    )
    return actual


# ---------------------------------------------------------------------------------------------
# Comparison


def first_difference(expected: str, actual: str) -> int:
    """0-based offset of the first differing character (the shorter length if one is a prefix)."""
    for i, (a, b) in enumerate(zip(expected, actual, strict=False)):
        if a != b:
            return i
    return min(len(expected), len(actual))


def _excerpt(seq: str, offset: int, width: int = 40) -> str:
    if len(seq) > 2 * width + 20:
        lo = max(0, offset - width)
        seq = f"[{lo}:]...{seq[lo : offset + width]}..."
    return seq if seq.isascii() and seq.isprintable() else ascii(seq)


def mismatch_message(
    data: ParityInput,
    window: Interval,
    job: Job,
    expected: str,
    actual: str,
) -> str:
    """Failure text: region, sample, haplotype, the variants in the window, first difference."""
    sample_index = data.samples.index(job.sample)
    variants = [r for r in data.records if r.overlaps(window)]
    offset = first_difference(expected, actual)
    reference = data.contigs[window.chrom][window.start : window.end]
    lines = [
        f"engine != bcftools consensus for region {window.to_region()}, sample "
        f"{job.sample}, haplotype {job.haplotype}, missing={job.missing!r}, "
        f"variants={job.variants!r}, unphased={job.unphased!r}",
        f"first differing offset {offset} (expected length {len(expected)}, actual {len(actual)})",
        f"variants in the window at 1-based POS {[r.pos for r in variants]}:",
        *(f"    {r.describe(sample_index)}" for r in variants),
        f"reference: {_excerpt(reference, offset)}",
        f"expected:  {_excerpt(expected, offset)}",
        f"actual:    {_excerpt(actual, offset)}",
    ]
    return "\n".join(lines)


def compare(
    data: ParityInput,
    outcome: Outcome,
    actual: dict[tuple[str, int], list[str]],
) -> list[str]:
    """Mismatch messages for every job bcftools answered (empty when all agree)."""
    problems = []
    for job, expected in outcome.sequences.items():
        got = actual.get((job.sample, job.haplotype))
        if got is None or len(got) != len(expected):
            problems.append(
                f"fast engine returned {None if got is None else len(got)} sequences for "
                f"sample {job.sample} haplotype {job.haplotype}, expected {len(expected)}"
            )
            continue
        for window, exp, act in zip(data.windows, expected, got, strict=True):
            if exp != act:
                problems.append(mismatch_message(data, window, job, exp, act))
    return problems


def all_jobs(
    data: ParityInput, missing: str, variants: str = "all", unphased: str = "as_listed"
) -> list[Job]:
    """Both haplotypes of every sample under one set of options."""
    return [Job(s, h, missing, variants, unphased) for s in data.samples for h in HAPLOTYPES]
