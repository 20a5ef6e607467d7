"""The kernel's inputs (``sequences.kernel.Records`` and ``Calls``) from short Python lists."""

from __future__ import annotations

import numpy as np

from haplexpr.sequences.kernel import Calls, Records


def records_of(records: list[tuple[int, list[str]]], blocks: tuple[int, ...] = ()) -> Records:
    """``Records`` of (0-based position, [REF, ALT...]); ``blocks``: the -M N block lines."""
    alleles = [a.encode() for _, row in records for a in row]
    lengths = np.array([len(a) for a in alleles], np.int64)
    starts = np.zeros(len(alleles), np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    pos = np.array([p for p, _ in records], np.int64)
    ref_len = np.array([len(row[0]) for _, row in records], np.int64)
    ptr = np.zeros(len(records) + 1, np.int64)
    np.cumsum([len(row) for _, row in records], out=ptr[1:])
    data = np.frombuffer(b"".join(alleles), np.uint8).copy()
    missing_block = np.array([r in blocks for r in range(len(records))], np.bool_)
    return Records(pos, pos + ref_len, ptr, starts, lengths, data, missing_block)


def calls_of(columns: list[list[tuple[int, int]]]) -> Calls:
    """``Calls`` of each column's (record, allele) pairs, records in order."""
    ptr = np.zeros(len(columns) + 1, np.int64)
    np.cumsum([len(c) for c in columns], out=ptr[1:])
    rec = np.array([r for c in columns for r, _ in c], np.int64)
    allele = np.array([a for c in columns for _, a in c], np.int16)
    return Calls(ptr, rec, allele)
