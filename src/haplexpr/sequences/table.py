"""A window's table of distinct edits, shared by every haplotype that carries one.

The canonical edits (each record's ALT allele, in the case of the reference base it
lands on) are built once per window and come first; a haplotype's explicit edits
(trimmed, merged or N edits) are added as rows of their own after them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from haplexpr.sequences.buffer import grown
from haplexpr.vcf.alleles import VCF_INDEL, to_upper, variant_type


class EditTable(NamedTuple):
    """Row ``t`` puts ``data[dptr[t]:][:dlen[t]]`` at reference ``[start[t], end[t])``."""

    start: np.ndarray
    end: np.ndarray
    dptr: np.ndarray
    dlen: np.ndarray
    data: np.ndarray


class Canonical(NamedTuple):
    """bcftools' ``trim_beg`` and ``var.n`` of each canonical edit, by row.

    The edits of the window's ``j``-th record (one per ALT) start at row ``first[j]``.
    """

    first: np.ndarray
    trim: np.ndarray
    var_n: np.ndarray


@njit(cache=True, inline="always")
def _to_lower(c):
    return c + 32 if 65 <= c <= 90 else c


@njit(cache=True, inline="always")
def cased(c, upper):
    """An ALT base in the case of the reference base it lands on."""
    return to_upper(c) if upper else _to_lower(c)


@njit(cache=True, inline="always")
def allele(records, a):
    """The bytes of allele row ``a`` of ``kernel.Records``."""
    start = records.allele_start[a]
    return records.allele_bytes[start : start + records.allele_len[a]]


@njit(cache=True)
def trim_and_length(ref, alt):
    """The ``trim_beg`` of bcftools (an indel whose first bases agree) and ``var.n``."""
    kind, var_n = variant_type(ref, alt)
    return 1 if (kind == VCF_INDEL and ref[0] == alt[0]) else 0, var_n


@njit(cache=True)
def canonical_edits(window, window_start, record_ids, records):
    """The table of a window's canonical edits, with room for explicit ones.

    Returns (table, rows in use, bases in use, ``Canonical``).
    """
    n_rec = record_ids.shape[0]
    wlen = window.shape[0]
    ptr = records.allele_ptr
    n_canon = 0
    dcap = 256
    for r in record_ids:
        n_canon += ptr[r + 1] - ptr[r] - 1
        for a in range(ptr[r] + 1, ptr[r + 1]):
            dcap += records.allele_len[a]
    cap = 64 + n_canon * 2
    table = EditTable(
        np.empty(cap, np.int32),
        np.empty(cap, np.int32),
        np.empty(cap, np.int64),
        np.empty(cap, np.int32),
        np.empty(dcap, np.uint8),
    )
    canon = Canonical(
        np.zeros(n_rec + 1, np.int64), np.zeros(cap, np.int64), np.zeros(cap, np.int64)
    )
    n_t = 0
    n_d = 0
    for j in range(n_rec):
        r = record_ids[j]
        canon.first[j] = n_t
        rel = records.pos[r] - window_start
        ref = allele(records, ptr[r])
        upper = True
        if 0 <= rel < wlen:
            upper = to_upper(window[rel]) == window[rel]
        for a in range(ptr[r] + 1, ptr[r + 1]):
            alt = allele(records, a)
            canon.trim[n_t], canon.var_n[n_t] = trim_and_length(ref, alt)
            table.start[n_t] = rel
            table.end[n_t] = rel + ref.shape[0]
            table.dptr[n_t] = n_d
            table.dlen[n_t] = alt.shape[0]
            for i in range(alt.shape[0]):
                table.data[n_d] = cased(alt[i], upper)
                n_d += 1
            n_t += 1
    canon.first[n_rec] = n_t
    return table, n_t, n_d, canon


@njit(cache=True, inline="always")
def is_row(piece, alen, table, row):
    """Whether ``piece[:alen]`` are the bases of table row ``row``."""
    if table.dlen[row] != alen:
        return False
    start = table.dptr[row]
    for i in range(alen):
        if table.data[start + i] != piece[i]:
            return False
    return True


@njit(cache=True, inline="always")
def store_column(edits, n_e, explicit, table, n_t, n_d, ids, n_ids):
    """Append a column's edits (``buffer.EditList``) to ``ids``, explicit ones as new rows.

    ``table`` and ``ids`` must have room. Returns the rows and bases in use and ids' length.
    """
    for k in range(n_e):
        if edits.row[k] >= 0:
            ids[n_ids] = edits.row[k]
        else:
            table.start[n_t] = edits.start[k]
            table.end[n_t] = edits.end[k]
            table.dptr[n_t] = n_d
            table.dlen[n_t] = edits.dlen[k]
            for i in range(edits.dlen[k]):
                table.data[n_d + i] = explicit[edits.dptr[k] + i]
            n_d += edits.dlen[k]
            ids[n_ids] = n_t
            n_t += 1
        n_ids += 1
    return n_t, n_d, n_ids


@njit(cache=True)
def with_room(table, rows, size, n_t, n_d):
    """``table`` grown (each part at least doubled) to hold ``rows`` rows, ``size`` bases."""
    if rows > table.start.shape[0]:
        cap = max(rows, 2 * table.start.shape[0])
        table = EditTable(
            grown(table.start, cap, n_t),
            grown(table.end, cap, n_t),
            grown(table.dptr, cap, n_t),
            grown(table.dlen, cap, n_t),
            table.data,
        )
    if size > table.data.shape[0]:
        data = grown(table.data, max(size, 2 * table.data.shape[0]), n_d)
        table = EditTable(table.start, table.end, table.dptr, table.dlen, data)
    return table
