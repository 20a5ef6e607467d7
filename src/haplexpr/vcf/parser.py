"""VCF text lines to arrays in one compiled pass: positions, alleles and every GT.

cyvcf2 or pysam build an object per record and per sample; at 400 samples x 40,000
records that alone takes seconds. The records the fast engine needs are plain text in a
bgzipped, tabix-indexed file, so this parses the fetched lines directly: one pass for
POS/REF/ALT (kept as offsets into the text, never copied) and the GT subfield of every
sample, mapped to the allele each haplotype gets under ``bcftools consensus -H 1|2``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from haplexpr.vcf.alleles import MISSING, SKIP, VCF_SNP, variant_type

# numba's disk cache checks only this file: touch it after editing vcf/alleles.py.

TAB = 9
NEWLINE = 10
COLON = 58

# Record flags returned by parse_records. Symbolic ALTs are rewritten before parsing
# (``vcf.symbolic``); ``*`` and breakends are applied as text, as bcftools applies them.
NOT_SNV = 2  # not bcftools' type='snp' (every ALT an SNV to htslib): dropped with "snvs"
MALFORMED_GT = 4  # a GT value the parser cannot read, or GT not first in FORMAT
POLYPLOID = 8  # some sample's GT has more than two alleles


class ParsedRecords(NamedTuple):
    """``parse_records``' arrays, a row per line (allele rows: REF, then each ALT)."""

    pos: np.ndarray  # 0-based
    allele_ptr: np.ndarray  # line r's alleles are rows allele_ptr[r]:allele_ptr[r + 1]
    allele_start: np.ndarray  # into the text
    allele_len: np.ndarray
    flags: np.ndarray
    genotypes: np.ndarray  # (lines, 2 * selected samples)
    # (lines, selected samples): bcftools -H 1pIu/2pIu reads the call as unphased (IUPAC):
    # as many alleles as the record's ploidy (>= 2), the last one after a "/"
    unphased: np.ndarray


@njit(cache=True)
def parse_records(text, n_lines, sample_column, n_selected):
    """Parse VCF data lines (each ending in a newline) into ``ParsedRecords``.

    ``sample_column[i]`` is the output sample slot of the file's i-th sample, or -1.
    Alleles are kept as offsets into ``text``; genotypes are allele indices, ``MISSING``
    or ``SKIP`` exactly as bcftools consensus -H reads them (a record's ploidy is the
    largest of all its samples, as htslib sees it).
    """
    pos = np.zeros(n_lines, np.int64)
    flags = np.zeros(n_lines, np.int64)
    allele_ptr = np.zeros(n_lines + 1, np.int64)
    cap = 2 * n_lines + 8
    allele_start = np.empty(cap, np.int64)
    allele_len = np.empty(cap, np.int64)
    genotypes = np.zeros((n_lines, 2 * n_selected), np.int16)
    unphased = np.zeros((n_lines, n_selected), np.bool_)
    first = np.empty(n_selected, np.int16)
    second = np.empty(n_selected, np.int16)
    count = np.empty(n_selected, np.int16)
    slash = np.empty(n_selected, np.bool_)
    n_alleles = 0
    i = 0
    for line in range(n_lines):
        i = _skip_field(text, i)  # CHROM
        pos[line], i = _parse_pos(text, i)
        i = _skip_field(text, i)  # ID
        i, allele_start, allele_len, n_alleles = _parse_alleles(
            text, i, allele_start, allele_len, n_alleles
        )
        allele_ptr[line + 1] = n_alleles
        types = _variant_types(text, allele_start, allele_len, allele_ptr[line], n_alleles)
        if types != VCF_SNP:
            flags[line] |= NOT_SNV
        i, has_gt, late_gt = _to_samples(text, i)
        if late_gt:
            flags[line] |= MALFORMED_GT
        if not has_gt:
            genotypes[line, :] = SKIP  # nothing to apply (bcftools skips records without GT)
            continue
        i, ploidy, malformed = _parse_samples(text, i, sample_column, first, second, count, slash)
        if malformed:
            flags[line] |= MALFORMED_GT
        if ploidy > 2:
            flags[line] |= POLYPLOID
        _haplotype_alleles(genotypes[line], first, second, ploidy)
        # htslib phases a haploid call, and pads shorter calls with a "phased" vector end
        unphased[line] = (ploidy >= 2) & (count == ploidy) & slash
    return ParsedRecords(
        pos,
        allele_ptr,
        allele_start[:n_alleles],
        allele_len[:n_alleles],
        flags,
        genotypes,
        unphased,
    )


@njit(cache=True, inline="always")
def _skip_field(text, i):
    """The offset after the tab ending the field at ``i``."""
    while text[i] != TAB:
        i += 1
    return i + 1


@njit(cache=True, inline="always")
def _parse_pos(text, i):
    """POS at ``i``: (its 0-based value, the offset after its tab)."""
    value = 0
    while text[i] != TAB:
        value = value * 10 + (text[i] - 48)
        i += 1
    return value - 1, i + 1


@njit(cache=True, inline="always")
def _add_allele(starts, lengths, n, start, length):
    """Append an allele row (growing the arrays); returns them and the rows used."""
    if n + 2 > starts.shape[0]:
        starts = _grow(starts)
        lengths = _grow(lengths)
    starts[n] = start
    lengths[n] = length
    return starts, lengths, n + 1


