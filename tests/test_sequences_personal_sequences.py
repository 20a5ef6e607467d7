"""The store builders (``sequences.personal_sequences``), both engines, vs variants by hand."""

from __future__ import annotations

import shutil
import subprocess

import pandas as pd
import pytest
from support.hand_applied import (
    CONTIG_LENGTHS,
    GENES,
    OTHER,
    REFERENCE,
    SAMPLE,
    WINDOW_LENGTH,
    WINDOWS,
    SampleView,
    expected_haplotype,
    other_base,
)

from haplexpr.consensus_settings import ConsensusOptions
from haplexpr.sequences.personal_sequences import (
    ConsensusError,
    build_haplotype_store,
    build_reference_store,
)
from haplexpr.sequences.store import HaplotypeStore, ReferenceStore
from haplexpr.study.genes import gene_windows


def test_test_windows_are_the_library_windows():
    genes = pd.DataFrame(
        [(w.gene, w.chrom, w.tss, w.strand) for w in WINDOWS],
        columns=["gene", "chr", "TSS", "strand"],
    )
    assert gene_windows(genes, CONTIG_LENGTHS, WINDOW_LENGTH, tss_base=0) == WINDOWS


@pytest.mark.parametrize("haplotype", [1, 2])
@pytest.mark.parametrize("gene", list(GENES))
def test_sequences_equal_hand_applied_variants(hand_sample, gene, haplotype):
    sequence, tss_offset = expected_haplotype(GENES[gene], haplotype)
    assert hand_sample.sequence(gene, haplotype) == sequence
    assert hand_sample.tss_offset(gene, haplotype) == tss_offset


def test_other_sample_gets_its_own_genotypes(hand_store):
    # T is 1|0 at 940 where S is 0|1, and 0|1 at 920 where S is 1|0.
    ref = REFERENCE["1"]
    assert hand_store.sequence(OTHER, "gA", 1)[40] == other_base(ref[940])
    assert hand_store.sequence(OTHER, "gA", 2)[20] == other_base(ref[920])


def test_snvs_by_haplotype(hand_sample):
    ref = REFERENCE["1"]
    hap1, hap2 = hand_sample.sequence("gA", 1), hand_sample.sequence("gA", 2)
    # Sample T carries the mirror-image genotypes at 920 and 940: picking it would show here.
    # Positions before both indels (960, 980) index the same in every haplotype.
    assert hap1[920 - 900] == other_base(ref[920]) and hap2[920 - 900] == ref[920]
    assert hap1[940 - 900] == ref[940] and hap2[940 - 900] == other_base(ref[940])
    # After the indels: hap1 is 3 bases longer, hap2 4 bases shorter.
    assert hap1[1050 - 900 + 3] == other_base(ref[1050])
    assert hap2[1050 - 900 - 4] == other_base(ref[1050])


def test_upstream_indels_shift_tss_offset_by_their_length(hand_sample):
    window = GENES["gA"]
    centre = window.tss - window.interval.start
    offsets = {h: hand_sample.tss_offset("gA", h) for h in (1, 2)}
    assert offsets == {1: centre + 3, 2: centre - 4}
    assert len(hand_sample.sequence("gA", 1)) == WINDOW_LENGTH + 3
    assert len(hand_sample.sequence("gA", 2)) == WINDOW_LENGTH - 4
    for h in (1, 2):
        assert hand_sample.sequence("gA", h)[offsets[h]] == REFERENCE["1"][window.tss]
        # The bases after the TSS follow it unchanged.
        after = REFERENCE["1"][window.tss : window.tss + 40]
        assert hand_sample.sequence("gA", h)[offsets[h] : offsets[h] + 40] == after


def test_deletion_over_tss_maps_to_the_next_base(hand_sample):
    window = GENES["gB"]
    offset = hand_sample.tss_offset("gB", 1)
    # 1995..2003 deleted: the TSS lands on reference base 2004, 9 bases earlier than before.
    assert offset == 2004 - window.interval.start - 9
    assert hand_sample.sequence("gB", 1)[offset] == REFERENCE["1"][2004]
    assert hand_sample.tss_offset("gB", 2) == window.tss - window.interval.start


