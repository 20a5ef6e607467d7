"""bcftools consensus's rules for applying variants, compiled, for every haplotype at once.

``apply_window`` replays ``apply_variant`` of bcftools 1.24 (consensus.c) for one window
and every (sample, haplotype) column: the same allele choice (``-H 1|2``, missing alleles
skipped or, with ``-M N``, the first REF base set to N), the same overlap rule (a record
starting at or before the end of the last applied one is skipped, except an insertion
right after a non-insertion), the same trimming of records that cross the window's start
or end, the same case rule (ALT takes the case of the reference base it lands on) and the
same REF check. bcftools edits a text buffer in place; here the buffer is virtual: the
reference window plus a short list of edits in reference coordinates, so no base is moved
and every edit of a common variant is shared by all haplotypes that carry it. Only the
last edit or two can be touched again (bcftools only looks back as far as the previous
variant), so edits are resolved against the tail of that list.

``materialise`` turns (reference window, edits) into bases at memory-copy speed.
"""

from __future__ import annotations

import ctypes

import numpy as np
from numba import njit

MISSING = -1  # allele not called: skipped, or N with missing="N"
SKIP = -3  # haplotype absent (haplotype 2 of a haploid record): left as the reference

# Error codes returned by apply_window (the caller turns them into messages).
OK = 0
REF_MISMATCH = 1
ALLELE_OUT_OF_RANGE = 2


@njit(cache=True, inline="always")
def _upper(c):
    return c - 32 if 97 <= c <= 122 else c


@njit(cache=True, inline="always")
def _lower(c):
    return c + 32 if 65 <= c <= 90 else c


# htslib's variant type bits (vcf.h).
VCF_REF, VCF_SNP, VCF_MNP, VCF_INDEL, VCF_OTHER, VCF_BND, VCF_OVERLAP = 0, 1, 2, 4, 8, 16, 32


@njit(cache=True)
def variant_type(ref, alt):
    """The type bits and length change (``var.n``) htslib's bcf_set_variant_type gives."""
    lr, la = ref.shape[0], alt.shape[0]
    if la == 1 and alt[0] == 42:  # '*'
        return VCF_OVERLAP, 0
    if lr == 1 and la == 1:
        if alt[0] == 46 or ref[0] == alt[0] or alt[0] == 88:  # '.', same base, 'X'
            return VCF_REF, 0
        return VCF_SNP, 1
    if alt[0] == 60:  # '<'
        return VCF_OTHER, 0
    if alt[0] == 91 or alt[0] == 93:  # '[', ']'
        return VCF_BND, 0
    r = 0
    a = 0
    while r < lr and a < la and _upper(ref[r]) == _upper(alt[a]):
        r += 1
        a += 1
    if a < la and r == lr:
        if alt[la - 1] == 91 or alt[la - 1] == 93:
            return VCF_BND, 0
        return VCF_INDEL, la - lr
    if r < lr and a == la:
        return VCF_INDEL, la - lr
    if r == lr and a == la:
        return VCF_REF, 0
    re = lr - 1
    ae = la - 1
    if alt[ae] == 91 or alt[ae] == 93:
        return VCF_BND, 0
    while re > r and ae > a and _upper(ref[re]) == _upper(alt[ae]):
        re -= 1
        ae -= 1
    if ae == a:
        if re == r:
            return VCF_SNP, 1
        kind = VCF_INDEL if _upper(ref[re]) == _upper(alt[ae]) else VCF_OTHER
        return kind, -(re - r)
    if re == r:
        kind = VCF_INDEL if _upper(ref[re]) == _upper(alt[ae]) else VCF_OTHER
        return kind, ae - a
    kind = VCF_MNP if re - r == ae - a else VCF_OTHER
    if re - r > ae - a:
        return kind, -(re - r + 1)
    return kind, ae - a + 1


@njit(cache=True)
def _trim_and_length(ref, alt):
    """The ``trim_beg`` of bcftools (an indel whose first bases agree) and ``var.n``."""
    kind, var_n = variant_type(ref, alt)
    return 1 if (kind == VCF_INDEL and ref[0] == alt[0]) else 0, var_n


@njit(cache=True, inline="always")
def _read(b, window, n_edits, e_oe, e_bs, e_dptr, e_dlen, e_id, canonical, explicit):
    """Base at position ``b`` of the edited window (bcftools' modified buffer).

    An edit's bases live in the window's canonical table (``e_id >= 0``) or in this
    column's explicit ones.
    """
    for k in range(n_edits - 1, -1, -1):
        end = e_bs[k] + e_dlen[k]
        if b >= end:
            return window[e_oe[k] + b - end]
        if b >= e_bs[k]:
            if e_id[k] >= 0:
                return canonical[e_dptr[k] + b - e_bs[k]]
            return explicit[e_dptr[k] + b - e_bs[k]]
    return window[b]