@njit(cache=True, inline="always")
def _parse_alleles(text, i, starts, lengths, n):
    """REF and ALT (comma-separated; "." = none) at ``i``, appended as allele rows.

    Returns (offset after ALT's tab, starts, lengths, rows used).
    """
    start = i
    while text[i] != TAB:
        i += 1
    starts, lengths, n = _add_allele(starts, lengths, n, start, i - start)
    i += 1
    start = i
    while True:
        c = text[i]
        if c == 44 or c == TAB:  # ','
            length = i - start
            if not (length == 1 and text[start] == 46):  # "."
                starts, lengths, n = _add_allele(starts, lengths, n, start, length)
            start = i + 1
            if c == TAB:
                break
        i += 1
    return i + 1, starts, lengths, n


@njit(cache=True, inline="always")
def _variant_types(text, starts, lengths, ref_row, end_row):
    """The type bits htslib gives the ALTs (rows after ``ref_row``), ORed."""
    ref = text[starts[ref_row] : starts[ref_row] + lengths[ref_row]]
    kinds = 0
    for a in range(ref_row + 1, end_row):
        kind, _ = variant_type(ref, text[starts[a] : starts[a] + lengths[a]])
        kinds |= kind
    return kinds


@njit(cache=True, inline="always")
def _to_samples(text, i):
    """Skip QUAL, FILTER and INFO and read FORMAT, from ``i``.

    Returns (offset, whether there are samples with GT as FORMAT's first key, whether a
    GT key comes later in FORMAT). With no samples to read, the offset is the next line's.
    """
    for _ in range(3):
        while text[i] != TAB and text[i] != NEWLINE:
            i += 1
        if text[i] == NEWLINE:
            break
        i += 1
    late_gt = False
    if not (text[i - 1] == NEWLINE or text[i] == NEWLINE):
        gt_key = text[i] == 71 and text[i + 1] == 84  # "GT"
        has_gt = gt_key and (text[i + 2] == COLON or text[i + 2] == TAB)
        while text[i] != TAB and text[i] != NEWLINE:
            # a GT key later in FORMAT breaks the VCF rule that GT comes first
            if text[i] == COLON and text[i + 1] == 71 and text[i + 2] == 84:
                if text[i + 3] == COLON or text[i + 3] == TAB or text[i + 3] == NEWLINE:
                    late_gt = True
            i += 1
        if has_gt and text[i] != NEWLINE:
            return i + 1, True, late_gt
    while text[i] != NEWLINE:
        i += 1
    return i + 1, False, late_gt


@njit(cache=True, inline="always")
def _parse_samples(text, i, sample_column, first, second, count, slash):
    """Every sample's GT, from ``i`` to the line's end, into ``first``/``second`` by slot.

    ``count``: each slot's number of alleles; ``slash``: whether its last one follows "/".
    Returns (the next line's offset, the ploidy: most alleles of any sample, whether a
    GT value was unreadable).
    """
    ploidy = 0
    column = 0
    separator = 0
    malformed = False
    first[:] = MISSING
    second[:] = -2  # vector end until seen
    count[:] = 0
    slash[:] = False
    while True:
        n_here = 0
        out = sample_column[column] if column < sample_column.shape[0] else -1
        while True:
            c = text[i]
            if c == 46:  # "."
                allele = -1
                i += 1
            elif 48 <= c <= 57:
                allele = 0
                while 48 <= text[i] <= 57:
                    allele = allele * 10 + (text[i] - 48)
                    i += 1
            else:
                malformed = True
                allele = -1
                i += 1
            if out >= 0:
                if n_here == 0:
                    first[out] = allele
                elif n_here == 1:
                    second[out] = allele
            n_here += 1
            if out >= 0:
                count[out] = n_here
                slash[out] = n_here > 1 and text[separator] == 47
            c = text[i]
            if c == 124 or c == 47:  # | /
                separator = i
                i += 1
                continue
            break
        ploidy = max(ploidy, n_here)
        # skip the rest of this sample's subfields
        while text[i] != TAB and text[i] != NEWLINE:
            i += 1
        column += 1
        if text[i] == NEWLINE:
            return i + 1, ploidy, malformed
        i += 1


@njit(cache=True, inline="always")
def _haplotype_alleles(row, first, second, ploidy):
    """Each selected sample's two haplotype alleles into ``row``, as bcftools -H reads them."""
    for s in range(first.shape[0]):
        a = first[s]
        row[2 * s] = MISSING if a < 0 else a
        if ploidy < 2:  # haplotype 2 of a haploid record: missing if the call is
            row[2 * s + 1] = MISSING if a < 0 else SKIP
        else:
            b = second[s]
            row[2 * s + 1] = MISSING if b < 0 else b


@njit(cache=True)
def _grow(array):
    grown = np.empty(2 * array.shape[0], array.dtype)
    grown[: array.shape[0]] = array
    return grown


@njit(cache=True)
def gather_alleles(text, starts, lengths):
    """Copy the allele strings out of the text: (bytes, their new starts)."""
    out = np.empty(lengths.sum(), np.uint8)
    new_starts = np.empty(starts.shape[0], np.int64)
    n = 0
    for k in range(starts.shape[0]):
        new_starts[k] = n
        out[n : n + lengths[k]] = text[starts[k] : starts[k] + lengths[k]]
        n += lengths[k]
    return out, new_starts


@njit(cache=True)
def group_by_column(column, record, allele, n_columns):
    """Counting sort of calls by column, keeping record order: (col_ptr, records, alleles)."""
    col_ptr = np.zeros(n_columns + 1, np.int64)
    for c in column:
        col_ptr[c + 1] += 1
    for c in range(n_columns):
        col_ptr[c + 1] += col_ptr[c]
    fill = col_ptr[:-1].copy()
    records = np.empty(column.shape[0], np.int64)
    alleles = np.empty(column.shape[0], np.int16)
    for k in range(column.shape[0]):
        c = column[k]
        records[fill[c]] = record[k]
        alleles[fill[c]] = allele[k]
        fill[c] += 1
    return col_ptr, records, alleles
