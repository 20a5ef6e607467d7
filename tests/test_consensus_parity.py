"""Byte-for-byte parity of the fast haplotype engine with ``bcftools consensus`` 1.24.

The expected side is always computed here, by running the bcftools that pysam embeds (1.24)
on windows cut from a small reference: one region FASTA whose records are named by their
samtools region (``chrom:start+1-end``), one ``bcftools consensus -s S -H h [-M N]
[-i "type='snp'"]`` call per (sample, haplotype). Nothing expected is read from committed
files; the hand-derived sequences in the edge-case suite only pin what bcftools itself does.

bcftools 1.24 corrupts its heap (a write to ``fa_buf.s[-1]`` in ``apply_variant``) and aborts
for two input shapes: a record starting before a window whose REF reaches into it, whose ALT
is no longer than the part of REF before the window and which is not an indel sharing its
first base (``CATCG -> AG`` one base into the window); and, with ``-M N``, a missing genotype
on a multi-base REF starting one base before the window. Every bcftools run therefore
happens in a forked child, where an abort shows up as a dead job instead of killing pytest.
Those (sample, haplotype) pairs have no bcftools answer and are left out of the comparison
(the random examples count them as a hypothesis event); the edge-case suite pins what the
fast engine returns for them. Where bcftools rejects a job (a REF check against its already
edited buffer), the fast engine must raise :class:`ConsensusError`.

Not covered: ``*`` and symbolic (``<DEL>``) ALTs, which the pipeline's normalisation drops
and the fast engine skips (bcftools would write a literal ``*``).

The random (hypothesis) part runs ``HAPLEXPR_PARITY_EXAMPLES`` examples (default 40; the
whole file takes 7-15 s on two cores). For a thorough run use at least 500 (30-70 s)::

    HAPLEXPR_PARITY_EXAMPLES=500 pytest tests/test_consensus_parity.py
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pysam
import pysam.bcftools
import pytest
from hypothesis import HealthCheck, assume, event, given, note, settings
from hypothesis import strategies as st

from haplexpr.coordinates import Interval
from haplexpr.haplotypes.personal_sequences import ConsensusError, window_sequences

N_EXAMPLES = int(os.environ.get("HAPLEXPR_PARITY_EXAMPLES", "40"))
MISSING_MODES = ("reference", "N")
HAPLOTYPES = (1, 2)
# variants="snvs": the fast engine keeps SNV-only records; bcftools gets this include filter.
SNV_FILTER = "type='snp'"

pytestmark = [
    # cyvcf2 warns for every window without records ("no intervals found"): expected here.
    pytest.mark.filterwarnings("ignore:no intervals found:UserWarning"),
    pytest.mark.skipif(not hasattr(os, "fork"), reason="bcftools runs in forked children"),
]

# ---------------------------------------------------------------------------------------------
# Inputs: a reference, samples, VCF records and windows


@dataclass(frozen=True)
class Record:
    """One VCF record: 1-based POS, REF, ALTs and one GT string per sample."""

    chrom: str
    pos: int
    ref: str
    alts: tuple[str, ...]
    gts: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Record:
        """Parse ``CHROM POS REF ALT[,ALT...] GT [GT...]`` (whitespace separated)."""
        chrom, pos, ref, alts, *gts = text.split()
        return cls(chrom, int(pos), ref, tuple(alts.split(",")), tuple(gts))

    @property
    def end(self) -> int:
        """1-based inclusive end of the REF allele."""
        return self.pos + len(self.ref) - 1

    def overlaps(self, window: Interval) -> bool:
        """Whether the REF allele overlaps the window (how bcftools selects records)."""
        return self.chrom == window.chrom and self.pos <= window.end and self.end > window.start

    def vcf_line(self) -> str:
        """The record as a VCF body line."""
        fields = [self.chrom, str(self.pos), ".", self.ref, ",".join(self.alts), ".", "PASS"]
        return "\t".join([*fields, ".", "GT", *self.gts])

    def describe(self, sample_index: int) -> str:
        """Short ``POS REF>ALT GT`` text for one sample, for failure messages."""
        return (
            f"{self.chrom}:{self.pos} {self.ref}>{','.join(self.alts)} GT={self.gts[sample_index]}"
        )


@dataclass(frozen=True)
class ParityInput:
    """Everything one parity comparison needs; records sorted by contig order, then POS."""

    contigs: dict[str, str]
    samples: tuple[str, ...]
    records: tuple[Record, ...]
    windows: tuple[Interval, ...]

    def __post_init__(self) -> None:
        order = {name: i for i, name in enumerate(self.contigs)}
        keys = [(order[r.chrom], r.pos) for r in self.records]
        if keys != sorted(keys):
            raise ValueError("records must be sorted by contig (reference order) and POS")
        for record in self.records:
            if len(record.gts) != len(self.samples):
                raise ValueError(f"{record}: one GT per sample needed")
            found = self.contigs[record.chrom][record.pos - 1 : record.end]
            if found.upper() != record.ref.upper():
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
        *(f"##contig=<ID={name},length={len(seq)}>" for name, seq in data.contigs.items()),
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
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
    """One ``bcftools consensus`` run over all windows: sample, haplotype, missing, variants."""

    sample: str
    haplotype: int
    missing: str
    variants: str = "all"


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


def read_fasta(path: Path) -> list[tuple[str, str]]:
    """(name, sequence) pairs in file order; a record may be empty (a fully deleted window)."""
    records: list[tuple[str, list[str]]] = []
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            records.append((line[1:].split()[0], []))
        elif line:
            records[-1][1].append(line)
    return [(name, "".join(parts)) for name, parts in records]


def consensus_args(files: InputFiles, job: Job, output: Path) -> list[str]:
    """The ``bcftools consensus`` command line (without the program name) for one job."""
    args = ["-f", str(files.region_fasta), "-s", job.sample, "-H", str(job.haplotype)]
    if job.missing == "N":
        args += ["-M", "N"]
    if job.variants == "snvs":
        args += ["-i", SNV_FILTER]
    return [*args, "-o", str(output), str(files.vcf)]


def _run_jobs_in_child(files: InputFiles, jobs: list[Job], folder: Path) -> None:
    """Child side: run the jobs in order, leaving ``.done`` (or ``.err``) markers; never return."""
    code = 0
    faulthandler.disable()  # pytest's traceback dump on SIGABRT is noise here
    try:
        for i, job in enumerate(jobs):
            output = folder / f"job{i}.fa"
            try:
                pysam.bcftools.consensus(*consensus_args(files, job, output), catch_stdout=False)
            except pysam.utils.SamtoolsError as error:
                (folder / f"job{i}.err").write_text(str(error))
            (folder / f"job{i}.done").touch()
    except BaseException:  # a harness problem: reported by the parent
        (folder / "child_error.txt").write_text(traceback.format_exc())
        code = 3
    finally:
        os._exit(code)


def run_bcftools(files: InputFiles, jobs: list[Job], windows: tuple[Interval, ...]) -> Outcome:
    """Run every job with bcftools in forked children; an aborting job does not stop the rest.

    One child runs the jobs in order; if it dies, the first job without a ``.done`` marker is
    the one that aborted, and a new child carries on after it.
    """
    outcome = Outcome()
    folder = Path(tempfile.mkdtemp(prefix="bcftools-", dir=files.region_fasta.parent))
    first = 0
    while first < len(jobs):
        batch = folder / f"from{first}"
        batch.mkdir()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            _run_jobs_in_child(files, jobs[first:], batch)
        _, status = os.waitpid(pid, 0)
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) != 0:
            child_error = batch / "child_error.txt"
            details = child_error.read_text() if child_error.exists() else ""
            raise AssertionError(f"bcftools child failed (status {status}):\n{details}")
        died = os.WIFSIGNALED(status)
        for i, job in enumerate(jobs[first:]):
            if not (batch / f"job{i}.done").exists():
                break
            error = batch / f"job{i}.err"
            if error.exists():
                outcome.failures[job] = BcftoolsFailure(error.read_text())
                continue
            records = read_fasta(batch / f"job{i}.fa")
            names = [name for name, _ in records]
            regions = [w.to_region() for w in windows]
            assert names == regions, f"bcftools returned records {names} for windows {regions}"
            outcome.sequences[job] = [seq for _, seq in records]
        else:
            assert not died, f"bcftools child died after its last job (status {status})"
            break
        assert died, "bcftools child exited cleanly without finishing its jobs"
        sig = os.WTERMSIG(status)
        outcome.failures[jobs[first + i]] = BcftoolsFailure(
            f"bcftools consensus died ({signal.Signals(sig).name})", sig
        )
        first += i + 1
    return outcome


# ---------------------------------------------------------------------------------------------
# The actual side: the fast engine


def fast_haplotypes(
    files: InputFiles, data: ParityInput, missing: str, variants: str = "all"
) -> dict[tuple[str, int], list[str]]:
    """All haplotypes of all windows from the fast engine, keyed by (sample, haplotype)."""
    return window_sequences(
        files.reference,
        files.vcf,
        samples=list(data.samples),
        windows=list(data.windows),
        engine="fast",
        missing=missing,
        variants=variants,
    )


def fast_unless_refused(
    files: InputFiles, data: ParityInput, missing: str, variants: str, outcome: Outcome
) -> dict[tuple[str, int], list[str]] | None:
    """The fast engine's answer, or None when it refused the input just as bcftools did.

    bcftools refuses a job (non-zero exit) when a REF does not match its edited buffer; the
    fast engine answers every sample and haplotype in one call, so it must then raise
    :class:`ConsensusError`, and must not raise otherwise. An abort is not a refusal.
    """
    refused = [str(job) for job, f in outcome.failures.items() if f.signal is None]
    try:
        actual = fast_haplotypes(files, data, missing, variants)
    except ConsensusError as error:
        if not refused:
            raise AssertionError(f"fast engine refused what bcftools accepted: {error}") from error
        return None
    assert not refused, (
        f"bcftools refused {refused} ({next(iter(outcome.failures.values())).message}), "
        "but the fast engine answered"
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
        f"fast engine != bcftools consensus for region {window.to_region()}, sample "
        f"{job.sample}, haplotype {job.haplotype}, missing={job.missing!r}, "
        f"variants={job.variants!r}",
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


def all_jobs(data: ParityInput, missing: str, variants: str = "all") -> list[Job]:
    """Both haplotypes of every sample, one missing mode, one variants mode."""
    return [Job(s, h, missing, variants) for s in data.samples for h in HAPLOTYPES]


# ---------------------------------------------------------------------------------------------
# (a) Hand-written edge cases

# Contig "1", 1-based positions in blocks of ten:
#  1 GATTACAGCA  11 TCGAGGCTAA  21 CGTTAGCCAT  31 GGACTCATGC  41 ATCCGTAGGA  51 CTTGACGGTC
CONTIG_1 = "GATTACAGCATCGAGGCTAACGTTAGCCATGGACTCATGCATCCGTAGGACTTGACGGTC"
# Contig "2": soft-masked (lowercase) stretches at 11-20 and 31-40.
CONTIG_2 = "ACGTACGTACgtacgtacgtACGTACGTACggccaattggCCGGAATTCC"
# Contig "3": N runs at 9-14 and 23-32.
CONTIG_3 = "ACGTTGCANNNNNNGATTACAGNNNNNNNNNNCATGCATG"
CONTIGS = {"1": CONTIG_1, "2": CONTIG_2, "3": CONTIG_3}


@dataclass(frozen=True)
class EdgeCase:
    """A small hand-written parity case.

    ``expected`` holds hand-derived bcftools output, keyed ``"S1:1"`` (sample:haplotype, both
    missing modes) or ``"S1:1:N"`` (one mode); ``aborts`` lists the ``"S1:1:N"`` jobs on which
    bcftools 1.24 corrupts its heap and dies, whose ``expected`` then says what the fast engine
    must return (the output bcftools would write without the stray ``fa_buf.s[-1]`` write);
    ``refuses`` lists the jobs bcftools rejects (REF mismatch), where the fast engine must
    raise :class:`ConsensusError`.
    """

    name: str
    records: tuple[str, ...]
    windows: tuple[str, ...] = ("1:11-30",)
    expected: dict[str, tuple[str, ...]] = field(default_factory=dict)
    aborts: tuple[str, ...] = ()
    refuses: tuple[str, ...] = ()
    variants: str = "all"

    def data(self) -> ParityInput:
        """The case as a :class:`ParityInput` (samples S1..Sn from the GT columns)."""
        records = sorted(
            (Record.parse(text) for text in self.records),
            key=lambda r: (list(CONTIGS).index(r.chrom), r.pos),
        )
        n = len(records[0].gts) if records else 1
        return ParityInput(
            dict(CONTIGS),
            tuple(f"S{i + 1}" for i in range(n)),
            tuple(records),
            tuple(Interval.from_region(w) for w in self.windows),
        )

    def hand_expected(self, job: Job) -> tuple[str, ...] | None:
        """The hand-derived sequences for a job, if the case has them."""
        key = f"{job.sample}:{job.haplotype}"
        return self.expected.get(f"{key}:{job.missing}", self.expected.get(key))

    def aborts_on(self, job: Job) -> bool:
        """Whether bcftools 1.24 is known to abort on this job."""
        return f"{job.sample}:{job.haplotype}:{job.missing}" in self.aborts

    def refuses_on(self, job: Job) -> bool:
        """Whether bcftools 1.24 is known to reject this job."""
        return f"{job.sample}:{job.haplotype}:{job.missing}" in self.refuses


W = "TCGAGGCTAACGTTAGCCAT"  # reference of the default window 1:11-30

EDGE_CASES = [
    # --- indels and MNPs at window edges
    EdgeCase(
        "insertion_at_window_first_base",
        ("1 11 T TGG 1|0",),
        expected={"S1:1": ("TGGCGAGGCTAACGTTAGCCAT",), "S1:2": (W,)},
    ),
    EdgeCase(
        "insertion_anchored_just_before_window",  # REF does not overlap: not applied
        ("1 10 A AGG 1|1",),
        expected={"S1:1": (W,), "S1:2": (W,)},
    ),
    EdgeCase(
        "insertion_at_window_last_base",
        ("1 30 T TCC 0|1",),
        expected={"S1:1": (W,), "S1:2": (W + "CC",)},
    ),
    EdgeCase(
        "deletion_from_before_window_start",
        ("1 8 GCATC G 1|0",),
        expected={"S1:1": ("GAGGCTAACGTTAGCCAT",), "S1:2": (W,)},
    ),
    EdgeCase(
        "deletion_anchored_on_base_before_window",
        ("1 10 ATC A 1|1",),
        expected={"S1:1": ("GAGGCTAACGTTAGCCAT",), "S1:2": ("GAGGCTAACGTTAGCCAT",)},
    ),
    EdgeCase(
        "deletion_past_window_end",
        ("1 28 CATGG C 1|0",),
        expected={"S1:1": ("TCGAGGCTAACGTTAGCC",), "S1:2": (W,)},
    ),
    EdgeCase(
        "deletion_covering_whole_window",
        ("1 9 CATCGAGGCT C 1|0",),
        windows=("1:11-15", "1:11-30"),
        expected={"S1:1": ("", "AACGTTAGCCAT"), "S1:2": ("TCGAG", W)},
    ),
    EdgeCase(
        "mnp_across_window_start",
        ("1 9 CATC GGGG 1|0",),
        expected={"S1:1": ("GGGAGGCTAACGTTAGCCAT",), "S1:2": (W,)},
    ),
    EdgeCase(
        "mnp_across_window_end",
        ("1 29 ATGG CCCC 0|1",),
        expected={"S1:1": (W,), "S1:2": ("TCGAGGCTAACGTTAGCCCC",)},
    ),
    EdgeCase(
        "complex_across_window_start_alt_reaches_window",
        ("1 9 CATCG GGGA 1|0",),
        expected={"S1:1": ("GAAGGCTAACGTTAGCCAT",), "S1:2": (W,)},
    ),
    EdgeCase(
        "complex_at_and_across_window_end",  # S2: REF and ALT trimmed to the window's end
        ("1 29 AT GGGG 1|0 0|0", "1 29 ATG GGGGG 0|0 1|0"),
        expected={"S1:1": ("TCGAGGCTAACGTTAGCCGGGG",), "S2:1": ("TCGAGGCTAACGTTAGCCGG",)},
    ),
    EdgeCase(
        # bcftools 1.24 writes the ALT's last base to fa_buf.s[-1] and aborts; without that
        # stray write it would drop window bases 11-13 (REF 10-13 after trimming).
        "complex_across_window_start_alt_before_window_bcftools_aborts",
        ("1 9 CATCG AG 1|0",),
        expected={"S1:1": ("AGGCTAACGTTAGCCAT",), "S1:2": (W,)},
        aborts=("S1:1:reference", "S1:1:N"),
    ),
    EdgeCase(
        # -M N turns the missing allele into a 1-base REF>N record at POS 10, one base before
        # the window: bcftools 1.24 writes N to fa_buf.s[-1] and aborts; the window itself
        # is untouched.
        "missing_deletion_one_base_before_window_with_N_bcftools_aborts",
        ("1 10 ATCG A .|0",),
        expected={"S1:1": (W,), "S1:2": (W,)},
        aborts=("S1:1:N",),
    ),
    EdgeCase(
        "missing_deletion_two_bases_before_window_with_N",
        ("1 9 CATCG C .|0",),
        expected={"S1:1": (W,), "S1:2": (W,)},
    ),
    # --- overlapping variants on one haplotype
    EdgeCase(
        "deletion_then_snv_inside_it",
        ("1 13 GAGG G 1|1", "1 15 G T 1|0"),
        expected={"S1:1": ("TCGCTAACGTTAGCCAT",), "S1:2": ("TCGCTAACGTTAGCCAT",)},
    ),
    EdgeCase(
        "two_overlapping_deletions",
        ("1 13 GAGG G 1|0", "1 15 GGCT G 1|1"),
        expected={"S1:1": ("TCGCTAACGTTAGCCAT",), "S1:2": ("TCGAGAACGTTAGCCAT",)},
    ),
    EdgeCase(
        "snv_then_insertion_same_pos",
        ("1 13 G T 1|0", "1 13 G GAA 1|1"),
        expected={"S1:1": ("TCTAAAGGCTAACGTTAGCCAT",), "S1:2": ("TCGAAAGGCTAACGTTAGCCAT",)},
    ),
    EdgeCase(
        "insertion_then_insertion_same_pos",
        ("1 13 G GAA 1|0", "1 13 G GCC 1|1"),
        expected={"S1:1": ("TCGAAAGGCTAACGTTAGCCAT",), "S1:2": ("TCGCCAGGCTAACGTTAGCCAT",)},
    ),
    EdgeCase(
        "insertion_then_snv_same_pos",
        ("1 13 G GAA 1|0", "1 13 G T 1|1"),
        expected={"S1:1": ("TCGAAAGGCTAACGTTAGCCAT",), "S1:2": ("TCTAGGCTAACGTTAGCCAT",)},
    ),
    EdgeCase(
        "snv_then_deletion_same_pos",
        ("1 13 G T 1|0", "1 13 GAG G 1|1"),
        expected={"S1:1": ("TCTGCTAACGTTAGCCAT",), "S1:2": ("TCGGCTAACGTTAGCCAT",)},
    ),
    EdgeCase(
        "deletion_then_insertion_at_its_last_base",
        ("1 13 GAG G 1|0", "1 15 G GTT 1|1"),
        expected={"S1:1": ("TCGTTGCTAACGTTAGCCAT",), "S1:2": ("TCGAGTTGCTAACGTTAGCCAT",)},
    ),
    EdgeCase(
        "deletion_then_insertion_inside_it",
        ("1 13 GAGG G 1|0", "1 15 G GTT 1|0"),
        expected={"S1:1": ("TCGCTAACGTTAGCCAT",)},
    ),
    EdgeCase(
        "mnp_then_insertion_at_its_last_base",
        ("1 12 CG TT 1|0", "1 13 G GAA 1|0"),
        expected={"S1:1": ("TTTAAAGGCTAACGTTAGCCAT",)},
    ),
    # --- adjacent indels (S1: deletion then insertion, S2: insertion then deletion)
    EdgeCase(
        "adjacent_indels",
        ("1 12 C CAA 0|0 1|1", "1 12 CG C 1|1 0|0", "1 13 GA G 0|0 1|0", "1 14 A ATT 1|0 0|0"),
        expected={
            "S1:1": ("TCATTGGCTAACGTTAGCCAT",),
            "S1:2": ("TCAGGCTAACGTTAGCCAT",),
            "S2:1": ("TCAAGGGCTAACGTTAGCCAT",),
            "S2:2": ("TCAAGAGGCTAACGTTAGCCAT",),
        },
    ),
    # --- multi-allelic
    EdgeCase(
        "multiallelic",
        (
            "1 13 G T,GCC 1|2 2|0",
            "1 20 ACGT A,ACGTT,TCGT 1|3 2|1",
            "1 33 A G,T,C 3|2 0|3",
        ),
        windows=("1:11-40",),
        expected={
            "S1:1": ("TCTAGGCTAATAGCCATGGCCTCATGC",),
            "S1:2": ("TCGCCAGGCTATCGTTAGCCATGGTCTCATGC",),
            "S2:1": ("TCGCCAGGCTAACGTTTAGCCATGGACTCATGC",),
            "S2:2": ("TCGAGGCTAATAGCCATGGCCTCATGC",),
        },
    ),
    # --- missing genotypes
    EdgeCase(
        "missing_alleles",
        (
            "1 13 G T .|1 1|. ./. .",
            "1 16 GCTA G .|0 0|. .|. 1|1",
            "1 22 GT CA 1|. .|1 ./1 0|0",
        ),
        expected={  # -M N on a missing multi-base REF replaces its first base only
            "S1:1:reference": ("TCGAGGCTAACCATAGCCAT",),
            "S1:1:N": ("TCNAGNCTAACCATAGCCAT",),
            "S1:2:reference": ("TCTAGGCTAACGTTAGCCAT",),
            "S1:2:N": ("TCTAGGCTAACNTTAGCCAT",),
            "S3:1:reference": (W,),
            "S3:1:N": ("TCNAGNCTAACNTTAGCCAT",),
            "S4:1:reference": ("TCGAGGACGTTAGCCAT",),
            "S4:2:N": ("TCNAGGACGTTAGCCAT",),
        },
    ),
    # --- contig ends
    EdgeCase(
        "contig_start_and_end",
        (
            "1 1 G A 1|0 0|0 0|0 0|0",
            "1 1 G TTG 0|0 1|0 0|0 0|0",
            "1 1 GAT G 0|0 0|0 1|0 0|0",
            "1 1 GA A 0|0 0|0 0|0 1|0",
            "1 58 GTC G 0|0 0|0 0|1 0|0",
            "1 59 TC T 0|0 0|0 0|0 0|1",
            "1 60 C T 0|1 0|0 0|0 0|0",
            "1 60 C CAA 0|0 0|1 0|0 0|0",
        ),
        windows=("1:1-10", "1:51-60", "1:1-60", "1:1-1", "1:60-60"),
        expected={
            "S1:1": ("AATTACAGCA", "CTTGACGGTC", "A" + CONTIG_1[1:], "A", "C"),
            "S2:1": ("TTGATTACAGCA", "CTTGACGGTC", "TTG" + CONTIG_1[1:], "TTG", "C"),
            "S3:1": ("GTACAGCA", "CTTGACGGTC", "G" + CONTIG_1[3:], "G", "C"),
            "S4:1": ("ATTACAGCA", "CTTGACGGTC", CONTIG_1[1:], "A", "C"),
            "S1:2": ("GATTACAGCA", "CTTGACGGTT", CONTIG_1[:-1] + "T", "G", "T"),
            "S2:2": ("GATTACAGCA", "CTTGACGGTCAA", CONTIG_1 + "AA", "G", "CAA"),
            "S3:2": ("GATTACAGCA", "CTTGACGG", CONTIG_1[:-2], "G", ""),
            "S4:2": ("GATTACAGCA", "CTTGACGGT", CONTIG_1[:-1], "G", ""),
        },
    ),
    # --- soft-masked reference: the ALT takes the case of the reference base at POS
    EdgeCase(
        "lowercase_reference",
        (
            "2 9 ACGT TTTT 0|0 1|0 0|0",
            "2 10 C CGG 0|0 0|0 1|1",
            "2 13 A C 1|1 0|0 0|0",
            "2 15 G GAAA 0|0 1|1 0|0",
            "2 19 GTAC CCCC 1|0 0|0 0|0",
            "2 29 ACGGCC A 0|1 0|0 0|0",
        ),
        windows=("2:1-50", "2:11-20", "2:15-35"),
        expected={
            "S1:1": (
                "ACGTACGTAC" + "gtccgtac" + "cccc" + "GTACGTACggccaattggCCGGAATTCC",
                "gtccgtaccc",
                "gtac" + "cccc" + "GTACGTAC" + "ggcca",
            ),
            "S1:2": (
                "ACGTACGTACgtccgtacgtACGTACGT" + "A" + "aattggCCGGAATTCC",
                "gtccgtacgt",
                "gtacgtACGTACGT" + "A" + "a",
            ),
        },
    ),
    EdgeCase(
        "lowercase_alleles_in_vcf",
        ("1 13 g t 1|0", "1 16 gc g 0|1"),
        expected={"S1:1": ("TCTAGGCTAACGTTAGCCAT",), "S1:2": ("TCGAGGTAACGTTAGCCAT",)},
    ),
    # --- N runs in the reference
    EdgeCase(
        "n_runs",
        (
            "3 8 A G 1|0 0|0 0|0",
            "3 8 ANNN A 0|0 1|1 0|0",
            "3 10 N NACG 0|0 0|0 1|0",
            "3 12 N A 1|1 0|0 0|0",
            "3 14 NGA CCC 0|0 1|0 0|1",
            "3 22 GNN G 0|1 0|0 0|0",
        ),
        windows=("3:1-40", "3:9-14", "3:5-16"),
        expected={
            "S1:2": ("ACGTTGCANNNANNGATTACAGNNNNNNNNCATGCATG", "NNNANN", "TGCANNNANNGA"),
            "S2:1": ("ACGTTGCANNCCCTTACAGNNNNNNNNNNCATGCATG", "NNC", "TGCANNCCC"),
            "S3:1": ("ACGTTGCANNACGNNNNGATTACAGNNNNNNNNNNCATGCATG", "NNACGNNNN", "TGCANNACGNNNNGA"),
        },
    ),
    # --- windows with no variants, several and overlapping windows
    EdgeCase(
        "no_variants_in_window",
        ("1 13 G T 1|1", "1 55 A C 1|1"),
        windows=("1:41-50", "2:1-50", "3:1-40"),
        expected={"S1:1": (CONTIG_1[40:50], CONTIG_2, CONTIG_3)},
    ),
    EdgeCase(
        "several_overlapping_windows",
        (
            "1 12 C CAA 1|0",
            "1 14 AGGC A 1|1",
            "1 26 G T 0|1",
            "1 29 AT A 1|1",
            "2 5 A G 1|0",
        ),
        windows=(
            "1:11-30",
            "1:1-15",
            "1:11-30",
            "2:3-12",
            "1:25-40",
            "1:15-15",
            "1:15-16",
            "1:13-13",
        ),
        expected={
            "S1:1": (
                "TCAAGATAACGTTAGCCA",
                "GATTACAGCATCAAGA",
                "TCAAGATAACGTTAGCCA",
                "GTGCGTACgt",
                "AGCCAGGACTCATGC",
                "",
                "",
                "G",
            ),
        },
    ),
    # --- haploid genotypes asked for haplotype 2
    EdgeCase(
        "haploid_gt_single_sample",  # GT vector of length 1: haplotype 2 is not applied
        ("1 13 G T 1", "1 16 G C 0", "1 20 A G ."),
        expected={
            "S1:1:reference": ("TCTAGGCTAACGTTAGCCAT",),
            "S1:1:N": ("TCTAGGCTANCGTTAGCCAT",),
            "S1:2:reference": (W,),
            "S1:2:N": ("TCGAGGCTANCGTTAGCCAT",),
        },
    ),
    EdgeCase(
        "haploid_gt_next_to_diploid_sample",  # GT padded with vector_end: reads as missing
        ("1 13 G T 1 0|1", "1 16 G C 0 1|0", "1 20 A G . 0|0"),
        expected={
            "S1:1:reference": ("TCTAGGCTAACGTTAGCCAT",),
            "S1:1:N": ("TCTAGGCTANCGTTAGCCAT",),
            "S1:2:reference": (W,),
            "S1:2:N": ("TCNAGNCTANCGTTAGCCAT",),
        },
    ),
    # --- complex REF/ALT
    EdgeCase(
        "complex_ref_alt",
        ("1 20 ACGT AG 1|1 1|0", "1 33 AC TTG 1|0 0|1"),
        windows=("1:11-40", "1:21-35", "1:34-40"),
        expected={
            # ACGT>AG one base before 1:21-35 keeps its ALT's G; AC>TTG one base before
            # 1:34-40 keeps TG
            "S1:1": ("TCGAGGCTAAGTAGCCATGGTTGTCATGC", "GTAGCCATGGTTGT", "TGTCATGC"),
            "S2:2": (W + "GGTTGTCATGC", "CGTTAGCCATGGTTGT", "TGTCATGC"),
        },
    ),
    # --- a deletion empties the window, then an insertion at the deleted last base: bcftools
    # reads the ALT's case from the byte just past its (now empty) buffer, a stale copy of
    # the window's original base there (S1: t, so lowercase; S2: g)
    EdgeCase(
        "insertion_after_deletion_emptied_window_case_from_stale_base",
        (
            "2 14 CG C 0|0 1|0",
            "2 15 G GAA 0|0 1|0",
            "2 18 CGTA C 1|0 0|0",
            "2 21 A AGG 1|0 0|0",
        ),
        windows=("2:20-21", "2:15-15"),
        expected={"S1:1": ("gg", "g"), "S2:1": ("tA", "aa")},
    ),
    # --- bcftools rejects: the window end trims the first deletion to its anchor, so the
    # second one's REF check reads the SNV's T (bcftools' prev_base is the edited base)
    EdgeCase(
        "same_deletion_twice_cut_by_window_end_bcftools_refuses",
        ("1 13 G T 1|0", "1 13 GA G 1|0", "1 13 GA G 1|0"),
        windows=("1:11-13",),
        refuses=("S1:1:reference", "S1:1:N"),
    ),
    # --- variants="snvs" (bcftools -i "type='snp'"): records with an indel or MNP ALT are out
    EdgeCase(
        "snvs_only",
        (
            "1 12 C T 1|0",
            "1 13 G GAA 1|1",
            "1 15 GG TT 1|1",
            "1 17 C A,CTT 1|2",
            "1 19 A C,G 1|2",
            "1 21 C G 1|.",
            "1 24 TA T 1|1",
            # same-length alleles one base apart are SNPs to htslib, whatever their length
            "1 26 GC TC 1|0",
            "1 28 CAT CGT 0|1",
        ),
        expected={
            "S1:1": ("TTGAGGCTCAGGTTATCCAT",),
            "S1:2:reference": ("TCGAGGCTGACGTTAGCCGT",),
            "S1:2:N": ("TCGAGGCTGANGTTAGCCGT",),
        },
        variants="snvs",
    ),
]


def _case_id(case: EdgeCase) -> str:
    return case.name


@pytest.mark.parametrize("missing", MISSING_MODES)
@pytest.mark.parametrize("case", EDGE_CASES, ids=_case_id)
def test_edge_case_parity(case: EdgeCase, missing: str, tmp_path: Path):
    data = case.data()
    files = write_inputs(data, tmp_path)
    jobs = all_jobs(data, missing, case.variants)
    outcome = run_bcftools(files, jobs, data.windows)

    problems = []
    for job in jobs:
        failure = outcome.failures.get(job)
        if case.aborts_on(job):
            if failure is None or failure.signal is None:
                problems.append(f"{job}: bcftools 1.24 was expected to abort here, got {failure}")
            continue
        if case.refuses_on(job):
            if failure is None or failure.signal is not None:
                problems.append(f"{job}: bcftools 1.24 was expected to refuse, got {failure}")
            continue
        if failure is not None:
            problems.append(f"{job}: bcftools failed on a hand-written case: {failure.message}")
            continue
        hand = case.hand_expected(job)
        if hand is not None and tuple(outcome.sequences[job]) != hand:
            problems.append(
                f"{job}: bcftools returned {outcome.sequences[job]}, hand-derived {list(hand)}"
            )
    assert not problems, "\n".join(problems)

    actual = fast_unless_refused(files, data, missing, case.variants, outcome)
    if actual is None:
        return
    # Where bcftools aborts, the fast engine must still answer: pin the hand-derived result.
    for job in jobs:
        if case.aborts_on(job):
            outcome.sequences[job] = list(case.hand_expected(job) or ())
    problems = compare(data, outcome, actual)
    assert not problems, "\n\n".join(problems)


def test_bcftools_multi_window_call_matches_single_window_calls(tmp_path: Path):
    """The harness runs bcftools once over all windows; that equals one call per window."""
    for k, case in enumerate(EDGE_CASES):
        data = case.data()
        folder = tmp_path / str(k)
        folder.mkdir()
        files = write_inputs(data, folder)
        jobs = all_jobs(data, "N", case.variants)
        together = run_bcftools(files, jobs, data.windows)
        for w, window in enumerate(data.windows):
            single = ParityInput(data.contigs, data.samples, data.records, (window,))
            sub = folder / f"w{w}"
            sub.mkdir()
            alone = run_bcftools(write_inputs(single, sub), jobs, (window,))
            for job, seqs in together.sequences.items():
                assert alone.sequences[job] == [seqs[w]], (case.name, window, job)


# ---------------------------------------------------------------------------------------------
# (b) Random examples (hypothesis)

ALLELE_BASES = "ACGT"


@st.composite
def contig_sequence(draw, length: int) -> str:
    """Random ACGT with a few N runs and a few soft-masked (lowercase) runs."""
    seq = list(draw(st.text(alphabet=ALLELE_BASES, min_size=length, max_size=length)))
    for _ in range(draw(st.integers(0, 2))):
        start = draw(st.integers(0, length - 1))
        run = draw(st.integers(1, 10))
        seq[start : start + run] = "N" * len(seq[start : start + run])
    for _ in range(draw(st.integers(0, 3))):
        start = draw(st.integers(0, length - 1))
        run = draw(st.integers(1, 60))
        seq[start : start + run] = [b.lower() for b in seq[start : start + run]]
    return "".join(seq)


@st.composite
def window_on(draw, contigs: dict[str, str]) -> Interval:
    """A window on a random contig, often touching a contig end."""
    chrom = draw(st.sampled_from(sorted(contigs)))
    length = len(contigs[chrom])
    kind = draw(st.sampled_from(["inside", "inside", "inside", "start", "end", "whole"]))
    start = 0 if kind in ("start", "whole") else draw(st.integers(0, length - 1))
    if kind in ("end", "whole"):
        end = length
    else:
        end = draw(st.integers(start + 1, min(length, start + draw(st.sampled_from([5, 40, 400])))))
    return Interval(chrom, start, end)


def _bases(draw, min_size: int, max_size: int) -> str:
    return draw(st.text(alphabet=ALLELE_BASES, min_size=min_size, max_size=max_size))


@st.composite
def alt_allele(draw, ref: str, kind: str) -> str:
    """One ALT allele of the given shape for REF (may equal REF; callers drop those)."""
    if kind == "snv":
        return draw(st.sampled_from([b for b in ALLELE_BASES if b != ref[0]]))
    if kind == "mnp":
        if draw(st.booleans()):  # one base apart: an SNP to htslib (matters for "snvs")
            i = draw(st.integers(0, len(ref) - 1))
            return ref[:i] + draw(st.sampled_from(ALLELE_BASES)) + ref[i + 1 :]
        return _bases(draw, len(ref), len(ref))
    if kind == "insertion":
        return ref + _bases(draw, 1, 6)
    if kind == "deletion":
        return ref[0]
    if kind == "right_anchored":  # no shared first base: ``A -> TTA``, ``ACG -> G``
        if len(ref) > 1 and draw(st.booleans()):
            return ref[draw(st.integers(1, len(ref) - 1)) :]
        return _bases(draw, 1, 4) + ref
    # complex: anything, anchored or not
    alt = _bases(draw, 1, len(ref) + 4)
    if draw(st.booleans()):
        alt = ref[0] + alt[1:]
    return alt


REF_LENGTHS = {
    "snv": (1, 1),
    "mnp": (2, 4),
    "insertion": (1, 1),
    "deletion": (2, 8),
    "right_anchored": (1, 5),
    "complex": (1, 6),
}


@st.composite
def genotype(draw, n_alleles: int) -> str:
    """A GT string: mostly phased diploid, sometimes unphased, haploid or missing."""
    allele = st.one_of(
        st.sampled_from([0, 0, 1, 1] + list(range(2, n_alleles))), st.just(None)
    ).map(lambda a: "." if a is None else str(a))
    ploidy = draw(st.sampled_from([2] * 9 + [1]))
    if ploidy == 1:
        return draw(allele)
    sep = draw(st.sampled_from("||||/"))
    return sep.join([draw(allele), draw(allele)])


@st.composite
def parity_inputs(draw) -> tuple[ParityInput, str, str]:
    """A random reference, VCF and windows, plus a missing mode and a variants mode."""
    names = ["1", "2", "chrX"][: draw(st.integers(1, 3))]
    contigs = {name: draw(contig_sequence(draw(st.integers(50, 400)))) for name in names}
    windows = tuple(draw(st.lists(window_on(contigs), min_size=1, max_size=5)))
    samples = tuple(f"S{i + 1}" for i in range(draw(st.integers(1, 4))))

    records: list[Record] = []
    for chrom, seq in contigs.items():
        length = len(seq)
        edges = [1, length]
        for w in windows:
            if w.chrom == chrom:
                edges += [w.start + 1, w.end]
        positions: list[int] = []
        for _ in range(draw(st.integers(0, 14))):
            how = draw(st.sampled_from(["uniform", "edge", "edge", "near_previous"]))
            if how == "uniform" or (how == "near_previous" and not positions):
                pos = draw(st.integers(1, length))
            elif how == "edge":
                pos = draw(st.sampled_from(edges)) + draw(st.integers(-4, 4))
            else:
                pos = positions[-1] + draw(st.integers(0, 3))
            positions.append(min(max(pos, 1), length))
        for pos in sorted(positions):
            kind = draw(st.sampled_from(sorted(REF_LENGTHS)))
            lo, hi = REF_LENGTHS[kind]
            ref_len = min(draw(st.integers(lo, hi)), length - pos + 1)
            ref = seq[pos - 1 : pos - 1 + ref_len].upper()
            if kind == "deletion" and ref_len < 2:
                kind = "snv"
            kinds = [kind] + [
                draw(st.sampled_from(sorted(REF_LENGTHS))) for _ in range(draw(st.integers(0, 2)))
            ]
            alts: list[str] = []
            for k in kinds:
                if k == "deletion" and len(ref) < 2:
                    continue
                alt = draw(alt_allele(ref, k))
                if alt != ref and alt not in alts:
                    alts.append(alt)
            if not alts:
                continue
            gts = tuple(draw(genotype(len(alts) + 1)) for _ in samples)
            records.append(Record(chrom, pos, ref, tuple(alts), gts))
    missing = draw(st.sampled_from(MISSING_MODES))
    variants = draw(st.sampled_from(["all", "all", "all", "snvs"]))
    return ParityInput(contigs, samples, tuple(records), windows), missing, variants


@settings(
    max_examples=N_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)
@given(example=parity_inputs())
def test_random_parity(example: tuple[ParityInput, str, str]):
    data, missing, variants = example
    note(f"missing={missing!r} variants={variants!r}\n{data.reproducer()}")
    with tempfile.TemporaryDirectory(prefix="haplexpr-parity-") as tmp:
        files = write_inputs(data, Path(tmp))
        outcome = run_bcftools(files, all_jobs(data, missing, variants), data.windows)
        for failure in outcome.failures.values():
            # bcftools refused the input (a REF check against its already edited buffer): the
            # fast engine must refuse too. Or it aborted on its fa_buf.s[-1] write: no
            # expected answer for that job, jobs it answered are still compared, and an
            # example where every job aborted is filtered out.
            event("bcftools aborted" if failure.signal else "bcftools refused a job")
        refused = any(f.signal is None for f in outcome.failures.values())
        assume(outcome.sequences or refused)
        actual = fast_unless_refused(files, data, missing, variants, outcome)
    if actual is None:
        event("bcftools and the fast engine both refused")
        return
    problems = compare(data, outcome, actual)
    assert not problems, "\n\n".join(problems)
