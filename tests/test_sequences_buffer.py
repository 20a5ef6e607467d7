"""bcftools' buffer kept as a list of edits (``sequences.buffer``), on hand-made edits."""

from __future__ import annotations

import numpy as np
import pytest

from haplexpr.sequences.buffer import (
    cut_to_buffer,
    grown,
    length_and_tss,
    new_edit_list,
    push_edit,
    read_base,
    replace,
)

WINDOW = np.frombuffer(b"ACGTACGTAC", np.uint8)
TABLE_DATA = np.frombuffer(b"GGG", np.uint8)  # a canonical edit's bases (row 0)


def buffer_text(edits, n_e, explicit, length):
    """The buffer's first ``length`` bases, read one by one."""
    return bytes(read_base(b, WINDOW, edits, n_e, TABLE_DATA, explicit) for b in range(length))


def two_edits():
    """Reference [2, 3) (G) -> table row 0 (GGG); [5, 8) (CGT) -> explicit "T"."""
    edits = new_edit_list(8)
    explicit = np.zeros(16, np.uint8)
    explicit[0] = ord("T")
    n_e = push_edit(edits, 0, 2, 3, 2, 0, 3, 0)
    n_e = push_edit(edits, n_e, 5, 8, 7, 0, 1, -1)
    return edits, n_e, explicit


def test_push_edit_appends_and_counts():
    edits, n_e, _ = two_edits()
    assert n_e == 2
    assert edits.start[:2].tolist() == [2, 5]
    assert edits.end[:2].tolist() == [3, 8]
    assert edits.at[:2].tolist() == [2, 7]
    assert edits.row[:2].tolist() == [0, -1]


def test_read_base_reads_reference_table_and_explicit_bases():
    edits, n_e, explicit = two_edits()
    # AC + GGG + TA + T + AC
    assert buffer_text(edits, n_e, explicit, 10) == b"ACGGGTATAC"
    assert buffer_text(edits, 0, explicit, 10) == WINDOW.tobytes()


def test_length_and_tss_place_a_reference_offset_in_the_edited_window():
    edits, n_e, _ = two_edits()
    # +2 bases at 2, -2 bases at 5..7: the length is unchanged
    assert length_and_tss(edits, n_e, 10, 0) == (10, 0)
    assert length_and_tss(edits, n_e, 10, 3) == (10, 5)  # after the insertion
    assert length_and_tss(edits, n_e, 10, 6) == (10, 8)  # deleted: the next base left
    assert length_and_tss(edits, n_e, 10, 7) == (10, 8)
    assert length_and_tss(edits, n_e, 10, 9) == (10, 9)  # after every edit
    assert length_and_tss(edits, 1, 10, 9) == (12, 11)


def test_replace_merges_the_edits_it_touches_into_one():
    edits, n_e, explicit = two_edits()
    piece = np.frombuffer(b"NN", np.uint8)
    # buffer [4, 6) is the last G of row 0 and the T after it: one edit from reference 2 to 4
    n_e, n_s, explicit = replace(edits, n_e, 4, 6, piece, 0, 2, WINDOW, TABLE_DATA, explicit, 1)
    assert buffer_text(edits, n_e, explicit, 10) == b"ACGGNNATAC"
    assert n_e == 2
    assert (edits.start[0], edits.end[0], edits.at[0], edits.row[0]) == (2, 4, 2, -1)
    assert explicit[edits.dptr[0] : edits.dptr[0] + edits.dlen[0]].tobytes() == b"GGNN"
    assert n_s == 1 + 4
    assert (edits.start[1], edits.end[1], edits.at[1]) == (5, 8, 7)  # untouched, not moved


def test_replace_grows_the_explicit_bases():
    edits = new_edit_list(4)
    piece = np.frombuffer(b"ACGTACGTACGTACGTACGT", np.uint8)
    explicit = np.zeros(2, np.uint8)
    n_e, n_s, explicit = replace(edits, 0, 3, 4, piece, 2, 20, WINDOW, TABLE_DATA, explicit, 0)
    assert (n_e, n_s) == (1, 18)
    assert explicit.shape[0] >= 18
    assert buffer_text(edits, n_e, explicit, 27) == b"ACG" + piece[2:].tobytes() + b"ACGTAC"


def test_grown_keeps_the_used_items():
    array = np.array([5, 6, 7, 8], np.int32)
    new = grown(array, 10, 3)
    assert new.shape == (10,) and new.dtype == np.int32
    assert new[:3].tolist() == [5, 6, 7]


@pytest.mark.parametrize(
    ("idx", "ref_len", "alt_len", "buf_len", "expected"),
    [
        # inside the buffer: as it is
        (3, 2, 1, 10, (False, False, 100, 3, 2, 1, 0, 0)),
        # runs past the end: REF and ALT cut to the buffer
        (8, 4, 3, 10, (False, True, 100, 8, 2, 2, 0, 0)),
        # starts 2 before, ALT longer than that: both cut, from buffer offset 0
        (-2, 5, 3, 10, (False, True, 102, 0, 3, 1, 2, 2)),
        # starts 2 before, ALT no longer: the last ALT base just before the buffer
        (-2, 4, 1, 10, (False, True, 101, -1, 3, 1, 1, 0)),
        (-3, 5, 2, 10, (False, True, 102, -1, 3, 1, 2, 1)),
        # ends before the buffer: nothing lands
        (-5, 3, 1, 10, (True, True, 100, -5, 3, 1, 0, 0)),
        # starts after the buffer's end
        (12, 1, 1, 10, (True, True, 100, 12, -2, -2, 0, 0)),
    ],
    ids=[
        "inside",
        "past-end",
        "before-long-alt",
        "before-short-alt",
        "before-short-alts",
        "all-before",
        "after",
    ],
)
def test_cut_to_buffer(idx, ref_len, alt_len, buf_len, expected):
    assert tuple(cut_to_buffer(100, idx, ref_len, alt_len, buf_len)) == expected