def test_downstream_deletion_keeps_tss_offset(hand_sample):
    window = GENES["gD"]
    assert hand_sample.tss_offset("gD", 1) == window.tss - window.interval.start
    assert len(hand_sample.sequence("gD", 1)) == WINDOW_LENGTH - 5
    assert hand_sample.tss_offset("gD", 2) == window.tss - window.interval.start + 2


def test_records_of_two_chromosomes(hand_sample, hand_store):
    assert set(hand_store.reference.windows["chrom"]) == {"1", "2"}
    assert hand_sample.sequence("gD", 1)[650 - 600] == other_base(REFERENCE["2"][650])
    assert hand_store.genes() == sorted(GENES)


@pytest.mark.parametrize("engine", ["fast", "bcftools"])
def test_snvs_mode_ignores_indels(hand_inputs, tmp_path, engine):
    reference, vcfs = hand_inputs
    build_reference_store(reference, WINDOWS, tmp_path / "reference")
    path = tmp_path / "s.haplotypes.npz"
    build_haplotype_store(
        reference, vcfs, [SAMPLE], WINDOWS, path, ConsensusOptions(engine, variants="snvs")
    )
    store = SampleView(HaplotypeStore(tmp_path / "reference", [path]), SAMPLE)
    for window in WINDOWS:
        for h in (1, 2):
            sequence, tss_offset = expected_haplotype(window, h, snvs_only=True)
            assert store.sequence(window.gene, h) == sequence
            assert len(sequence) == window.interval.length
            assert store.tss_offset(window.gene, h) == tss_offset
            assert tss_offset == window.tss - window.interval.start
    # SNVs are still applied.
    assert store.sequence("gA", 1)[20] == other_base(REFERENCE["1"][920])


@pytest.mark.parametrize("engine", ["fast", "bcftools"])
def test_sample_missing_from_vcf_raises_naming_it(hand_inputs, tmp_path, engine):
    reference, vcfs = hand_inputs
    with pytest.raises(ConsensusError, match="NA99999"):
        build_haplotype_store(
            reference, vcfs, ["NA99999"], WINDOWS, tmp_path / "x.npz", ConsensusOptions(engine)
        )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("engine", ["fast", "bcftools"])
def test_missing_chromosome_vcf_raises(hand_inputs, tmp_path, engine):
    reference, vcfs = hand_inputs
    with pytest.raises(ConsensusError, match="chromosome"):
        build_haplotype_store(
            reference,
            {"1": vcfs["1"]},
            [SAMPLE],
            WINDOWS,
            tmp_path / "x.npz",
            ConsensusOptions(engine),
        )
    assert list(tmp_path.iterdir()) == []


def test_reference_store_holds_haplotype_one(hand_inputs, tmp_path):
    reference, _ = hand_inputs
    build_reference_store(reference, WINDOWS, tmp_path / "reference")
    store = ReferenceStore(tmp_path / "reference")
    assert store.genes() == sorted(window.gene for window in WINDOWS)
    for window in WINDOWS:
        assert store.windows.loc[window.gene].index.tolist() == [1]
        start, end = window.interval.start, window.interval.end
        assert store.sequence(window.gene) == REFERENCE[window.chrom][start:end]
        assert int(store.windows.loc[(window.gene, 1), "tss_offset"]) == window.tss - start
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["reference.fa.gz", "reference.fa.gz.fai", "reference.fa.gz.gzi", "reference.tsv"]
    )


@pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools binary not on PATH")
@pytest.mark.parametrize("haplotype", [1, 2])
def test_matches_system_bcftools(hand_inputs, hand_sample, tmp_path, haplotype):
    _, vcfs = hand_inputs
    window = GENES["gA"]  # indels and SNVs inside, none at the window edges
    start, end = window.interval.start, window.interval.end
    region = tmp_path / "region.fa"
    region.write_text(f">{window.interval.to_region()}\n{REFERENCE['1'][start:end]}\n")
    result = subprocess.run(
        ["bcftools", "consensus", "-f", str(region), "-s", SAMPLE, "-H", str(haplotype),
         str(vcfs["1"])],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    lines = result.stdout.split()
    assert lines[0] == f">{window.interval.to_region()}"
    assert "".join(lines[1:]) == hand_sample.sequence("gA", haplotype)
