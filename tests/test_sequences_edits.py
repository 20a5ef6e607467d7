"""The edit store (``sequences.edits``): windows gathered, addressed, saved and loaded."""

from __future__ import annotations

import numpy as np
import pytest

from haplexpr.coordinates import Interval
from haplexpr.sequences.edits import (
    EditCollector,
    EngineError,
    HaplotypeEdits,
    Window,
    WindowEdits,
    windows_by_chromosome,
)

REFERENCE = [b"ACGTACGT", b"GGGG"]


def window_edits(rows, data, columns, lengths) -> WindowEdits:
    """One window's edits: rows (start, end, data offset, length), each column's row ids."""
    col_ptr = np.cumsum([0] + [len(c) for c in columns])
    return WindowEdits(
        np.array([r[0] for r in rows], np.int32),
        np.array([r[1] for r in rows], np.int32),
        np.array([r[2] for r in rows], np.int64),
        np.array([r[3] for r in rows], np.int32),
        np.frombuffer(data, np.uint8),
        col_ptr,
        np.array([i for c in columns for i in c], np.int32),
        np.array(lengths, np.int32),
        np.array([3, 3], np.int32),
    )


@pytest.fixture
def store() -> HaplotypeEdits:
    """One sample over two windows, gathered out of order."""
    collector = EditCollector(2, 2)
    # window 1: [0, 1) -> C on haplotype 2
    collector.add(1, window_edits([(0, 1, 0, 1)], b"C", [[], [0]], [4, 4]))
    # window 0: [1, 2) -> TT on both haplotypes, [4, 7) deleted on haplotype 2
    collector.add(0, window_edits([(1, 2, 0, 2), (4, 7, 2, 0)], b"TT", [[0], [0, 1]], [9, 6]))
    return collector.finish(["S"], ["g0", "g1"])


def test_collector_renumbers_rows_and_data_window_by_window(store):
    assert store.edit_first.tolist() == [0, 2, 3]
    assert store.edit_data_ptr.tolist() == [0, 2, 2]  # window 1's bases follow window 0's
    assert store.hap_ptr.tolist() == [0, 1, 3, 3, 4]
    assert store.hap_edits.tolist() == [0, 0, 1, 2]
    assert store.length.tolist() == [[9, 6], [4, 4]]
    assert store.haplotype(0, 1, 2).tolist() == [2]


def test_sequences_of_each_haplotype(store):
    assert store.sequence(0, 0, 1, REFERENCE[0]) == "ATTGTACGT"
    assert store.sequence(0, 0, 2, REFERENCE[0]) == "ATTGTT"
    assert store.sequence(0, 1, 1, REFERENCE[1]) == "GGGG"
    assert store.sequence(0, 1, 2, REFERENCE[1]) == "CGGG"


def test_materialise_window_fills_every_column(store):
    out = np.zeros((2, 10), np.uint8)
    lengths = np.zeros(2, np.int32)
    store.materialise_window(0, np.frombuffer(REFERENCE[0], np.uint8), out, lengths)
    assert [out[c, : lengths[c]].tobytes() for c in range(2)] == [b"ATTGTACGT", b"ATTGTT"]


def test_save_and_load_round_trip_leaving_only_the_store(store, tmp_path):
    path = store.save(tmp_path / "s.haplotypes.npz")
    assert list(tmp_path.iterdir()) == [path]
    again = HaplotypeEdits.load(path)
    assert (again.samples, again.genes) == (["S"], ["g0", "g1"])
    for name, value in vars(store).items():
        if isinstance(value, np.ndarray):
            assert np.array_equal(getattr(again, name), value), name
    assert again.nbytes() == store.nbytes() > 0


def test_a_window_never_added_is_an_error():
    collector = EditCollector(2, 2)
    collector.add(0, window_edits([], b"", [[], []], [8, 8]))
    with pytest.raises(EngineError, match="not built"):
        collector.finish(["S"], ["g0", "g1"])


def test_windows_by_chromosome_needs_a_vcf_for_each():
    windows = [Window(Interval(c, 0, 10), 5) for c in ("2", "1", "2", "X")]
    assert windows_by_chromosome(windows[:3], {"1": "a", "2": "b"}) == {"2": [0, 2], "1": [1]}
    with pytest.raises(EngineError, match=r"no VCF for chromosome\(s\) X"):
        windows_by_chromosome(windows, {"1": "a", "2": "b"})
