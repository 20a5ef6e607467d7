"""Records bcftools cuts to its buffer or lays on bases an edit made: the kernel's rare path.

Most records land on untouched reference bases inside the window, and the kernel
(``sequences.kernel``) takes their canonical edit as it is. The others start before the
window, run past its end or start on bases an earlier record replaced; for those the
buffer (``sequences.buffer``) is read where they land, REF is checked against it, the
bases bcftools keeps are worked out and the replacement is written as a canonical or an
explicit edit, as ``apply_variant`` of bcftools 1.24 does.
"""

from __future__ import annotations

from numba import njit

from haplexpr.sequences.buffer import cut_to_buffer, push_edit, read_base, replace
from haplexpr.sequences.column_state import ColumnState
from haplexpr.sequences.table import allele, cased, is_row
from haplexpr.vcf.alleles import MISSING, to_upper

# numba's disk cache checks only each function's own file: after editing buffer.py,
# column_state.py, table.py or vcf/alleles.py, touch this file too (or clear __pycache__).


@njit(cache=True)
def apply_cut(st, records, a0, g, pos, trim_beg, canonical, win, edits, table, explicit, scratch):
    """Apply a record as bcftools does where the buffer may differ from the reference.

    The record (REF at allele row ``a0``, allele ``g`` called) may start before the
    window, run past its end or start on bases an edit made. Returns (whether REF
    matched, the column's state, ``explicit``).
    """
    if g == MISSING:
        ref = records.allele_bytes[records.allele_start[a0] :][:1]
        alt = scratch.alt_n
    else:
        ref = allele(records, a0)
        alt = allele(records, a0 + g)
    bases = win.bases
    wlen = bases.shape[0]
    rel = pos - win.start
    span = cut_to_buffer(pos, rel + st.mod_off, ref.shape[0], alt.shape[0], wlen + st.mod_off)
    if span.skip:
        return True, st, explicit
    if span.clipped:
        canonical = -1
    n_e = st.n_e
    if span.idx >= 0 and not _ref_matches(ref, span, 0, bases, edits, n_e, table, explicit):
        # A record starting on the last base the previous one replaced: bcftools
        # takes that base as it was for its first one.
        if not (
            st.prev_base_pos == span.pos
            and to_upper(ref[span.ref_off]) == to_upper(st.prev_base)
            and _ref_matches(ref, span, 1, bases, edits, n_e, table, explicit)
        ):
            return False, st, explicit
    len_diff = span.alen - span.rlen
    upper, stale = _case_and_stale(
        span, wlen + st.mod_off, st.stale, bases, edits, n_e, table, explicit
    )
    prev_base = st.prev_base
    if len_diff <= 0:
        keep = trim_beg
        prev_base = read_base(span.idx + span.rlen - 1, bases, edits, n_e, table.data, explicit)
        prev_base_pos = span.pos + span.rlen - 1
        prev_is_insert = False
    else:
        keep = _kept_ref_bases(ref, alt, span, upper, st.prev_base_pos)
        prev_is_insert = True
        prev_base_pos = span.pos
    piece = scratch.piece
    for i in range(min(keep, span.alen)):
        piece[i] = read_base(span.idx + i, bases, edits, n_e, table.data, explicit)
    for i in range(min(keep, span.alen), span.alen):
        piece[i] = cased(alt[span.alt_off + i], upper)
    n_e, n_s, explicit = _put_piece(
        span, canonical, win.start, piece, table, edits, n_e, bases, explicit, st.n_s
    )
    frz = span.pos + span.rlen - 1
    mod_off = st.mod_off + len_diff
    state = ColumnState(n_e, n_s, mod_off, frz, prev_is_insert, prev_base, prev_base_pos, stale)
    return True, state, explicit


@njit(cache=True, inline="always")
def _ref_matches(ref, span, first, bases, edits, n_e, table, explicit):
    """Whether REF, from its base ``first`` on, matches the buffer where it lands."""
    for i in range(first, span.rlen):
        c = read_base(span.idx + i, bases, edits, n_e, table.data, explicit)
        if to_upper(ref[span.ref_off + i]) != to_upper(c):
            return False
    return True


@njit(cache=True, inline="always")
def _case_and_stale(span, buf_len, stale, bases, edits, n_e, table, explicit):
    """Whether the buffer base the record lands on is upper case; the stale byte after."""
    safe = span.idx if span.idx > 0 else 0
    if safe >= buf_len:
        c = stale
    else:
        c = read_base(safe, bases, edits, n_e, table.data, explicit)
    if buf_len > 0 and buf_len + span.alen - span.rlen == 0:
        stale = read_base(0, bases, edits, n_e, table.data, explicit)
    return to_upper(c) == c, stale


@njit(cache=True, inline="always")
def _kept_ref_bases(ref, alt, span, upper, prev_base_pos):
    """How many leading bases of an insertion bcftools leaves as they are.

    Those ALT shares with REF, up to the last base a previous record replaced.
    """
    keep = 0
    while keep < span.alen and span.ref_off + keep < ref.shape[0]:
        ca = cased(alt[span.alt_off + keep], upper)
        if ref[span.ref_off + keep] != ca or span.pos + keep > prev_base_pos:
            break
        keep += 1
    return keep


@njit(cache=True, inline="always")
def _put_piece(span, canonical, window_start, piece, table, edits, n_e, bases, explicit, n_s):
    """Put the replacement ``piece`` in the buffer.

    As the canonical edit when it is that one on untouched bases, else as an explicit
    edit. Returns (edits, explicit bases used, ``explicit``).
    """
    b0 = span.idx
    b1 = span.idx + span.rlen
    p0 = 0
    if b0 < 0:  # bases before the window are not part of it
        p0 = min(-b0, span.alen)
        b0 = 0
    tail = edits.at[n_e - 1] + edits.dlen[n_e - 1] if n_e > 0 else 0
    if (
        canonical >= 0
        and b0 >= tail
        and p0 == 0
        and span.pos >= window_start
        and is_row(piece, span.alen, table, canonical)
    ):
        rel = span.pos - window_start
        n_e = push_edit(
            edits, n_e, rel, rel + span.rlen, b0, table.dptr[canonical], span.alen, canonical
        )
        return n_e, n_s, explicit
    return replace(edits, n_e, b0, b1, piece, p0, span.alen, bases, table.data, explicit, n_s)
