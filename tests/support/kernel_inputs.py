"""The kernel's inputs (``sequences.kernel.Records`` and ``Calls``) from short Python lists, and
the kernel run on the hand tests' 10-base window (reference 100..109, ``ACGTACGTAC``)."""

from __future__ import annotations

import numpy as np

from haplexpr.sequences.kernel import Calls, Records, apply_window
from haplexpr.sequences.materialise import materialise


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


WINDOW = np.frombuffer(b"ACGTACGTAC", np.uint8)
START = 100
TSS = 5  # reference 105, a C


def haplotypes(result) -> list[str]:
    """Every column's sequence, materialised from the window's edits."""
    edits = result.edits
    out = np.empty(64, np.uint8)
    sequences = []
    for col in range(len(edits.col_ptr) - 1):
        ids = edits.edit_ids[edits.col_ptr[col] : edits.col_ptr[col + 1]]
        table = (edits.edit_start, edits.edit_end, edits.edit_data_ptr, edits.edit_data_len)
        n = materialise(WINDOW, ids, *table, edits.edit_data, out)
        sequences.append(out[:n].tobytes().decode())
    return sequences


def applied(records, columns, missing_n=False):
    """The kernel run on ``WINDOW`` for ``records``, each column calling its (record, allele)s."""
    return apply_window(
        WINDOW, START, TSS, 0, len(records.pos), records, calls_of(columns), missing_n
    )
