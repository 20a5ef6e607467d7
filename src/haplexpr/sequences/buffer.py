"""bcftools consensus's text buffer for one haplotype, kept virtual: a list of edits.

bcftools edits a copy of the window in place; the kernel (``sequences.kernel``) keeps
the reference window as it is and, per haplotype, the edits applied so far in buffer
order. Edit ``k`` replaces reference ``[start[k], end[k])`` by ``dlen[k]`` bases that sit
at buffer offset ``at[k]``; they are the window's canonical edit ``row[k]`` (its bases in
the edit table) or, with ``row[k] == -1``, bases of this haplotype's own (``explicit``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit


class EditList(NamedTuple):
    """Room for a haplotype's edits (filled from 0; the kernel counts them)."""

    start: np.ndarray
    end: np.ndarray
    at: np.ndarray
    dptr: np.ndarray
    dlen: np.ndarray
    row: np.ndarray


class Span(NamedTuple):
    """Where a record lands in the buffer once bcftools has cut it to the buffer."""

    skip: bool  # nothing of it lands
    clipped: bool  # cut at an edge: no longer its canonical edit
    pos: int
    idx: int  # buffer offset of the replaced stretch (-1: just before the window)
    rlen: int
    alen: int
    ref_off: int
    alt_off: int


@njit(cache=True)
def new_edit_list(size):
    """An empty ``EditList`` with room for ``size`` edits."""
    return EditList(
        np.empty(size, np.int64),
        np.empty(size, np.int64),
        np.empty(size, np.int64),
        np.empty(size, np.int64),
        np.empty(size, np.int64),
        np.empty(size, np.int64),
    )


@njit(cache=True)
def grown(array, size, used):
    """``array`` moved into a new one of ``size`` items, its first ``used`` kept."""
    new = np.empty(size, array.dtype)
    new[:used] = array[:used]
    return new


@njit(cache=True, inline="always")
def read_base(b, bases, edits, n_e, table_data, explicit):
    """Base at offset ``b`` of the buffer: the window ``bases`` with ``n_e`` edits applied."""
    for k in range(n_e - 1, -1, -1):
        end = edits.at[k] + edits.dlen[k]
        if b >= end:
            return bases[edits.end[k] + b - end]
        if b >= edits.at[k]:
            if edits.row[k] >= 0:
                return table_data[edits.dptr[k] + b - edits.at[k]]
            return explicit[edits.dptr[k] + b - edits.at[k]]
    return bases[b]


@njit(cache=True, inline="always")
def push_edit(edits, n_e, start, end, at, dptr, dlen, row):
    """Append an edit; return the new count."""
    edits.start[n_e] = start
    edits.end[n_e] = end
    edits.at[n_e] = at
    edits.dptr[n_e] = dptr
    edits.dlen[n_e] = dlen
    edits.row[n_e] = row
    return n_e + 1


@njit(cache=True, inline="always")
def _merged_span(edits, n_e, b0, b1):
    """The edits whose bases buffer ``[b0, b1)`` touches, and the stretch they all cover.

    Returns (first, last): edits ``first:last``; (m_lo, m_hi): the stretch in buffer
    coordinates; (o_lo, o_hi): the same in reference coordinates.
    """
    first = n_e
    while first > 0 and edits.at[first - 1] + edits.dlen[first - 1] > b0:
        first -= 1
    last = first
    while last < n_e and edits.at[last] < b1:
        last += 1
    m_lo = b0
    m_hi = b1
    if last > first:
        m_lo = min(b0, edits.at[first])
        m_hi = max(b1, edits.at[last - 1] + edits.dlen[last - 1])
    if last > first and m_lo == edits.at[first]:
        o_lo = edits.start[first]
    elif first > 0:
        o_lo = edits.end[first - 1] + m_lo - (edits.at[first - 1] + edits.dlen[first - 1])
    else:
        o_lo = m_lo
    if last > first and m_hi == edits.at[last - 1] + edits.dlen[last - 1]:
        o_hi = edits.end[last - 1]
    elif last > first:
        o_hi = edits.end[last - 1] + m_hi - (edits.at[last - 1] + edits.dlen[last - 1])
    elif first > 0:
        o_hi = edits.end[first - 1] + m_hi - (edits.at[first - 1] + edits.dlen[first - 1])
    else:
        o_hi = m_hi
    return first, last, m_lo, m_hi, o_lo, o_hi


