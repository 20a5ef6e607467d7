"""Tests for haplexpr.sequences.cut_records: records the kernel cuts to the window or lays on
bases an edit made, applied as bcftools consensus 1.24's ``apply_variant`` does.

On the kernel tests' window, reference 100..109 ``ACGTACGTAC`` (0-based positions), each
haplotype written out by hand; test_consensus_parity.py holds these paths to bcftools itself.
"""

from __future__ import annotations

import pytest
from support.kernel_inputs import applied, haplotypes, records_of

from haplexpr.sequences.kernel import OK, REF_MISMATCH


@pytest.mark.parametrize(
    ("record", "haplotype", "tss_offset"),
    [
        # starts before the window: only its part inside is checked and applied
        ((98, ["GTA", "G"]), "CGTACGTAC", 4),  # deletes 99 and 100
        ((98, ["GTAC", "GTGG"]), "GGGTACGTAC", 5),  # AC at 100 becomes GG
        ((99, ["TA", "TAGG"]), "AGGCGTACGTAC", 7),  # GG inserted after 100
        # runs past the window's end: the bases past it are not the window's
        ((108, ["ACGT", "A"]), "ACGTACGTA", 5),
    ],
    ids=["deletion-from-before", "mnp-from-before", "insertion-from-before", "deletion-past-end"],
)
def test_a_record_cut_at_the_windows_edge_changes_only_the_window(record, haplotype, tss_offset):
    result = applied(records_of([record]), [[(0, 1)], [(0, 0)]])
    assert result.status == OK
    assert haplotypes(result) == [haplotype, "ACGTACGTAC"]
    assert result.edits.tss_offsets.tolist() == [tss_offset, 5]  # where reference 105 went


@pytest.mark.parametrize(
    "record",
    [(98, ["GTAG", "GTTT"]), (108, ["AGGT", "A"])],  # AG where the window has AC
    ids=["from-before", "past-end"],
)
def test_the_part_of_ref_inside_the_window_must_match(record):
    result = applied(records_of([record]), [[(0, 1)]])
    assert (result.status, result.record, result.column) == (REF_MISMATCH, 0, 0)


def test_a_record_on_the_base_an_snv_replaced_reads_it_as_it_was():
    # 102 G>T, then 102 GT>G: its REF's G is the reference base, and 103 (T) is deleted
    records = records_of([(102, ["G", "T"]), (102, ["GT", "G"])])
    assert haplotypes(applied(records, [[(0, 1), (1, 1)], [(1, 1)]])) == [
        "ACTACGTAC",
        "ACGACGTAC",
    ]
