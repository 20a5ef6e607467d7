"""Edited windows: the reference window with a chosen set of variants applied.

Scoring a variant means predicting windows the store does not hold (the reference with
one ALT, a haplotype with one ALT reverted), so they are built here from the reference
window and the variants, and cut to the model's input exactly as the store's are:
:func:`~haplexpr.sequence_encoding.centered_window` around where the TSS lands after
indels, then :func:`~haplexpr.sequence_encoding.orient`. The TSS rule is the consensus
engines' (``sequences.buffer.length_and_tss``): an indel before the TSS shifts it, one
that replaces it keeps the TSS at the same offset into the new bases (clipped to them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from haplexpr.effects.variants import Variant
from haplexpr.sequence_encoding import centered_window, orient
from haplexpr.sequences.store import HaplotypeStore


@dataclass(frozen=True)
class GeneWindowSequence:
    """A gene's reference window (+ strand) with its place on the genome and its TSS."""

    gene: str
    chrom: str
    start: int  # 0-based genome position of the window's first base
    strand: str
    tss_offset: int  # 0-based offset of the TSS in the window
    bases: str

    @classmethod
    def from_store(cls, store: HaplotypeStore, gene: str) -> GeneWindowSequence:
        """The gene's reference window as the store holds it."""
        row = store.reference.windows.loc[(gene, 1)]
        return cls(
            gene,
            str(row["chrom"]),
            int(row["start"]),
            str(row["strand"]),
            int(row["tss_offset"]),
            store.reference.sequence(gene, 1),
        )

    @property
    def end(self) -> int:
        """0-based genome end (exclusive) of the window."""
        return self.start + len(self.bases)

    def crop(self, length: int) -> tuple[int, int]:
        """Genome interval ``[start, end)`` of the reference's ``length``-base model input."""
        first = self.start + self.tss_offset - length // 2
        return first, first + length

    def edited(self, variants: Iterable[Variant]) -> tuple[str, int, int]:
        """The window with ``variants`` applied: (bases, TSS offset, variants skipped).

        Variants are applied in position order; one that overlaps bases an earlier one
        replaced, or reaches outside the window, is skipped (bcftools consensus skips
        overlapping records too) and counted.
        """
        pieces, cursor, tss, shift, skipped = [], 0, self.tss_offset, 0, 0
        tss_placed = False
        for variant in sorted(variants):
            start, end = variant.start - self.start, variant.end - self.start
            if start < cursor or end > len(self.bases):
                skipped += 1
                continue
            if self.bases[start:end].upper() != variant.ref.upper():
                raise ValueError(
                    f"{variant.key}: REF differs from the reference window of {self.gene}; "
                    "score effects on the normalised VCF the store was built from"
                )
            ref, alt, start = _trim_common_prefix(variant.ref, variant.alt, start)
            pieces += [self.bases[cursor:start], alt]
            if not tss_placed and self.tss_offset < start + len(ref):
                tss_placed = True
                if self.tss_offset >= start:  # the TSS base is among the replaced ones
                    tss = start + shift + min(self.tss_offset - start, len(alt))
                else:
                    tss = self.tss_offset + shift
            shift += len(alt) - len(ref)
            cursor = start + len(ref)
        pieces.append(self.bases[cursor:])
        if not tss_placed:
            tss = self.tss_offset + shift
        return "".join(pieces), tss, skipped

    def model_input(self, variants: Iterable[Variant], length: int) -> tuple[str, int]:
        """The ``length``-base model input with ``variants`` applied, and the skipped count."""
        bases, tss, skipped = self.edited(variants)
        return orient(centered_window(bases, tss, length), self.strand), skipped


def _trim_common_prefix(ref: str, alt: str, start: int) -> tuple[str, str, int]:
    """Drop the bases REF and ALT share at the left (a normalised indel's padding base)."""
    shared = 0
    while shared < min(len(ref), len(alt)) and ref[shared].upper() == alt[shared].upper():
        shared += 1
    return ref[shared:], alt[shared:], start + shared
