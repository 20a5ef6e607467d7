"""Byte-for-byte parity of both haplotype engines with ``bcftools consensus`` 1.24.

The expected side is always computed here, by running the bcftools that pysam embeds (1.24)
on windows cut from a small reference: one region FASTA whose records are named by their
samtools region (``chrom:start+1-end``), one ``bcftools consensus -s S -H h [-M N]
[-i "type='snp'"]`` call per (sample, haplotype), each in a fresh interpreter. Nothing
expected is read from committed files; the hand-derived sequences in the edge-case suite
only pin what bcftools itself does. Both engines (``fast`` and ``bcftools``, which runs the
same bcftools per sample and haplotype and reads its output back through chain files) are
held to it on raw, unnormalised input: multi-allelic records, ``*`` and breakend ALTs
(bcftools writes their text), ``<DEL>`` with INFO/END or SVLEN, ``<*>``/``<NON_REF>`` gVCF
blocks, other symbolic ALTs (bcftools stops on a haplotype carrying one), INFO/END beyond
REF, records past a window's end, emptied windows and long insertions.

bcftools 1.24 corrupts its heap (a write to ``fa_buf.s[-1]`` in ``apply_variant``) and aborts
for two input shapes: a record starting before a window whose REF reaches into it, whose ALT
is no longer than the part of REF before the window and which is not an indel sharing its
first base (``CATCG -> AG`` one base into the window); and, with ``-M N``, a missing genotype
on a multi-base REF starting one base before the window. A corrupted heap may also only
abort a later job of the same process, so every bcftools run (here and in the bcftools
engine) is a process of its own. Aborted (sample, haplotype) pairs have no bcftools answer:
the bcftools engine must raise :class:`ConsensusError` for the input, the fast engine must
answer, and the random examples count them as a hypothesis event while the edge-case suite
pins what the fast engine returns. Where bcftools rejects a job (a REF check against its
already edited buffer, an unsupported symbolic ALT), both engines must raise
:class:`ConsensusError`.

``unphased: iupac`` (``-H 1pIu`` / ``-H 2pIu``, the seed's) has hand-written cases of its own
(support/consensus_iupac_cases.py), a third of the random examples, and a test on real
unphased genotypes (tests/test_consensus_parity_realdata.py).

The random (hypothesis) part runs ``HAPLEXPR_PARITY_EXAMPLES`` examples (default 40; the
whole file takes 7-15 s on two cores). For a thorough run use at least 500 (30-70 s)::

    HAPLEXPR_PARITY_EXAMPLES=500 pytest tests/test_consensus_parity.py
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, event, given, note, settings
from hypothesis import strategies as st
from support.consensus_edge_cases import EDGE_CASES, EdgeCase
from support.consensus_iupac_cases import IUPAC_CASES
from support.consensus_parity import (
    ENGINES,
    MISSING_MODES,
    ParityInput,
    Record,
    all_jobs,
    compare,
    engine_haplotypes,
    engine_unless_refused,
    run_bcftools,
    write_inputs,
)
from support.consensus_raw_cases import RAW_CASES

from haplexpr.coordinates import Interval
from haplexpr.sequences.personal_sequences import ConsensusError
from haplexpr.vcf.symbolic import htslib_rlen

N_EXAMPLES = int(os.environ.get("HAPLEXPR_PARITY_EXAMPLES", "40"))

pytestmark = [
    # cyvcf2 warns for every window without records ("no intervals found"): expected here.
    pytest.mark.filterwarnings("ignore:no intervals found:UserWarning"),
]


def _case_id(case: EdgeCase) -> str:
    return case.name


@pytest.mark.parametrize("missing", MISSING_MODES)
@pytest.mark.parametrize("case", EDGE_CASES + RAW_CASES + IUPAC_CASES, ids=_case_id)
def test_edge_case_parity(case: EdgeCase, missing: str, tmp_path: Path):
    data = case.data()
    files = write_inputs(data, tmp_path)
    jobs = all_jobs(data, missing, case.variants, case.unphased)
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

    for engine in ENGINES:
        actual = engine_unless_refused(
            files, data, missing, case.variants, outcome, engine, case.unphased
        )
        if actual is None:
            continue
        # Where bcftools aborts, the fast engine must still answer: pin the hand-derived result.
        for job in jobs:
            if case.aborts_on(job):
                outcome.sequences[job] = list(case.hand_expected(job) or ())
        problems = compare(data, outcome, actual)
        assert not problems, f"{engine} engine:\n" + "\n\n".join(problems)


def test_bcftools_multi_window_call_matches_single_window_calls(tmp_path: Path):
    """The harness runs bcftools once over all windows; that equals one call per window."""
    for k, case in enumerate(c for c in EDGE_CASES + RAW_CASES if len(c.windows) > 1):
        data = case.data()
        folder = tmp_path / str(k)
        folder.mkdir()
        files = write_inputs(data, folder)
        jobs = all_jobs(data, "N", case.variants, case.unphased)
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
    kind = draw(st.sampled_from(["inside", "inside", "inside", "start", "end", "whole", "point"]))
    start = 0 if kind in ("start", "whole") else draw(st.integers(0, length - 1))
    if kind == "point":  # one base: a deletion across it and an insertion on it matter
        end = start + 1
    elif kind in ("end", "whole"):
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
    if kind == "insertion":  # sometimes longer than a small window
        return ref + _bases(draw, 1, draw(st.sampled_from([6, 6, 6, 40])))
    if kind == "deletion":
        return ref[0]
    if kind == "right_anchored":  # no shared first base: ``A -> TTA``, ``ACG -> G``
        if len(ref) > 1 and draw(st.booleans()):
            return ref[draw(st.integers(1, len(ref) - 1)) :]
        return _bases(draw, 1, 4) + ref
    if kind in RAW_ALTS:
        return draw(st.sampled_from(RAW_ALTS[kind]))
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
# ALTs of raw, unnormalised VCFs: reached through INFO/END or SVLEN where symbolic.
RAW_ALTS = {
    "star": ["*"],
    "breakend": ["N[1:20[", "]2:5]N"],
    "symbolic_deletion": ["<DEL>"],
    "gvcf_block": ["<*>", "<NON_REF>"],
    "symbolic_other": ["<CN0>", "<DUP>", "<INV>", "<INS:ME:ALU>"],
}
ALT_KINDS = sorted(REF_LENGTHS) * 3 + sorted(RAW_ALTS)


@st.composite
def genotype(draw, n_alleles: int, missing: bool = True, separators: str = "||||/") -> str:
    """A GT string: mostly diploid (``separators`` drawn from), sometimes haploid or missing."""
    called = st.sampled_from([0, 0, 1, 1] + list(range(2, n_alleles)))
    allele = (st.one_of(called, st.just(None)) if missing else called).map(
        lambda a: "." if a is None else str(a)
    )
    ploidy = draw(st.sampled_from([2] * 9 + [1]))
    if ploidy == 1:
        return draw(allele)
    sep = draw(st.sampled_from(separators))
    return sep.join([draw(allele), draw(allele)])


@st.composite
def info_field(draw, pos: int, alts: list[str]) -> str:
    """INFO: often END or SVLEN where an ALT is symbolic, now and then END on any record."""
    symbolic = any(a.startswith("<") for a in alts)
    if not draw(st.sampled_from([symbolic, symbolic, False, False, False, False, False])):
        return "."
    if draw(st.booleans()):
        return f"END={pos + draw(st.integers(-1, 12))}"
    lengths = [draw(st.integers(-12, 12)) for _ in alts]
    return "SVLEN=" + ",".join(map(str, lengths))


@st.composite
def parity_inputs(draw) -> tuple[ParityInput, str, str, str]:
    """A random reference, VCF and windows, plus missing, variants and unphased modes."""
    # iupac: unphased calls (half of them) are what it changes
    unphased = draw(st.sampled_from(["as_listed", "as_listed", "iupac"]))
    separators = "|/" if unphased == "iupac" else "||||/"
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
            lo, hi = REF_LENGTHS[kind]  # a raw ALT kind below takes any of these REFs
            ref_len = min(draw(st.integers(lo, hi)), length - pos + 1)
            ref = seq[pos - 1 : pos - 1 + ref_len].upper()
            if kind == "deletion" and ref_len < 2:
                kind = "snv"
            kinds = [kind] + [
                draw(st.sampled_from(ALT_KINDS)) for _ in range(draw(st.integers(0, 2)))
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
            # A missing call on a gVCF block that starts before the window under -M N: bcftools
            # 1.24 reads the block's bases from before its buffer, so what it does depends on
            # memory; the fast engine refuses it as bcftools does in the edge case
            # gvcf_block_missing_from_before_window, and random examples do not draw it.
            block = any(a in RAW_ALTS["gvcf_block"] for a in alts)
            gts = tuple(
                draw(genotype(len(alts) + 1, missing=not block, separators=separators))
                for _ in samples
            )
            records.append(Record(chrom, pos, ref, tuple(alts), gts, draw(info_field(pos, alts))))
    missing = draw(st.sampled_from(MISSING_MODES))
    variants = draw(st.sampled_from(["all", "all", "all", "snvs"]))
    records = [r for r in records if not cut_past_its_text(r, windows)]
    return ParityInput(contigs, samples, tuple(records), windows), missing, variants, unphased


def cut_past_its_text(record: Record, windows: tuple[Interval, ...]) -> bool:
    """A record whose cut at a window's start bcftools 1.24 makes past its REF or ALT text.

    A symbolic ALT other than <DEL>, <*> and <NON_REF>, or a plain ALT of a record whose
    INFO/END or SVLEN reaches beyond REF, starting before a window and reaching into it:
    bcftools' output there depends on memory contents (or it aborts), see vcf/symbolic.py;
    the fast engine refuses it. Not generated.
    """
    rlen = htslib_rlen(record.pos, record.ref, list(record.alts), record.info)
    applied = ("<DEL>", "<*>", "<NON_REF>")
    other = any(a.startswith("<") and a.upper() not in applied for a in record.alts)
    padded = rlen > len(record.ref) and any(not a.startswith("<") for a in record.alts)
    start = record.pos - 1
    return (other or padded) and any(
        w.chrom == record.chrom and start < w.start < start + rlen for w in windows
    )


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
def test_random_parity(example: tuple[ParityInput, str, str, str]):
    data, missing, variants, unphased = example
    note(f"missing={missing!r} variants={variants!r} unphased={unphased!r}\n{data.reproducer()}")
    with tempfile.TemporaryDirectory(prefix="haplexpr-parity-") as tmp:
        files = write_inputs(data, Path(tmp))
        outcome = run_bcftools(files, all_jobs(data, missing, variants, unphased), data.windows)
        for failure in outcome.failures.values():
            # bcftools refused the input (a REF check against its already edited buffer): the
            # fast engine must refuse too. Or it aborted on its fa_buf.s[-1] write: no
            # expected answer for that job, jobs it answered are still compared, and an
            # example where every job aborted is filtered out.
            event("bcftools aborted" if failure.signal else "bcftools refused a job")
        if unphased == "iupac" and any("/" in gt for r in data.records for gt in r.gts):
            event("iupac with unphased calls")
        refused = any(f.signal is None for f in outcome.failures.values())
        assume(outcome.sequences or refused)
        for engine in ENGINES:
            actual = engine_unless_refused(
                files, data, missing, variants, outcome, engine, unphased
            )
            if actual is None:
                event(f"bcftools and the {engine} engine both refused")
                continue
            problems = compare(data, outcome, actual)
            assert not problems, f"{engine} engine:\n" + "\n\n".join(problems)


def test_alt_on_unknown_reference_base_is_named(tmp_path: Path):
    """The fast engine's refusal says the reference base is N (unknown), not a wrong build."""
    case = next(c for c in EDGE_CASES if c.name.startswith("alt_on_unknown_reference_base"))
    data = case.data()
    files = write_inputs(data, tmp_path)
    with pytest.raises(ConsensusError) as caught:
        engine_haplotypes(files, data, "reference", "all", "fast")
    assert "3:10 A>G: the reference has N (N: an unknown base) under REF, and bcftools" in str(
        caught.value
    )
