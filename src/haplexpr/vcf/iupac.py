"""What ``bcftools consensus -H 1pIu`` / ``-H 2pIu`` (1.24) makes of an unphased call.

A diploid call written with ``/`` (htslib reads a haploid call as phased) gives both
haplotypes one allele, chosen as bcftools' ``iupac_set_allele`` does: the called alleles
(missing ones left out) whose text is all IUPAC letters have their bases ORed position by
position; the longest such ALT (the first of equal ones) is rewritten to those codes and
applied. With no such ALT the first called ALT is applied (``*``, ``<DEL>``: as they are),
or nothing when only REF is called; with nothing called the call is missing (``-M N``).
So ``A>G 0/1`` writes R, ``A>G,T 1/2`` K, ``A>AT 0/1`` the insertion on both haplotypes,
``0/.`` the reference and ``./1`` the ALT on both.

Here the rewritten ALT becomes an extra allele row of the record, and both haplotype
columns of the sample call it, so the kernel applies it as any other ALT.
"""

from __future__ import annotations

import re

import numpy as np
from numba import njit

from haplexpr.vcf.alleles import to_upper

# One bit per base (A 1, C 2, G 4, T 8) for each IUPAC letter, either case; 0: not one.
_BITS = np.zeros(256, np.uint8)
_LETTER_BITS = (1, 2, 4, 8, 3, 5, 9, 6, 10, 12, 7, 11, 13, 14, 15)
for _letter, _bits in zip("ACGTMRWSYKVHDBN", _LETTER_BITS, strict=True):
    _BITS[ord(_letter)] = _BITS[ord(_letter.lower())] = _bits
# bcftools' bitmask2iupac: the letter of each bit set.
_CODES = np.frombuffer(b".ACMGRSVTWYHKDBN", np.uint8)
# The call of both haplotypes when an unphased call names an allele the record lacks: past
# every row, so the kernel reports the broken record as bcftools does.
OUT_OF_RANGE = np.iinfo(np.int16).max


@njit(cache=True)
def iupac_choice(data, starts, lengths, x, y, out):
    """The allele bcftools applies for unphased alleles ``x <= y`` (both called, >= 0).

    ``data[starts[a] : starts[a] + lengths[a]]`` is allele ``a``'s text. Returns (an
    allele index, -1), or (-1, n) with the new code in ``out[:n]`` (``out`` must hold the
    longest allele). A code equal to its ALT but for case is that ALT (the kernel cases
    every ALT like the reference, as bcftools does).
    """
    fallback = -1
    alt = -1
    alt_len = 0
    max_len = 0
    for k in range(1 if x == y else 2):
        a = y if k else x
        if fallback <= 0:
            fallback = a
        n = lengths[a]
        s = starts[a]
        valid = True
        for j in range(n):
            if _BITS[data[s + j]] == 0:
                valid = False
        if not valid:
            continue  # symbolic, * or a breakend
        for j in range(max_len, n):
            out[j] = 0
        max_len = max(max_len, n)
        if a > 0 and n > alt_len:
            alt_len = n
            alt = a
        for j in range(n):
            out[j] |= _BITS[data[s + j]]
    if alt_len == 0:
        return fallback, -1
    same = True
    s = starts[alt]
    for j in range(alt_len):
        out[j] = _CODES[out[j]]
        if out[j] != to_upper(data[s + j]):
            same = False
    return (alt, -1) if same else (-1, alt_len)


