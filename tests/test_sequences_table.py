"""A window's table of distinct edits (``sequences.table``), on hand-made records."""

from __future__ import annotations

import numpy as np
import pytest
from support.kernel_inputs import records_of

from haplexpr.sequences.buffer import new_edit_list, push_edit
from haplexpr.sequences.table import (
    allele,
    canonical_edits,
    cased,
    is_row,
    store_column,
    trim_and_length,
    with_room,
)

WINDOW = np.frombuffer(b"acGTAC", np.uint8)  # reference 100..105, soft-masked at first
RECORDS = records_of([(98, ["GG", "G"]), (101, ["C", "T", "G"]), (103, ["TA", "T"])])


def rows(table, n_t):
    """Each row as (start, end, bases)."""
    return [
        (
            int(table.start[t]),
            int(table.end[t]),
            table.data[table.dptr[t] : table.dptr[t] + table.dlen[t]].tobytes(),
        )
        for t in range(n_t)
    ]


def as_bytes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode(), np.uint8)


@pytest.mark.parametrize(
    ("ref", "alt", "expected"),
    [("A", "C", (0, 1)), ("A", "ATT", (1, 2)), ("AT", "A", (1, -1)), ("AT", "G", (0, -1))],
    ids=["snv", "insertion", "deletion", "indel-without-shared-base"],
)
def test_trim_and_length_are_bcftools_trim_beg_and_var_n(ref, alt, expected):
    assert trim_and_length(as_bytes(ref), as_bytes(alt)) == expected


def test_cased_follows_the_reference_base():
    assert [chr(cased(c, True)) for c in b"aC"] == ["A", "C"]
    assert [chr(cased(c, False)) for c in b"aC"] == ["a", "c"]
    assert chr(cased(ord("N"), False)) == "n"


def test_allele_reads_a_row_of_the_records():
    assert allele(RECORDS, 3).tobytes() == b"T"
    assert allele(RECORDS, 5).tobytes() == b"TA"


def test_canonical_edits_one_row_per_alt_in_the_reference_case():
    table, n_t, n_d, canon = canonical_edits(WINDOW, 100, np.array([0, 1, 2]), RECORDS)
    assert rows(table, n_t) == [
        (-2, 0, b"G"),  # before the window: upper case
        (1, 2, b"t"),  # on the soft-masked c
        (1, 2, b"g"),
        (3, 5, b"T"),
    ]
    assert n_d == 4
    assert canon.first[:4].tolist() == [0, 1, 3, 4]
    assert canon.trim[:n_t].tolist() == [1, 0, 0, 1]
    assert canon.var_n[:n_t].tolist() == [-1, 1, 1, -1]
    assert table.start.shape[0] > n_t  # room for explicit rows


def test_is_row_compares_bases_and_length():
    table, _, _, _ = canonical_edits(WINDOW, 100, np.array([1]), RECORDS)
    assert is_row(as_bytes("tx"), 1, table, 0)
    assert not is_row(as_bytes("gx"), 1, table, 0)
    assert not is_row(as_bytes("tx"), 2, table, 0)


def test_store_column_adds_explicit_edits_as_rows_and_lists_the_ids():
    table, n_t, n_d, _ = canonical_edits(WINDOW, 100, np.array([1, 2]), RECORDS)
    edits = new_edit_list(4)
    explicit = as_bytes("xxNNN").copy()
    n_e = push_edit(edits, 0, 1, 2, 1, table.dptr[1], 1, 1)  # canonical row 1 (g)
    n_e = push_edit(edits, n_e, 3, 5, 2, 2, 3, -1)  # explicit: NNN from explicit[2]
    ids = np.full(8, -9, np.int32)
    n_t, n_d, n_ids = store_column(edits, n_e, explicit, table, n_t, n_d, ids, 3)
    assert (n_t, n_d, n_ids) == (4, 6, 5)
    assert ids[3:5].tolist() == [1, 3]
    assert rows(table, n_t)[3] == (3, 5, b"NNN")


def test_with_room_grows_rows_and_bases_keeping_those_in_use():
    table, n_t, n_d, _ = canonical_edits(WINDOW, 100, np.array([1]), RECORDS)
    bigger = with_room(table, 1000, 5000, n_t, n_d)
    assert bigger.start.shape[0] >= 1000 and bigger.data.shape[0] >= 5000
    assert rows(bigger, n_t) == rows(table, n_t)
    same = with_room(table, n_t, n_d, n_t, n_d)  # room enough: nothing moves
    assert all(a is b or np.shares_memory(a, b) for a, b in zip(same, table, strict=True))
