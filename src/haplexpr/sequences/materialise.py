"""The read side of the edit store: (reference window, edits) into bases at memory-copy speed.

A haplotype is its reference window with a list of edits (rows of the window's edit
table) spliced in; rebuilding it is one copy per unchanged stretch and one per edit.
"""

from __future__ import annotations

import ctypes

from numba import njit

# memcpy from the C library: numba's own slice copy moves a byte at a time, ~10x slower.
# (A function holding a ctypes pointer cannot be cached on disk; it compiles in ~1 s.)
_memcpy = ctypes.CDLL(None).memcpy
_memcpy.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
_memcpy.restype = ctypes.c_void_p


@njit(nogil=True)
def materialise(window, edit_ids, e_os, e_oe, e_dptr, e_dlen, data, out):
    """Write the edited window into ``out``; return its length."""
    to = out.ctypes.data
    ref = window.ctypes.data
    bases = data.ctypes.data
    n = 0
    cursor = 0
    for k in range(edit_ids.shape[0]):
        edit = edit_ids[k]
        start = e_os[edit]
        _memcpy(to + n, ref + cursor, start - cursor)
        n += start - cursor
        size = e_dlen[edit]
        _memcpy(to + n, bases + e_dptr[edit], size)
        n += size
        cursor = e_oe[edit]
    _memcpy(to + n, ref + cursor, window.shape[0] - cursor)
    return n + window.shape[0] - cursor


@njit(nogil=True)
def materialise_columns(
    window, hap_ptr, first_slot, hap_edits, e_os, e_oe, e_dptr, e_dlen, data, out, lengths
):
    """Every column's haplotype of one window into the rows of ``out`` (memory-bound)."""
    for col in range(out.shape[0]):
        lo = hap_ptr[first_slot + col]
        hi = hap_ptr[first_slot + col + 1]
        lengths[col] = materialise(
            window, hap_edits[lo:hi], e_os, e_oe, e_dptr, e_dlen, data, out[col]
        )
