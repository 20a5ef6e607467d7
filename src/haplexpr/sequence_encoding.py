"""DNA string helpers shared by every model: one-hot, reverse complement, TSS windows.

Every model in haplexpr sees a window cut by :func:`centered_window` and oriented by
:func:`orient`, so S2F models and gLMs agree base-for-base on what "the window around
the TSS" is. Keep the cropping rule here and nowhere else.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["acgt_or", "centered_window", "one_hot", "orient", "reverse_complement"]


def _one_hot_table() -> np.ndarray:
    """Build the byte → row lookup once; bytes that are not A/C/G/T map to all zeros."""
    table = np.zeros((256, 4), dtype=np.float32)
    for column, base in enumerate("ACGT"):
        table[ord(base), column] = 1.0
        table[ord(base.lower()), column] = 1.0
    table.setflags(write=False)
    return table


_ONE_HOT = _one_hot_table()

# IUPAC complements (upper and lower case kept); N, gaps and anything unknown map to themselves.
_COMPLEMENT = str.maketrans(
    "ACGTRYKMBVDHSWNacgtrykmbvdhswn",
    "TGCAYRMKVBHDSWNtgcayrmkvbhdswn",
)


def one_hot(seq: str) -> np.ndarray:
    """One-hot encode ``seq`` as an ``(L, 4)`` float32 array with columns A, C, G, T.

    Case-insensitive (soft-masked reference bases count as bases); N, IUPAC ambiguity
    codes and any other byte become an all-zero row, which is what Enformer and Borzoi
    were trained with for unknown bases. Vectorised through a 256-entry lookup table.
    """
    codes = np.frombuffer(seq.encode("ascii"), dtype=np.uint8)
    return _ONE_HOT[codes]


def reverse_complement(seq: str) -> str:
    """Return the reverse complement, keeping case and complementing IUPAC codes."""
    return seq.translate(_COMPLEMENT)[::-1]


def centered_window(seq: str, center: int, length: int) -> str:
    """Cut ``seq[center - length // 2 : center - length // 2 + length]``, N-padded off either end.

    This is the one cropping rule for windows around a TSS: ``center`` is a 0-based index
    into ``seq`` and always lands at index ``length // 2`` of the result (for even
    ``length`` the window is ``[center - length/2, center + length/2)``, as in the seed).
    Positions before the start or past the end of ``seq`` become ``'N'`` so every window
    has exactly ``length`` bases.
    """
    if length < 0:
        raise ValueError(f"length must be non-negative, got {length}")
    start = center - length // 2
    end = start + length
    lo, hi = max(start, 0), min(end, len(seq))
    if hi <= lo:  # the window lies wholly off one end
        return "N" * length
    return "N" * (lo - start) + seq[lo:hi] + "N" * (end - hi)


def orient(seq: str, strand: str) -> str:
    """Orient a + strand window to the gene's strand (reverse-complement for ``'-'``).

    Crop first on the + strand with :func:`centered_window`, then orient. For a minus-strand
    gene the TSS base sits at index ``length // 2`` before the reverse complement and at
    index ``length - 1 - length // 2`` after it: ``length/2 - 1`` for even lengths (one base
    left of the midpoint), ``length // 2`` for odd lengths. Models see the gene's
    transcription direction left to right either way.
    """
    if strand == "+":
        return seq
    if strand == "-":
        return reverse_complement(seq)
    raise ValueError(f"strand must be '+' or '-', got {strand!r}")


_UPPER_ACGT = str.maketrans("acgt", "ACGT")
_NOT_ACGT = re.compile(r"[^ACGT]")


def acgt_or(seq: str, other: str) -> str:
    """``seq`` with a, c, g, t upper-cased and every other character replaced by ``other``.

    How the gLM tokenizers read a base that is not A, C, G or T: ``"N"`` makes it N,
    ``""`` deletes it (the seed's NT input).
    """
    return _NOT_ACGT.sub(other, seq.translate(_UPPER_ACGT))
