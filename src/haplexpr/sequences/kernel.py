"""bcftools consensus's rules for applying variants, compiled, for every haplotype at once.

``apply_window`` replays ``apply_variant`` of bcftools 1.24 (consensus.c) for one window
and every (sample, haplotype) column: the same allele choice (``-H 1|2``, missing alleles
skipped or, with ``-M N``, the first REF base set to N), the same overlap rule (a record
starting at or before the end of the last applied one is skipped, except an insertion
right after a non-insertion), the same trimming of records that cross the window's start
or end, the same gVCF-block rule (``<*>`` skips the records it covers), the same case rule
(ALT takes the case of the reference base it lands on) and the same REF check. bcftools
edits a text buffer in place; here the buffer is virtual
(``sequences.buffer``): the reference window plus a short list of edits in reference
coordinates, so no base is moved and every edit of a common variant is shared by all
haplotypes that carry it. Only the last edit or two can be touched again (bcftools only
looks back as far as the previous variant), so edits are resolved against the tail of
that list.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from haplexpr.sequences.buffer import grown, length_and_tss, new_edit_list, push_edit
from haplexpr.sequences.column_state import (
    Scratch,
    WindowView,
    after_untouched,
    fresh_column,
    frozen,
)
from haplexpr.sequences.cut_records import apply_cut
from haplexpr.sequences.edits import WindowEdits
from haplexpr.sequences.table import canonical_edits, store_column, trim_and_length, with_room
from haplexpr.vcf.alleles import MISSING, SKIP, to_upper

# numba's disk cache checks only each function's own file: after editing buffer.py,
# column_state.py, cut_records.py, table.py or vcf/alleles.py, touch this file too (or
# clear __pycache__).

# Error codes returned by apply_window (the caller turns them into messages).
OK = 0
REF_MISMATCH = 1
ALLELE_OUT_OF_RANGE = 2
BLOCK_BEFORE_WINDOW = 3  # -M N on a gVCF block from before the window (vcf.symbolic)
_NOTHING = -1  # a call that leaves the buffer as it is


class Records(NamedTuple):
    """A chromosome's records, sorted by position, and their alleles (REF first).

    Record ``r`` spans reference ``[pos[r], end[r])``; its alleles are rows
    ``allele_ptr[r]:allele_ptr[r + 1]``, each ``allele_len`` bytes from ``allele_start``
    in ``allele_bytes``.
    """

    pos: np.ndarray
    end: np.ndarray
    allele_ptr: np.ndarray
    allele_start: np.ndarray
    allele_len: np.ndarray
    allele_bytes: np.ndarray
    missing_block: np.ndarray  # whether the record is a -M N gVCF block line


class Calls(NamedTuple):
    """Genotypes, sparse by column; every call not listed is REF.

    Column ``c`` carries allele ``allele[k]`` (an ALT index or ``MISSING``) of record
    ``rec[k]`` for ``k`` in ``ptr[c]:ptr[c + 1]``.
    """

    ptr: np.ndarray
    rec: np.ndarray
    allele: np.ndarray


class WindowResult(NamedTuple):
    """``apply_window``'s answer: ``OK`` and the edits, or an error code and where."""

    status: int
    record: int
    column: int
    edits: WindowEdits


@njit(cache=True, nogil=True)
def apply_window(window, window_start, tss, lo, hi, records, calls, missing_n):
    """Apply one window's records to every genotype column, as bcftools consensus would.

    The window's records are those of ``lo:hi`` (sorted by position) that reach into it.
    Edits are (start, end, data) in window coordinates; the canonical edits (each
    record's ALT allele, cased like the reference) come first, then explicit ones for
    trimmed, merged or N edits. ``tss`` is the TSS's offset in the window.
    """
    record_ids, slot = _window_records(window_start, lo, hi, records.end)
    win = WindowView(window, window_start, lo, hi, slot, missing_n)
    table, n_t, n_d, canon = canonical_edits(window, window_start, record_ids, records)
    longest = 1
    for r in record_ids:
        for a in range(records.allele_ptr[r], records.allele_ptr[r + 1]):
            longest = max(longest, records.allele_len[a])
    alt_n = np.zeros(1, np.uint8)
    alt_n[0] = 78  # 'N'
    scratch = Scratch(
        new_edit_list(record_ids.shape[0] + 2),
        np.empty(2 * longest + 8, np.uint8),
        alt_n,
    )
    return _apply_columns(win, tss, records, calls, table, n_t, n_d, canon, scratch)


