"""Rebuilding haplotypes from (reference window, edits) (``sequences.materialise``)."""

from __future__ import annotations

import numpy as np

from haplexpr.sequences.materialise import materialise, materialise_columns

WINDOW = np.frombuffer(b"ACGTACGT", np.uint8)
# rows: [1, 2) -> TT; [4, 7) deleted; [7, 8) -> G
STARTS = np.array([1, 4, 7], np.int32)
ENDS = np.array([2, 7, 8], np.int32)
DATA_PTR = np.array([0, 2, 2], np.int64)
DATA_LEN = np.array([2, 0, 1], np.int32)
DATA = np.frombuffer(b"TTG", np.uint8)
TABLE = (STARTS, ENDS, DATA_PTR, DATA_LEN, DATA)


def rebuilt(edit_ids: list[int]) -> str:
    out = np.full(32, ord("?"), np.uint8)
    n = materialise(WINDOW, np.array(edit_ids, np.int32), *TABLE, out)
    assert out[n] == ord("?"), "wrote past the length it returned"
    return out[:n].tobytes().decode()


def test_materialise_splices_the_edits_into_the_window():
    assert rebuilt([]) == "ACGTACGT"
    assert rebuilt([0]) == "ATTGTACGT"
    assert rebuilt([0, 1]) == "ATTGTT"
    assert rebuilt([1, 2]) == "ACGTG"
    assert rebuilt([0, 2]) == "ATTGTACGG"


def test_materialise_columns_fills_one_row_per_column():
    # slot 0 belongs to another window; this one's columns are slots 1..3
    hap_ptr = np.array([0, 1, 3, 3, 5], np.int64)
    hap_edits = np.array([2, 0, 1, 0, 2], np.int32)
    out = np.zeros((3, 12), np.uint8)
    lengths = np.zeros(3, np.int32)
    materialise_columns(WINDOW, hap_ptr, 1, hap_edits, *TABLE, out, lengths)
    assert lengths.tolist() == [6, 8, 9]
    rows = [out[c, : lengths[c]].tobytes().decode() for c in range(3)]
    assert rows == ["ATTGTT", "ACGTACGT", "ATTGTACGG"]
