"""The fast engine (``sequences.fast_engine``): refusals naming record, sample and window."""

from __future__ import annotations

import pytest
from support import vcf_files
from support.vcf_files import record_line, write_fasta

from haplexpr.consensus_settings import ConsensusOptions
from haplexpr.coordinates import Interval
from haplexpr.sequences.personal_sequences import (
    ConsensusError,
    window_sequences,
)


@pytest.mark.parametrize(
    ("fmt", "call"), [("DP:GT", "7:1|0"), ("GT", "1|x")], ids=["gt-not-first", "unreadable"]
)
def test_fast_engine_refuses_a_gt_it_cannot_read(tmp_path, fmt, call):
    seq = "ACGTACGTAC" * 6
    reference = write_fasta(tmp_path / "ref.fa", {"1": seq})
    line = record_line("1", 5, "A", "C", [call], fmt)
    vcf = vcf_files.write_vcf(tmp_path / "calls.vcf.gz", [line], ["S1"], {"1": 60}, True)
    with pytest.raises(ConsensusError, match="GT"):
        window_sequences(reference, vcf, ["S1"], [Interval("1", 0, 60)], ConsensusOptions("fast"))


@pytest.mark.parametrize(
    ("alt", "end", "variants", "start", "said"),
    [
        ("T", 16, "snvs", 10, "longer than its REF"),
        ("T,<*>", 16, "all", 10, "longer than its REF"),
        ("<*>", 18, "all", 14, "gVCF block that starts before the window"),
    ],
    ids=["snvs-padded-snv", "snv-beside-block", "block-from-before-window"],
)
def test_fast_engine_refuses_missing_calls_as_bcftools(tmp_path, alt, end, variants, start, said):
    """Where bcftools refuses -M N on a raw record, the fast engine says why, for whom, where."""
    seq = "GATTACAGCATCGAGGCTAACGTTAGCCATGGACTCATGC"
    reference = write_fasta(tmp_path / "ref.fa", {"1": seq})
    line = record_line("1", 13, "G", alt, ["0|.", "0|0"], info=f"END={end}")
    vcf = vcf_files.write_vcf(tmp_path / "calls.vcf.gz", [line], ["S1", "S2"], {"1": 40}, True)
    window = Interval("1", start, 30)
    with pytest.raises(ConsensusError, match=said) as caught:
        window_sequences(
            reference, vcf, ["S1", "S2"], [window], ConsensusOptions("fast", variants, missing="N")
        )
    assert f"1:13 G>{alt} END={end}" in str(caught.value)
    assert f"(sample S1, haplotype 2, window {window.to_region()})" in str(caught.value)
