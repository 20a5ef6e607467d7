"""The read side (``sequences.store``): the hand-applied stores reopened, addressed, centred."""

from __future__ import annotations

import pytest
from support.hand_applied import (
    GENES,
    OTHER,
    REFERENCE,
    SAMPLE,
    WINDOW_LENGTH,
    WINDOWS,
    complement_reverse,
)

from haplexpr.sequences.personal_sequences import build_reference_store
from haplexpr.sequences.store import HaplotypeStore, StoreError


def test_window_clipped_at_contig_start(hand_sample, hand_store):
    row = hand_store.reference.windows.loc[("gC", 1)]
    assert (int(row["start"]), int(row["end"]), int(row["tss_offset"])) == (0, 150, 50)
    assert hand_sample.tss_offset("gC", 2) == 52
    hap1 = hand_sample.sequence("gC", 1)
    assert len(hap1) == 150
    # The model sees 50 Ns where the window ran off the contig, and the TSS at L // 2.
    model_input = hand_sample.model_input("gC", 1, WINDOW_LENGTH)
    assert model_input == "N" * 50 + hap1
    assert model_input[WINDOW_LENGTH // 2] == REFERENCE["1"][50]


def test_store_files_and_round_trip(hand_store_dir, hand_store):
    assert sorted(p.name for p in hand_store_dir.iterdir()) == sorted(
        ["reference.fa.gz", "reference.fa.gz.fai", "reference.fa.gz.gzi", "reference.tsv"]
        + ["shard000.haplotypes.npz"]
    )
    assert hand_store.individuals() == ["reference", SAMPLE, OTHER]
    for gene in GENES:
        assert hand_store.haplotypes(SAMPLE, gene) == [1, 2]
        assert hand_store.haplotypes("reference", gene) == [1]
    # A reopened store (as a forked data-loader worker would) reads the same sequences.
    again = HaplotypeStore(
        hand_store_dir / "reference", [hand_store_dir / "shard000.haplotypes.npz"]
    )
    assert again.sequence(SAMPLE, "gB", 2) == hand_store.sequence(SAMPLE, "gB", 2)


def test_unknown_individual_or_gene_is_named(hand_store):
    with pytest.raises(StoreError, match="NA00001"):
        hand_store.sequence("NA00001", "gA", 1)
    with pytest.raises(StoreError, match="gZ"):
        hand_store.sequence(SAMPLE, "gZ", 1)


def test_store_of_other_windows_is_refused(hand_store_dir, hand_inputs, tmp_path):
    reference, _ = hand_inputs
    build_reference_store(reference, WINDOWS[:2], tmp_path / "reference")
    with pytest.raises(StoreError, match="other gene windows"):
        HaplotypeStore(tmp_path / "reference", [hand_store_dir / "shard000.haplotypes.npz"])


@pytest.mark.parametrize("length", [64, 101])
def test_model_input_plus_strand_centres_the_tss(hand_sample, length):
    for h in (1, 2):
        seq = hand_sample.sequence("gA", h)
        offset = hand_sample.tss_offset("gA", h)
        model_input = hand_sample.model_input("gA", h, length)
        assert len(model_input) == length
        assert model_input[length // 2] == REFERENCE["1"][1000]
        assert model_input == seq[offset - length // 2 : offset - length // 2 + length]


def test_model_input_minus_strand_is_reverse_complemented(hand_sample):
    length = 50
    for gene, h in (("gB", 1), ("gB", 2), ("gD", 2)):
        seq = hand_sample.sequence(gene, h)
        offset = hand_sample.tss_offset(gene, h)
        plus = seq[offset - 25 : offset + 25]
        assert hand_sample.model_input(gene, h, length) == complement_reverse(plus)
    # Past the end of the window: N padding, which the reverse complement puts first.
    seq = hand_sample.sequence("gB", 2)
    model_input = hand_sample.model_input("gB", 2, 300)
    assert model_input == complement_reverse("N" * 50 + seq + "N" * 50)