@njit(cache=True)
def _failed(status, record, column):
    """``apply_window``'s answer when bcftools would stop: the status and where."""
    empty32 = np.zeros(0, np.int32)
    empty64 = np.zeros(0, np.int64)
    edits = WindowEdits(empty32, empty32, empty64, empty32, np.zeros(0, np.uint8), empty64,
                        empty32, empty32, empty32)  # fmt: skip
    return WindowResult(status, record, column, edits)


@njit(cache=True)
def _window_records(window_start, lo, hi, rec_end):
    """The records of ``lo:hi`` that reach into the window, and each one's row (or -1)."""
    record_ids = np.empty(hi - lo, np.int64)
    n_rec = 0
    for r in range(lo, hi):
        if rec_end[r] > window_start:
            record_ids[n_rec] = r
            n_rec += 1
    slot = np.full(hi - lo, -1, np.int64)
    for j in range(n_rec):
        slot[record_ids[j] - lo] = j
    return record_ids[:n_rec], slot


@njit(cache=True)
def _apply_columns(win, tss, records, calls, table, n_t, n_d, canon, scratch):
    """Apply each column's calls in order to its buffer, then add its edits to the table.

    The hot path (a record on untouched reference bases) stays in this loop nest, its
    inlined helpers handed only arrays fixed for the whole nest: numba reference-counts
    any other array handed to one (a slice, say), at more than such a record costs. The
    rare cases go through ``cut_records.apply_cut``, a plain call.
    """
    bases = win.bases
    wlen = bases.shape[0]
    edits = scratch.edits
    _, _, al_ptr, al_start, al_len, al_bytes, _ = records
    n_cols = calls.ptr.shape[0] - 1
    col_ptr = np.zeros(n_cols + 1, np.int64)
    ids = np.empty(16 + n_cols * 4, np.int32)
    n_ids = 0
    lengths = np.empty(n_cols, np.int32)
    tss_offsets = np.empty(n_cols, np.int32)
    explicit = np.empty(256, np.uint8)  # explicit edits' bases for the current column
    for col in range(n_cols):
        st = fresh_column(bases)
        first = calls.ptr[col]
        k_lo = first + np.searchsorted(calls.rec[first : calls.ptr[col + 1]], win.lo)
        for k in range(k_lo, calls.ptr[col + 1]):
            r = calls.rec[k]
            if r >= win.hi:
                break
            j = win.slot[r - win.lo]
            if j < 0:
                continue
            g = calls.allele[k]
            status = _call_status(al_ptr, r, g, win.missing_n)
            if status == _NOTHING:
                continue
            if status != OK:
                return _failed(status, r, col)
            a0 = al_ptr[r]
            pos = records.pos[r]
            if records.missing_block[r] and pos - win.start + st.mod_off < 0:
                return _failed(BLOCK_BEFORE_WINDOW, r, col)  # bcftools reads before its buffer
            if g == MISSING:  # -M N: the first REF base set to N
                canonical = -1
                rlen = 1
                trim_beg, var_n = trim_and_length(al_bytes[al_start[a0] :][:1], scratch.alt_n)
            else:
                canonical = canon.first[j] + g - 1
                rlen = al_len[a0]
                trim_beg = canon.trim[canonical]
                var_n = canon.var_n[canonical]
            if pos <= st.frz:
                if pos < st.frz or trim_beg == 0 or var_n == 0 or st.prev_is_insert:
                    continue  # bcftools: "overlaps with another variant, skipping"
            if canonical >= 0 and al_bytes[al_start[a0 + g]] == 60:  # '<*>' (vcf.symbolic)
                st = frozen(st, pos + rlen - 1)  # bcftools' freeze_ref: skip what it covers
                continue
            rel = pos - win.start
            if canonical >= 0 and pos > st.frz and rel >= 0 and rel + rlen <= wlen:
                # Common case: the record lands on untouched reference bases (it starts
                # after the last applied one) inside the window, so bcftools' buffer there
                # is the reference itself and the result is the canonical edit.
                if not _ref_is_at(al_bytes, al_start[a0], rlen, bases, rel):
                    return _failed(REF_MISMATCH, r, col)
                alen = al_len[a0 + g]
                at = rel + st.mod_off
                push_edit(
                    edits, st.n_e, rel, rel + rlen, at, table.dptr[canonical], alen, canonical
                )
                st = after_untouched(st, pos, rlen, alen, bases[rel + rlen - 1])
                continue
            ok, st, explicit = apply_cut(
                st, records, a0, g, pos, trim_beg, canonical, win, edits, table, explicit, scratch
            )
            if not ok:
                return _failed(REF_MISMATCH, r, col)
        table, ids, n_t, n_d, n_ids = _stored_column(
            edits, st, explicit, table, n_t, n_d, ids, n_ids
        )
        lengths[col], tss_offsets[col] = length_and_tss(edits, st.n_e, wlen, tss)
        col_ptr[col + 1] = n_ids
    return _succeeded(table, n_t, n_d, col_ptr, ids[:n_ids], lengths, tss_offsets)


