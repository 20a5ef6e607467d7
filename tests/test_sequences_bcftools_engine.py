"""The bcftools engine (``sequences.bcftools_engine``): chains into edits, TSS, crashes."""

from __future__ import annotations

import pysam
import pysam.bcftools
import pytest
from support import vcf_files
from support.hand_applied import (
    GENES,
    REFERENCE,
    SAMPLE,
    expected_haplotype,
)
from support.vcf_files import record_line, write_fasta

from haplexpr.consensus_settings import ConsensusOptions
from haplexpr.coordinates import Interval
from haplexpr.sequences.bcftools_engine import (
    apply_edits,
    edits_from_alignment,
    read_chains,
    tss_after_edits,
)
from haplexpr.sequences.personal_sequences import (
    ConsensusError,
    window_sequences,
)

CHAIN_TEXT = """\
chain 100 1 1000 + 100 130 1:101-130 1000 + 100 129 1
10 0 3
5 4 0
11

chain 30 2 500 + 200 230 2:201-230 500 + 200 230 2
30

"""


def test_read_chains(tmp_path):
    path = tmp_path / "x.chain"
    path.write_text(CHAIN_TEXT)
    assert read_chains(path) == [
        (100, 100, [(10, 0, 3), (5, 4, 0), (11, 0, 0)]),
        (200, 200, [(30, 0, 0)]),
    ]


# Edits of a 30-base window at 100: +3 after offset 9, 4 bases (15..18) deleted.
EDITS = [(9, 10, b"GAAA"), (14, 19, b"C")]


@pytest.mark.parametrize(
    ("position", "offset"),
    [
        (0, 0),  # first base
        (9, 9),  # the insertion's anchor
        (10, 13),  # first base after 3 inserted bases
        (14, 17),  # the deletion's anchor
        (15, 18),  # inside the deletion (15..18): the next surviving base
        (18, 18),
        (19, 18),  # that next base itself
        (29, 28),  # last base
    ],
)
def test_tss_after_edits_with_indels(position, offset):
    assert tss_after_edits(position, EDITS) == offset


def test_edits_read_off_a_bcftools_chain(hand_inputs, tmp_path):
    """A real bcftools chain turns into edits that rebuild its output and place the TSS."""
    reference, vcfs = hand_inputs
    window = GENES["gA"]
    start, end = window.interval.start, window.interval.end
    region = tmp_path / "region.fa"
    region.write_text(f">{window.interval.to_region()}\n{REFERENCE['1'][start:end]}\n")
    for h in (1, 2):
        chain = tmp_path / f"hap{h}.chain"
        out = tmp_path / f"hap{h}.fa"
        pysam.bcftools.consensus(
            "-f", str(region), "-s", SAMPLE, "-H", str(h), "-c", str(chain),
            "-o", str(out), str(vcfs["1"]), catch_stdout=False,
        )  # fmt: skip
        (blocks,) = read_chains(chain)
        sequence = "".join(out.read_text().split("\n")[1:]).encode()
        ref = REFERENCE["1"][start:end].encode()
        edits = edits_from_alignment(ref, sequence, blocks, start)
        assert apply_edits(ref, edits) == sequence
        assert len(edits) > 1, "the chain should split SNVs and indels into separate edits"
        assert tss_after_edits(window.tss - start, edits) == expected_haplotype(window, h)[1]


def test_bcftools_crash_is_a_clear_error_not_a_dead_process(tmp_path):
    """bcftools 1.24 aborts on a record crossing a window start without a shared first base.

    The bcftools engine runs it in a process of its own, so the caller gets a ConsensusError (and
    the fast engine, which follows bcftools minus that stray write, answers).
    """
    seq = "GATTACAGCATCGAGGCTAACGTTAGCCATGGACTCATGCATCCGTAGGACTTGACGGTC"
    reference = write_fasta(tmp_path / "ref.fa", {"1": seq})
    line = record_line("1", 9, "CATCG", "AG", ["1|0"])
    vcf = vcf_files.write_vcf(tmp_path / "calls.vcf.gz", [line], ["S1"], {"1": len(seq)}, True)
    windows = [Interval("1", 0, 5), Interval("1", 10, 30), Interval("1", 40, 60)]
    for _ in range(10):  # many windows and runs in one process: the caller lives on
        with pytest.raises(ConsensusError, match="crashed") as caught:
            window_sequences(reference, vcf, ["S1"], windows, ConsensusOptions("bcftools"))
        assert f"{vcf}, sample S1, haplotype 1, window 1:11-30" in str(caught.value)
    fast = window_sequences(reference, vcf, ["S1"], windows, ConsensusOptions("fast"))
    assert fast[("S1", 1)][1] == "AGGCTAACGTTAGCCAT"
    alone = window_sequences(reference, vcf, ["S1"], windows[2:], ConsensusOptions("bcftools"))
    assert alone == {("S1", 1): [seq[40:60]], ("S1", 2): [seq[40:60]]}