@njit(cache=True, nogil=True)
def apply_window(
    window,
    window_start,
    tss,
    lo,
    hi,
    rec_pos,
    rec_end,
    al_ptr,
    al_start,
    al_len,
    al_bytes,
    col_ptr_in,
    col_rec,
    col_allele,
    missing_n,
):
    """Apply one window's records to every genotype column, as bcftools consensus would.

    The window's records are those of ``lo:hi`` (sorted by position) that reach into it.
    Genotypes come sparse, column by column: column ``c`` carries allele
    ``col_allele[k]`` (or ``MISSING``) of record ``col_rec[k]`` for ``k`` in
    ``col_ptr_in[c]:col_ptr_in[c + 1]``; every other call is the reference allele.
    Returns (status, record, column, edit table, per-column edit lists, lengths, TSS
    offsets). Edits are (start, end, data) in window coordinates; the canonical edits
    (each record's ALT allele, cased like the reference) come first, then explicit ones
    for trimmed, merged or N edits.
    """
    n_cols = col_ptr_in.shape[0] - 1
    wlen = window.shape[0]
    record_ids = np.empty(hi - lo, np.int64)
    n_rec = 0
    for r in range(lo, hi):
        if rec_end[r] > window_start:
            record_ids[n_rec] = r
            n_rec += 1
    slot = np.full(hi - lo, -1, np.int64)  # record r -> its row j in this window
    for j in range(n_rec):
        slot[record_ids[j] - lo] = j

    # Canonical edit of each (record, ALT allele): ALT in the case of the reference base.
    n_canon = 0
    for j in range(n_rec):
        r = record_ids[j]
        n_canon += al_ptr[r + 1] - al_ptr[r] - 1
    canon_first = np.zeros(n_rec + 1, np.int64)
    cap = 64 + n_canon * 2
    t_os = np.empty(cap, np.int32)
    t_oe = np.empty(cap, np.int32)
    t_dptr = np.empty(cap, np.int64)
    t_dlen = np.empty(cap, np.int32)
    dcap = 256
    for j in range(n_rec):
        r = record_ids[j]
        for a in range(al_ptr[r] + 1, al_ptr[r + 1]):
            dcap += al_len[a]
    tdata = np.empty(dcap, np.uint8)
    # Per canonical edit: is it an indel (htslib's type), its var.n, the trimmed anchor.
    c_trim = np.zeros(cap, np.int64)
    c_var_n = np.zeros(cap, np.int64)
    n_t = 0
    n_d = 0
    for j in range(n_rec):
        r = record_ids[j]
        canon_first[j] = n_t
        rel = rec_pos[r] - window_start
        a0 = al_ptr[r]
        ref_len = al_len[a0]
        ref = al_bytes[al_start[a0] : al_start[a0] + ref_len]
        upper = True
        if 0 <= rel < wlen:
            upper = _upper(window[rel]) == window[rel]
        for a in range(al_ptr[r] + 1, al_ptr[r + 1]):
            alt = al_bytes[al_start[a] : al_start[a] + al_len[a]]
            c_trim[n_t], c_var_n[n_t] = _trim_and_length(ref, alt)
            t_os[n_t] = rel
            t_oe[n_t] = rel + ref_len
            t_dptr[n_t] = n_d
            t_dlen[n_t] = al_len[a]
            for i in range(al_len[a]):
                c = al_bytes[al_start[a] + i]
                tdata[n_d] = _upper(c) if upper else _lower(c)
                n_d += 1
            n_t += 1
    canon_first[n_rec] = n_t

    col_ptr = np.zeros(n_cols + 1, np.int64)
    ids_cap = 16 + n_cols * 4
    ids = np.empty(ids_cap, np.int32)
    n_ids = 0
    lengths = np.empty(n_cols, np.int32)
    tss_offsets = np.empty(n_cols, np.int32)

    # Per-column scratch: the edit list of the virtual buffer.
    e_os = np.empty(n_rec + 2, np.int64)
    e_oe = np.empty(n_rec + 2, np.int64)
    e_bs = np.empty(n_rec + 2, np.int64)
    e_dptr = np.empty(n_rec + 2, np.int64)
    e_dlen = np.empty(n_rec + 2, np.int64)
    e_id = np.empty(n_rec + 2, np.int64)
    max_allele = 1
    for j in range(n_rec):
        r = record_ids[j]
        for a in range(al_ptr[r], al_ptr[r + 1]):
            max_allele = max(max_allele, al_len[a])
    sdata = np.empty(256, np.uint8)  # explicit edits' bases for this column
    piece = np.empty(2 * max_allele + 8, np.uint8)
    ref_n = np.zeros(1, np.uint8)
    alt_n = np.zeros(1, np.uint8)
    alt_n[0] = 78  # 'N'

    for col in range(n_cols):
        n_e = 0
        n_s = 0
        mod_off = 0
        frz = -1
        prev_is_insert = False
        prev_base = np.uint8(0)
        prev_base_pos = -1
        # bcftools reads its buffer's first byte for the case even when a deletion has
        # emptied it: the byte left in memory, i.e. the first base before the emptying.
        stale = window[0] if wlen > 0 else np.uint8(78)
        k_lo = col_ptr_in[col] + np.searchsorted(col_rec[col_ptr_in[col] : col_ptr_in[col + 1]], lo)
        for k in range(k_lo, col_ptr_in[col + 1]):
            r = col_rec[k]
            if r >= hi:
                break
            j = slot[r - lo]
            if j < 0:
                continue
            n_allele = al_ptr[r + 1] - al_ptr[r]
            if n_allele == 1:
                continue
            g = col_allele[k]
            if g == SKIP:
                continue
            if g == MISSING:
                if not missing_n:
                    continue
                ref_n[0] = al_bytes[al_start[al_ptr[r]]]
                ref = ref_n
                alt = alt_n
                canonical = -1
            else:
                if g == 0:
                    continue
                if g >= n_allele:
                    return _failed(ALLELE_OUT_OF_RANGE, r, col)
                a0 = al_ptr[r]
                ref = al_bytes[al_start[a0] : al_start[a0] + al_len[a0]]
                alt = al_bytes[al_start[a0 + g] : al_start[a0 + g] + al_len[a0 + g]]
                canonical = canon_first[j] + g - 1
            pos = rec_pos[r]
            rlen = ref.shape[0]
            if canonical >= 0:
                trim_beg = c_trim[canonical]
                var_n = c_var_n[canonical]
            else:
                trim_beg, var_n = _trim_and_length(ref, alt)
            if pos <= frz:
                if pos < frz or trim_beg == 0 or var_n == 0 or prev_is_insert:
                    continue  # bcftools: "overlaps with another variant, skipping"
            rel = pos - window_start
            if canonical >= 0 and pos > frz and rel >= 0 and rel + rlen <= wlen:
                # Common case: the record lands on untouched reference bases (it starts
                # after the last applied one) inside the window, so bcftools' buffer there
                # is the reference itself and the result is the canonical edit.
                for i in range(rlen):
                    if _upper(ref[i]) != _upper(window[rel + i]):
                        return _failed(REF_MISMATCH, r, col)
                alen = alt.shape[0]
                if alen <= rlen:
                    prev_base = window[rel + rlen - 1]
                    prev_base_pos = pos + rlen - 1
                    prev_is_insert = False
                else:
                    prev_is_insert = True
                    prev_base_pos = pos
                e_os[n_e] = rel
                e_oe[n_e] = rel + rlen
                e_bs[n_e] = rel + mod_off
                e_dptr[n_e] = t_dptr[canonical]
                e_dlen[n_e] = alen
                e_id[n_e] = canonical
                n_e += 1
                mod_off += alen - rlen
                frz = pos + rlen - 1
                continue
            idx = pos - window_start + mod_off
            ref_off = 0
            alt_off = 0
            if idx < 0:
                if ref.shape[0] < -idx:
                    continue
                elif alt.shape[0] > -idx:
                    pos -= idx
                    rlen += idx
                    ref_off = -idx
                    alt_off = -idx
                    idx = 0
                else:
                    pos -= idx + 1
                    rlen += idx + 1
                    ref_off = -idx - 1
                    alt_off = alt.shape[0] - 1
                    idx = -1
                canonical = -1
            alen = alt.shape[0] - alt_off
            buf_len = wlen + mod_off
            if rlen > buf_len - idx:
                rlen = buf_len - idx
                if alen > rlen:
                    alen = rlen
                canonical = -1
            if idx > 0 and idx >= buf_len:
                continue
            if idx >= 0:
                fail = False
                for i in range(rlen):
                    c = _read(idx + i, window, n_e, e_oe, e_bs, e_dptr, e_dlen, e_id, tdata, sdata)
                    if _upper(ref[ref_off + i]) != _upper(c):
                        fail = True
                        break
                if fail and prev_base_pos == pos and _upper(ref[ref_off]) == _upper(prev_base):
                    fail = False
                    for i in range(1, rlen):
                        c = _read(
                            idx + i, window, n_e, e_oe, e_bs, e_dptr, e_dlen, e_id, tdata, sdata
                        )
                        if _upper(ref[ref_off + i]) != _upper(c):
                            fail = True
                            break
                if fail:
                    return _failed(REF_MISMATCH, r, col)
            len_diff = alen - rlen
            safe = idx if idx > 0 else 0
            if safe >= buf_len:
                c = stale
            else:
                c = _read(safe, window, n_e, e_oe, e_bs, e_dptr, e_dlen, e_id, tdata, sdata)
            if buf_len > 0 and buf_len + len_diff == 0:
                stale = _read(0, window, n_e, e_oe, e_bs, e_dptr, e_dlen, e_id, tdata, sdata)
            upper = _upper(c) == c
            # The replacement of buffer [idx, idx + rlen): `keep` bases as they are, then ALT.
            if len_diff <= 0:
                keep = trim_beg
                prev_base = _read(
                    idx + rlen - 1, window, n_e, e_oe, e_bs, e_dptr, e_dlen, e_id, tdata, sdata
                )
                prev_base_pos = pos + rlen - 1
                prev_is_insert = False
            else:
                keep = 0
                while keep < alen and ref_off + keep < ref.shape[0]:
                    ca = alt[alt_off + keep]
                    ca = _upper(ca) if upper else _lower(ca)
                    if ref[ref_off + keep] != ca or pos + keep > prev_base_pos:
                        break
                    keep += 1
                prev_is_insert = True
                prev_base_pos = pos
            keep = min(keep, alen)
            for i in range(keep):
                piece[i] = _read(
                    idx + i, window, n_e, e_oe, e_bs, e_dptr, e_dlen, e_id, tdata, sdata
                )
            for i in range(keep, alen):
                ca = alt[alt_off + i]
                piece[i] = _upper(ca) if upper else _lower(ca)
            b0 = idx
            b1 = idx + rlen
            p0 = 0
            if b0 < 0:  # bases before the window are not part of it
                p0 = min(-b0, alen)
                b0 = 0
            # Simple case: untouched stretch, and the bases equal the canonical edit.
            tail = e_bs[n_e - 1] + e_dlen[n_e - 1] if n_e > 0 else 0
            simple = canonical >= 0 and b0 >= tail and p0 == 0 and pos >= window_start
            if simple:
                cd = t_dptr[canonical]
                if t_dlen[canonical] != alen:
                    simple = False
                else:
                    for i in range(alen):
                        if tdata[cd + i] != piece[i]:
                            simple = False
                            break
            if simple:
                e_os[n_e] = pos - window_start
                e_oe[n_e] = pos - window_start + rlen
                e_bs[n_e] = b0
                e_dptr[n_e] = t_dptr[canonical]
                e_dlen[n_e] = alen
                e_id[n_e] = canonical
                n_e += 1
            else:
                # Merge with every edit whose bases the replaced stretch touches.
                first = n_e
                while first > 0 and e_bs[first - 1] + e_dlen[first - 1] > b0:
                    first -= 1
                last = first
                while last < n_e and e_bs[last] < b1:
                    last += 1
                m_lo = b0
                m_hi = b1
                if last > first:
                    m_lo = min(b0, e_bs[first])
                    m_hi = max(b1, e_bs[last - 1] + e_dlen[last - 1])
                # Reference coordinates of the merged stretch.
                if last > first and m_lo == e_bs[first]:
                    o_lo = e_os[first]
                elif first > 0:
                    o_lo = e_oe[first - 1] + m_lo - (e_bs[first - 1] + e_dlen[first - 1])
                else:
                    o_lo = m_lo
                if last > first and m_hi == e_bs[last - 1] + e_dlen[last - 1]:
                    o_hi = e_oe[last - 1]
                elif last > first:
                    o_hi = e_oe[last - 1] + m_hi - (e_bs[last - 1] + e_dlen[last - 1])
                elif first > 0:
                    o_hi = e_oe[first - 1] + m_hi - (e_bs[first - 1] + e_dlen[first - 1])
                else:
                    o_hi = m_hi
                need = n_s + (m_hi - m_lo) + alen + 8
                if need > sdata.shape[0]:
                    grown = np.empty(max(need, 2 * sdata.shape[0]), np.uint8)
                    grown[:n_s] = sdata[:n_s]
                    sdata = grown
                start = n_s
                for b in range(m_lo, b0):
                    sdata[n_s] = _read(
                        b, window, n_e, e_oe, e_bs, e_dptr, e_dlen, e_id, tdata, sdata
                    )
                    n_s += 1
                for i in range(p0, alen):
                    sdata[n_s] = piece[i]
                    n_s += 1
                for b in range(b1, m_hi):
                    sdata[n_s] = _read(
                        b, window, n_e, e_oe, e_bs, e_dptr, e_dlen, e_id, tdata, sdata
                    )
                    n_s += 1
                shift = (n_s - start) - (m_hi - m_lo)
                # Later edits (none in practice) move with the length change.
                moved = n_e - last
                for k in range(moved):
                    src = last + k
                    dst = first + 1 + k
                    e_os[dst] = e_os[src]
                    e_oe[dst] = e_oe[src]
                    e_bs[dst] = e_bs[src] + shift
                    e_dptr[dst] = e_dptr[src]
                    e_dlen[dst] = e_dlen[src]
                    e_id[dst] = e_id[src]
                e_os[first] = o_lo
                e_oe[first] = o_hi
                e_bs[first] = m_lo
                e_dptr[first] = start
                e_dlen[first] = n_s - start
                e_id[first] = -1
                n_e = first + 1 + moved
            mod_off += len_diff
            frz = pos + rlen - 1

        # This column's edits into the window's table (explicit ones get their own rows).
        if n_ids + n_e > ids.shape[0]:
            grown_ids = np.empty(max(2 * ids.shape[0], n_ids + n_e), np.int32)
            grown_ids[:n_ids] = ids[:n_ids]
            ids = grown_ids
        length = wlen
        tss_offset = tss
        tss_done = False
        for k in range(n_e):
            if e_id[k] >= 0:
                edit = e_id[k]
            else:
                if n_t >= t_os.shape[0]:
                    size = 2 * t_os.shape[0]
                    t_os = _grow32(t_os, size)
                    t_oe = _grow32(t_oe, size)
                    t_dlen = _grow32(t_dlen, size)
                    g64 = np.empty(size, np.int64)
                    g64[:n_t] = t_dptr[:n_t]
                    t_dptr = g64
                if n_d + e_dlen[k] > tdata.shape[0]:
                    gd = np.empty(max(2 * tdata.shape[0], n_d + e_dlen[k]), np.uint8)
                    gd[:n_d] = tdata[:n_d]
                    tdata = gd
                t_os[n_t] = e_os[k]
                t_oe[n_t] = e_oe[k]
                t_dptr[n_t] = n_d
                t_dlen[n_t] = e_dlen[k]
                for i in range(e_dlen[k]):
                    tdata[n_d + i] = sdata[e_dptr[k] + i]
                n_d += e_dlen[k]
                edit = n_t
                n_t += 1
            ids[n_ids] = edit
            n_ids += 1
            length += e_dlen[k] - (e_oe[k] - e_os[k])
            if not tss_done:
                if tss < e_os[k]:
                    tss_offset = e_bs[k] - (e_os[k] - tss)
                    tss_done = True
                elif tss < e_oe[k]:
                    tss_offset = e_bs[k] + min(tss - e_os[k], e_dlen[k])
                    tss_done = True
        if not tss_done and n_e > 0:
            tss_offset = e_bs[n_e - 1] + e_dlen[n_e - 1] + tss - e_oe[n_e - 1]
        lengths[col] = length
        tss_offsets[col] = tss_offset
        col_ptr[col + 1] = n_ids
    return (
        OK,
        -1,
        -1,
        t_os[:n_t],
        t_oe[:n_t],
        t_dptr[:n_t],
        t_dlen[:n_t],
        tdata[:n_d],
        col_ptr,
        ids[:n_ids],
        lengths,
        tss_offsets,
    )


@njit(cache=True)
def _failed(status, record, column):
    """``apply_window``'s answer when bcftools would stop: the status and where."""
    empty32 = np.zeros(0, np.int32)
    empty64 = np.zeros(0, np.int64)
    return (status, record, column, empty32, empty32, empty64, empty32,
            np.zeros(0, np.uint8), empty64, empty32, empty32, empty32)  # fmt: skip


@njit(cache=True)
def _grow32(array, size):
    grown = np.empty(size, np.int32)
    grown[: array.shape[0]] = array
    return grown


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
