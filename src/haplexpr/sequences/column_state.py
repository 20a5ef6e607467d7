"""What the kernel carries through one window: the window, scratch buffers, a column's state.

bcftools keeps a few values from one record to the next while it edits one haplotype's
buffer (``ColumnState``). The kernel (``sequences.kernel``) moves them for records on
untouched reference bases, ``sequences.cut_records`` for the rest, so they live here.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from haplexpr.sequences.buffer import EditList


class WindowView(NamedTuple):
    """One window: its bases, start, the records it may hold (``lo:hi``), their rows."""

    bases: np.ndarray
    start: int
    lo: int
    hi: int
    slot: np.ndarray  # record r -> its row in this window, or -1
    missing_n: bool


class Scratch(NamedTuple):
    """Buffers reused by every column: its edit list, a replacement, the N allele."""

    edits: EditList
    piece: np.ndarray
    alt_n: np.ndarray


class ColumnState(NamedTuple):
    """bcftools' state between one column's records."""

    n_e: int  # edits in the column's list
    n_s: int  # explicit bases written
    mod_off: int  # buffer length minus reference length so far
    frz: int  # last reference position applied: records up to it are skipped
    prev_is_insert: bool
    prev_base: np.uint8  # last base the previous record replaced, as it was
    prev_base_pos: int
    stale: np.uint8  # the byte an emptied buffer still holds


@njit(cache=True, inline="always")
def fresh_column(bases):
    """The state before a column's first record, over the window ``bases``.

    bcftools reads its buffer's first byte for the case even when a deletion has emptied
    it: the byte left in memory, i.e. the first base before the emptying (N if none).
    """
    stale = bases[0] if bases.shape[0] > 0 else np.uint8(78)
    return ColumnState(0, 0, 0, -1, False, np.uint8(0), -1, stale)


@njit(cache=True, inline="always")
def frozen(st, frz):
    """The column's state after a gVCF block: records starting up to ``frz`` are skipped."""
    return ColumnState(st.n_e, st.n_s, st.mod_off, frz, st.prev_is_insert, st.prev_base,
                       st.prev_base_pos, st.stale)  # fmt: skip


@njit(cache=True, inline="always")
def after_untouched(st, pos, rlen, alen, last_ref_base):
    """The column's state after a record applied on untouched reference bases."""
    mod_off = st.mod_off + alen - rlen
    frz = pos + rlen - 1
    if alen <= rlen:
        return ColumnState(st.n_e + 1, st.n_s, mod_off, frz, False, last_ref_base, frz, st.stale)
    return ColumnState(st.n_e + 1, st.n_s, mod_off, frz, True, st.prev_base, pos, st.stale)