@njit(cache=True)
def resolve_unphased(calls, unphased, counts, lengths, data):
    """Replace each unphased call by the allele bcftools -H NpIu applies, for both columns.

    ``calls``: (records, 2 * samples) allele codes, changed in place; ``unphased``:
    (records, samples); record ``r`` has ``counts[r]`` allele rows (``lengths``, texts in
    ``data``, in order). New codes are added as allele rows after the record's own (one
    per distinct allele pair). Returns the new (counts, lengths, data).
    """
    n_rec = counts.shape[0]
    starts = np.zeros(lengths.shape[0] + 1, np.int64)
    for a in range(lengths.shape[0]):
        starts[a + 1] = starts[a] + lengths[a]
    new_counts = counts.copy()
    new_lengths = np.empty(2 * lengths.shape[0] + 8, np.int64)
    new_data = np.empty(2 * data.shape[0] + 64, np.uint8)
    n_rows = 0
    n_bytes = 0
    longest = 1
    for a in range(lengths.shape[0]):
        longest = max(longest, lengths[a])
    out = np.zeros(longest, np.uint8)
    pairs = np.empty((16, 3), np.int64)  # (x, y, allele) chosen at this record
    row = 0
    for r in range(n_rec):
        first = row
        n_all = counts[r]
        # the record's own alleles
        need_rows = n_rows + n_all
        need_bytes = n_bytes + starts[first + n_all] - starts[first]
        new_lengths, new_data = _with_room(new_lengths, new_data, need_rows, need_bytes)
        for a in range(n_all):
            new_lengths[n_rows + a] = lengths[first + a]
        new_data[n_bytes:need_bytes] = data[starts[first] : starts[first + n_all]]
        n_rows = need_rows
        n_bytes = need_bytes
        n_pairs = 0
        for s in range(unphased.shape[1]):
            if not unphased[r, s]:
                continue
            a, b = calls[r, 2 * s], calls[r, 2 * s + 1]
            if a < 0:
                a = b
            if b < 0:
                b = a
            if a < 0:
                continue  # nothing called: missing on both haplotypes
            x, y = min(a, b), max(a, b)
            if y >= n_all:
                chosen = OUT_OF_RANGE
            else:
                chosen = -1
                for p in range(n_pairs):
                    if pairs[p, 0] == x and pairs[p, 1] == y:
                        chosen = pairs[p, 2]
                if chosen < 0:
                    chosen, n = iupac_choice(data, starts[first:], lengths[first:], x, y, out)
                    if chosen < 0:
                        new_lengths, new_data = _with_room(
                            new_lengths, new_data, n_rows + 1, n_bytes + n
                        )
                        new_lengths[n_rows] = n
                        new_data[n_bytes : n_bytes + n] = out[:n]
                        n_rows += 1
                        n_bytes += n
                        chosen = new_counts[r]
                        new_counts[r] += 1
                    if n_pairs == pairs.shape[0]:
                        pairs = _grown2(pairs)
                    pairs[n_pairs, 0] = x
                    pairs[n_pairs, 1] = y
                    pairs[n_pairs, 2] = chosen
                    n_pairs += 1
            calls[r, 2 * s] = chosen
            calls[r, 2 * s + 1] = chosen
        row += n_all
    return new_counts, new_lengths[:n_rows], new_data[:n_bytes]


@njit(cache=True)
def _with_room(lengths, data, rows, n_bytes):
    """``lengths`` and ``data``, grown to twice what ``rows`` rows and ``n_bytes`` need if short."""
    if rows > lengths.shape[0]:
        lengths = _grown(lengths, 2 * rows)
    if n_bytes > data.shape[0]:
        data = _grown(data, 2 * n_bytes)
    return lengths, data


@njit(cache=True)
def _grown(array, size):
    bigger = np.empty(size, array.dtype)
    bigger[: array.shape[0]] = array
    return bigger


@njit(cache=True)
def _grown2(array):
    bigger = np.empty((2 * array.shape[0], array.shape[1]), array.dtype)
    bigger[: array.shape[0]] = array
    return bigger


_CALL = re.compile(r"^(\d+|\.)/(\d+|\.)$")


def resolve_line(line: str) -> str:
    """A VCF line with each unphased diploid call replaced by what bcftools -H NpIu applies.

    For the rare lines rewritten as text before parsing (``vcf.symbolic`` splits a record
    per ALT, which would separate the alleles of one call): a new code is added as an ALT,
    each resolved call becomes ``k|k`` (``./.`` stays as it is).
    """
    fields = line.rstrip("\n").split("\t")
    if len(fields) < 10 or not fields[8].startswith("GT"):
        return line
    values = [sample.split(":", 1) for sample in fields[9:]]
    gts = [v[0] for v in values]
    ploidy = max(len(re.split(r"[|/]", gt)) for gt in gts)
    if ploidy != 2:
        return line
    alleles = [fields[3], *(a for a in fields[4].split(",") if a != ".")]
    texts = [a.encode() for a in alleles]
    data = np.frombuffer(b"".join(texts), np.uint8)
    lengths = np.array([len(t) for t in texts], np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    out = np.zeros(max(1, int(lengths.max())), np.uint8)
    for k, gt in enumerate(gts):
        call = _CALL.match(gt)
        if not call:
            continue
        called = sorted({int(a) for a in call.groups() if a != "."})
        if not called or called[-1] >= len(alleles):
            continue  # missing stays missing; a broken GT is left for the REF check to name
        chosen, n = iupac_choice(data, starts, lengths, called[0], called[-1], out)
        if chosen < 0:
            alleles.append(out[:n].tobytes().decode())
            chosen = len(alleles) - 1
        values[k][0] = f"{chosen}|{chosen}"
    fields[4] = ",".join(alleles[1:]) if len(alleles) > 1 else "."
    fields[9:] = [":".join(v) for v in values]
    return "\t".join(fields)
