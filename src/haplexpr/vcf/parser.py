"""VCF text lines to arrays in one compiled pass: positions, alleles and every GT.

cyvcf2 or pysam build an object per record and per sample; at 400 samples x 40,000
records that alone takes seconds. The records the fast engine needs are plain text in a
bgzipped, tabix-indexed file, so this parses the fetched lines directly: one pass for
POS/REF/ALT (kept as offsets into the text, never copied) and the GT subfield of every
sample, mapped to the allele each haplotype gets under ``bcftools consensus -H 1|2``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from haplexpr.haplotypes.kernel import MISSING, SKIP, VCF_SNP, variant_type

TAB = 9
NEWLINE = 10
COLON = 58

# Record flags returned by parse_records.
SYMBOLIC = 1  # an ALT is symbolic (<...>), a breakend ([ or ]) or *: dropped, counted
NOT_SNV = 2  # not bcftools' type='snp' (every ALT an SNV to htslib): dropped with "snvs"
MALFORMED_GT = 4  # a GT value the parser cannot read, or GT not first in FORMAT


@njit(cache=True)
def count_lines(text):
    """Number of newline-terminated lines."""
    n = 0
    for c in text:
        if c == NEWLINE:
            n += 1
    return n


@njit(cache=True)
def parse_records(text, n_lines, sample_column, n_selected):
    """Parse VCF data lines (each ending in a newline).

    ``sample_column[i]`` is the output sample slot of the file's i-th sample, or -1.
    Returns pos (0-based), allele pointer/start/length (into ``text``; allele 0 is REF),
    flags, and genotypes ``(n_lines, 2 * n_selected)``: allele index, ``MISSING`` or
    ``SKIP`` exactly as bcftools consensus -H reads them (a record's ploidy is the largest
    of all its samples, as htslib sees it).
    """
    pos = np.zeros(n_lines, np.int64)
    flags = np.zeros(n_lines, np.int64)
    allele_ptr = np.zeros(n_lines + 1, np.int64)
    cap = 2 * n_lines + 8
    allele_start = np.empty(cap, np.int64)
    allele_len = np.empty(cap, np.int64)
    genotypes = np.zeros((n_lines, 2 * n_selected), np.int16)
    first = np.empty(n_selected, np.int16)
    second = np.empty(n_selected, np.int16)
    n_alleles = 0
    i = 0
    for line in range(n_lines):
        # CHROM
        while text[i] != TAB:
            i += 1
        i += 1
        # POS
        value = 0
        while text[i] != TAB:
            value = value * 10 + (text[i] - 48)
            i += 1
        pos[line] = value - 1
        i += 1
        # ID
        while text[i] != TAB:
            i += 1
        i += 1
        # REF
        start = i
        while text[i] != TAB:
            i += 1
        if n_alleles + 2 > allele_start.shape[0]:
            allele_start = _grow(allele_start)
            allele_len = _grow(allele_len)
        allele_start[n_alleles] = start
        allele_len[n_alleles] = i - start
        n_alleles += 1
        i += 1
        # ALT (comma-separated; "." = none)
        start = i
        while True:
            c = text[i]
            if c == 44 or c == TAB:  # ','
                length = i - start
                if not (length == 1 and text[start] == 46):  # "."
                    if n_alleles + 2 > allele_start.shape[0]:
                        allele_start = _grow(allele_start)
                        allele_len = _grow(allele_len)
                    allele_start[n_alleles] = start
                    allele_len[n_alleles] = length
                    n_alleles += 1
                    first_base = text[start]
                    if first_base == 60 or first_base == 42 or first_base == 91:  # < * [
                        flags[line] |= SYMBOLIC
                    for k in range(start, i):
                        if text[k] == 91 or text[k] == 93:
                            flags[line] |= SYMBOLIC
                start = i + 1
                if c == TAB:
                    break
            i += 1
        allele_ptr[line + 1] = n_alleles
        ref_start = allele_start[allele_ptr[line]]
        ref = text[ref_start : ref_start + allele_len[allele_ptr[line]]]
        kinds = 0
        for a in range(allele_ptr[line] + 1, n_alleles):
            kind, _ = variant_type(ref, text[allele_start[a] : allele_start[a] + allele_len[a]])
            kinds |= kind
        if kinds != VCF_SNP:
            flags[line] |= NOT_SNV
        i += 1
        # QUAL, FILTER, INFO
        for _ in range(3):
            while text[i] != TAB and text[i] != NEWLINE:
                i += 1
            if text[i] == NEWLINE:
                break
            i += 1
        if text[i - 1] == NEWLINE or text[i] == NEWLINE:
            # no FORMAT/samples: nothing to apply (bcftools skips records without GT)
            genotypes[line, :] = SKIP
            while text[i] != NEWLINE:
                i += 1
            i += 1
            continue
        # FORMAT: GT must be the first key
        gt_key = text[i] == 71 and text[i + 1] == 84  # "GT"
        has_gt = gt_key and (text[i + 2] == COLON or text[i + 2] == TAB)
        while text[i] != TAB and text[i] != NEWLINE:
            # a GT key later in FORMAT breaks the VCF rule that GT comes first
            if text[i] == COLON and text[i + 1] == 71 and text[i + 2] == 84:
                if text[i + 3] == COLON or text[i + 3] == TAB or text[i + 3] == NEWLINE:
                    flags[line] |= MALFORMED_GT
            i += 1
        if not has_gt or text[i] == NEWLINE:
            genotypes[line, :] = SKIP
            while text[i] != NEWLINE:
                i += 1
            i += 1
            continue
        i += 1
        # samples
        ploidy = 0
        column = 0
        first[:] = MISSING
        second[:] = -2  # vector end until seen
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
                    flags[line] |= MALFORMED_GT
                    allele = -1
                    i += 1
                if out >= 0:
                    if n_here == 0:
                        first[out] = allele
                    elif n_here == 1:
                        second[out] = allele
                n_here += 1
                c = text[i]
                if c == 124 or c == 47:  # | /
                    i += 1
                    continue
                break
            ploidy = max(ploidy, n_here)
            # skip the rest of this sample's subfields
            while text[i] != TAB and text[i] != NEWLINE:
                i += 1
            column += 1
            if text[i] == NEWLINE:
                i += 1
                break
            i += 1
        for s in range(n_selected):
            a = first[s]
            genotypes[line, 2 * s] = MISSING if a < 0 else a
            if ploidy < 2:  # haplotype 2 of a haploid record: missing if the call is
                genotypes[line, 2 * s + 1] = MISSING if a < 0 else SKIP
            else:
                b = second[s]
                genotypes[line, 2 * s + 1] = MISSING if b < 0 else b
    return pos, allele_ptr, allele_start[:n_alleles], allele_len[:n_alleles], flags, genotypes


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