@njit(cache=True, inline="always")
def _stored_column(edits, st, explicit, table, n_t, n_d, ids, n_ids):
    """A column's edits added to ``ids`` (its explicit ones to ``table``), growing both.

    Returns (table, ids, rows in use, bases in use, ids in use).
    """
    if n_ids + st.n_e > ids.shape[0]:
        ids = grown(ids, max(2 * ids.shape[0], n_ids + st.n_e), n_ids)
    if n_t + st.n_e > table.start.shape[0] or n_d + st.n_s > table.data.shape[0]:
        table = with_room(table, n_t + st.n_e, n_d + st.n_s, n_t, n_d)
    n_t, n_d, n_ids = store_column(edits, st.n_e, explicit, table, n_t, n_d, ids, n_ids)
    return table, ids, n_t, n_d, n_ids


@njit(cache=True)
def _succeeded(table, n_t, n_d, col_ptr, edit_ids, lengths, tss_offsets):
    """``apply_window``'s answer when every column is applied: ``OK`` and the edits."""
    edits = WindowEdits(table.start[:n_t], table.end[:n_t], table.dptr[:n_t], table.dlen[:n_t],
                        table.data[:n_d], col_ptr, edit_ids, lengths, tss_offsets)  # fmt: skip
    return WindowResult(OK, -1, -1, edits)


@njit(cache=True, inline="always")
def _call_status(al_ptr, r, g, missing_n):
    """Whether allele ``g`` of record ``r`` edits the buffer (``OK``), or is an error.

    ``_NOTHING`` for REF, an absent haplotype, a record without ALT and a missing allele
    left as it is (without ``-M N``).
    """
    n_allele = al_ptr[r + 1] - al_ptr[r]
    if n_allele == 1 or g == SKIP or g == 0 or (g == MISSING and not missing_n):
        return _NOTHING
    if g != MISSING and g >= n_allele:
        return ALLELE_OUT_OF_RANGE
    return OK


@njit(cache=True, inline="always")
def _ref_is_at(al_bytes, start, rlen, bases, rel):
    """Whether REF (``rlen`` bytes from ``start``) matches the window at ``rel``, case aside."""
    for i in range(rlen):
        if to_upper(al_bytes[start + i]) != to_upper(bases[rel + i]):
            return False
    return True
