"""Tests for haplexpr.sequences.column_state: a haplotype column's state after each record, on
the kernel tests' 10-base window ``ACGTACGTAC`` (reference 100..109)."""

from __future__ import annotations

from support.kernel_inputs import WINDOW

from haplexpr.sequences.column_state import after_untouched, fresh_column, frozen


def test_column_state_steps():
    fresh = fresh_column(WINDOW)
    assert tuple(fresh) == (0, 0, 0, -1, False, 0, -1, ord("A"))
    assert fresh_column(WINDOW[:0]).stale == ord("N")
    snv = after_untouched(fresh, 102, 1, 1, ord("G"))
    assert tuple(snv) == (1, 0, 0, 102, False, ord("G"), 102, ord("A"))
    insertion = after_untouched(snv, 104, 1, 3, ord("A"))
    assert tuple(insertion) == (2, 0, 2, 104, True, ord("G"), 104, ord("A"))
    deletion = after_untouched(insertion, 106, 3, 1, ord("T"))
    assert tuple(deletion) == (3, 0, 0, 108, False, ord("T"), 108, ord("A"))
    assert tuple(frozen(deletion, 120)) == (3, 0, 0, 120, False, ord("T"), 108, ord("A"))
