"""The compiled consensus kernel (``sequences.kernel``) on a 10-base window, by hand.

The window is reference 100..109, ``ACGTACGTAC``; each case's haplotypes are written out
base by base from bcftools consensus's rules (see the comments).
"""

from __future__ import annotations

import numpy as np
import pytest
from support.kernel_inputs import WINDOW, applied, haplotypes, records_of

from haplexpr.sequences.kernel import (
    _NOTHING,
    ALLELE_OUT_OF_RANGE,
    BLOCK_BEFORE_WINDOW,
    OK,
    REF_MISMATCH,
    _call_status,
    _ref_is_at,
    _window_records,
)
from haplexpr.vcf.alleles import MISSING, SKIP

# A deletion from before the window, an SNV, an insertion, a deletion at the end.
RECORDS = records_of(
    [(99, ["TAC", "T"]), (102, ["G", "T"]), (104, ["A", "AGG"]), (107, ["TAC", "T"])]
)


def test_apply_window_gives_every_column_its_haplotype():
    columns = [
        [(1, 1), (2, 1)],  # SNV, insertion
        [(0, 1)],  # 99 TAC>T deletes 100 and 101: the window loses its first two bases
        [(1, 1), (3, 1)],  # SNV, the last two bases deleted
        [(1, 0), (2, 1), (3, MISSING)],  # REF and a missing call change nothing
    ]
    result = applied(RECORDS, columns)
    assert result.status == OK
    assert haplotypes(result) == ["ACTTAGGCGTAC", "GTACGTAC", "ACTTACGT", "ACGTAGGCGTAC"]
    assert result.edits.lengths.tolist() == [12, 8, 8, 12]
    assert result.edits.tss_offsets.tolist() == [7, 3, 5, 7]  # where reference 105 went
    # four canonical edits shared by the columns; the cut deletion is an explicit one
    assert len(result.edits.edit_start) == 5
    insertion_of_column_0, insertion_of_column_3 = result.edits.edit_ids[[1, -1]]
    assert insertion_of_column_0 == insertion_of_column_3  # one row, shared


def test_missing_alleles_become_n_with_missing_n():
    result = applied(RECORDS, [[(1, MISSING)], [(1, MISSING), (2, 1)]], missing_n=True)
    assert haplotypes(result) == ["ACNTACGTAC", "ACNTAGGCGTAC"]


def test_a_record_overlapping_the_last_one_is_skipped():
    # 102 GTA>G deletes 103 and 104; the SNV at 103 starts inside it
    records = records_of([(102, ["GTA", "G"]), (103, ["T", "C"])])
    assert haplotypes(applied(records, [[(0, 1), (1, 1)]])) == ["ACGCGTAC"]


def test_an_insertion_right_after_an_snv_at_its_position_is_applied():
    # bcftools reads the SNV's base as it was (G) for the insertion's REF, keeps the T
    records = records_of([(102, ["G", "T"]), (102, ["G", "GAA"])])
    assert haplotypes(applied(records, [[(0, 1), (1, 1)]])) == ["ACTAATACGTAC"]


@pytest.mark.parametrize(
    ("record", "call", "missing_n", "status"),
    [
        ((102, ["C", "T"]), 1, False, REF_MISMATCH),  # the reference has G there
        ((102, ["G", "T"]), 2, False, ALLELE_OUT_OF_RANGE),
        ((98, ["GTA", "<*>"]), MISSING, True, BLOCK_BEFORE_WINDOW),
    ],
    ids=["ref-mismatch", "allele-out-of-range", "block-before-window"],
)
def test_apply_window_stops_where_bcftools_would_and_says_where(record, call, missing_n, status):
    records = records_of([record, (105, ["C", "G"])], blocks=(0,) if call == MISSING else ())
    result = applied(records, [[(1, 1)], [(0, call), (1, 1)]], missing_n)
    assert (result.status, result.record, result.column) == (status, 0, 1)


def test_window_records_are_those_reaching_into_the_window():
    rec_end = np.array([102, 103, 110, 120])  # the first ends where the window starts
    record_ids, slot = _window_records(102, 0, 3, rec_end)
    assert record_ids.tolist() == [1, 2]
    assert slot.tolist() == [-1, 0, 1]


@pytest.mark.parametrize(
    ("record", "allele", "missing_n", "status"),
    [
        (0, 0, False, _NOTHING),  # REF
        (0, SKIP, False, _NOTHING),  # an absent haplotype
        (0, MISSING, False, _NOTHING),
        (0, MISSING, True, OK),  # -M N
        (1, 1, False, _NOTHING),  # a record without ALT
        (0, 2, False, ALLELE_OUT_OF_RANGE),
        (2, 2, False, OK),
    ],
)
def test_call_status(record, allele, missing_n, status):
    allele_ptr = np.array([0, 2, 3, 6])  # records of 2, 1 and 3 alleles
    assert _call_status(allele_ptr, record, allele, missing_n) == status


def test_ref_is_at_ignores_case():
    alleles = np.frombuffer(b"xgTa", np.uint8)
    assert _ref_is_at(alleles, 1, 3, WINDOW, 2)  # gTa on GTA
    assert not _ref_is_at(alleles, 1, 3, WINDOW, 1)