@njit(cache=True, inline="always")
def replace(edits, n_e, b0, b1, piece, p0, alen, bases, table_data, explicit, n_s):
    """Replace buffer ``[b0, b1)`` by ``piece[p0:alen]`` as one explicit edit.

    Every edit whose bases the stretch touches is merged into it, so the list stays
    ordered and disjoint. Its bases go to ``explicit`` from ``n_s`` (grown if need be).
    Returns (edits, explicit bases used, explicit).
    """
    first, last, m_lo, m_hi, o_lo, o_hi = _merged_span(edits, n_e, b0, b1)
    need = n_s + (m_hi - m_lo) + alen + 8
    if need > explicit.shape[0]:
        explicit = grown(explicit, max(need, 2 * explicit.shape[0]), n_s)
    start = n_s
    for b in range(m_lo, b0):
        explicit[n_s] = read_base(b, bases, edits, n_e, table_data, explicit)
        n_s += 1
    for i in range(p0, alen):
        explicit[n_s] = piece[i]
        n_s += 1
    for b in range(b1, m_hi):
        explicit[n_s] = read_base(b, bases, edits, n_e, table_data, explicit)
        n_s += 1
    shift = (n_s - start) - (m_hi - m_lo)
    # Later edits (none in practice) move with the length change.
    moved = n_e - last
    for k in range(moved):
        src = last + k
        dst = first + 1 + k
        edits.start[dst] = edits.start[src]
        edits.end[dst] = edits.end[src]
        edits.at[dst] = edits.at[src] + shift
        edits.dptr[dst] = edits.dptr[src]
        edits.dlen[dst] = edits.dlen[src]
        edits.row[dst] = edits.row[src]
    push_edit(edits, first, o_lo, o_hi, m_lo, start, n_s - start, -1)
    return first + 1 + moved, n_s, explicit


@njit(cache=True, inline="always")
def length_and_tss(edits, n_e, wlen, tss):
    """The edited window's length, and where the reference offset ``tss`` lands in it."""
    length = wlen
    tss_offset = tss
    tss_done = False
    for k in range(n_e):
        length += edits.dlen[k] - (edits.end[k] - edits.start[k])
        if not tss_done:
            if tss < edits.start[k]:
                tss_offset = edits.at[k] - (edits.start[k] - tss)
                tss_done = True
            elif tss < edits.end[k]:
                tss_offset = edits.at[k] + min(tss - edits.start[k], edits.dlen[k])
                tss_done = True
    if not tss_done and n_e > 0:
        tss_offset = edits.at[n_e - 1] + edits.dlen[n_e - 1] + tss - edits.end[n_e - 1]
    return length, tss_offset


@njit(cache=True, inline="always")
def cut_to_buffer(pos, idx, ref_len, alt_len, buf_len):
    """Cut a record that starts before the buffer or runs past its end, as bcftools does."""
    rlen = ref_len
    ref_off = 0
    alt_off = 0
    clipped = idx < 0
    if idx < 0:
        if ref_len < -idx:
            return Span(True, True, pos, idx, rlen, alt_len, ref_off, alt_off)
        if alt_len > -idx:
            pos -= idx
            rlen += idx
            ref_off = -idx
            alt_off = -idx
            idx = 0
        else:
            pos -= idx + 1
            rlen += idx + 1
            ref_off = -idx - 1
            alt_off = alt_len - 1
            idx = -1
    alen = alt_len - alt_off
    if rlen > buf_len - idx:
        rlen = buf_len - idx
        if alen > rlen:
            alen = rlen
        clipped = True
    return Span(idx > 0 and idx >= buf_len, clipped, pos, idx, rlen, alen, ref_off, alt_off)
