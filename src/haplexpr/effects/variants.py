"""A gene window's variants from the normalised VCF, and which haplotype carries which.

Effects are scored per VCF record (one ALT each: the normalised VCF is split with
``bcftools norm -m -both``), so a variant here is what a user finds in their VCF:
chromosome, 1-based position, REF, ALT and ID. Haplotype ``h`` of a sample carries a
variant when allele ``h`` of its GT is the ALT (``bcftools consensus -H h``); a missing
allele counts as REF, as the pipeline's default ``consensus.missing: reference`` reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import cyvcf2
import numpy as np

from haplexpr.vcf.genotypes import AbsentSamplesError, SampleGenotypes

_BASES = re.compile(r"^[ACGTNacgtn]+$")


class VariantError(ValueError):
    """A VCF record effects cannot be scored for; the message names file, record and fix."""


@dataclass(frozen=True, order=True)
class Variant:
    """One biallelic VCF record: ``pos`` is 1-based, as in the VCF."""

    chrom: str
    pos: int
    ref: str
    alt: str
    id: str = "."

    @property
    def start(self) -> int:
        """0-based first reference base the variant replaces."""
        return self.pos - 1

    @property
    def end(self) -> int:
        """0-based end (exclusive) of the replaced reference bases."""
        return self.pos - 1 + len(self.ref)

    @property
    def key(self) -> str:
        """``chrom:pos:ref:alt``, as the demo's ``truth.tsv`` names causal variants."""
        return f"{self.chrom}:{self.pos}:{self.ref}:{self.alt}"


@dataclass(frozen=True)
class WindowVariants:
    """A window's variants (sorted by position) and who carries them.

    ``carried[c, v]`` is True when haplotype column ``c = 2 * sample + h - 1`` has the ALT
    of variant ``v``.
    """

    variants: list[Variant]
    samples: list[str]
    carried: np.ndarray

    def carried_by(self, sample: str, haplotype: int) -> list[int]:
        """Variant numbers carried by one haplotype (1 or 2) of a sample, in order."""
        column = 2 * self.samples.index(sample) + haplotype - 1
        return np.flatnonzero(self.carried[column]).tolist()

    def dosages(self, samples: list[str]) -> np.ndarray:
        """ALT dosages (samples x variants), 0-2."""
        rows = [self.samples.index(s) for s in samples]
        pairs = self.carried.reshape(len(self.samples), 2, -1)
        return pairs[rows].sum(axis=1).astype(np.float64)

    def subset(self, numbers: list[int]) -> WindowVariants:
        """Only variants ``numbers`` (kept in position order)."""
        numbers = sorted(numbers)
        return WindowVariants(
            [self.variants[i] for i in numbers], self.samples, self.carried[:, numbers]
        )


def read_window_variants(
    vcf_path: str | Path, chrom: str, start: int, end: int, samples: list[str]
) -> WindowVariants:
    """Records overlapping ``[start, end)`` (0-based) and the samples' haplotypes' ALTs."""
    try:
        with SampleGenotypes(vcf_path, samples) as genotypes:
            records, alleles = genotypes.region(chrom, start, end)
    except AbsentSamplesError as error:
        raise VariantError(f"{error}; score effects only for individuals the VCF holds") from None
    variants = [_variant(vcf_path, record) for record in records]
    # rows: haplotype 1 and 2 of the first sample, then of the next, ...
    carried = (alleles > 0).reshape(len(records), 2 * len(samples)).T
    return WindowVariants(variants, list(samples), carried)


def _variant(vcf_path, record: cyvcf2.Variant) -> Variant:
    """The record as a ``Variant``, or a ``VariantError`` saying how to fix the VCF."""
    where = f"{vcf_path}: record {record.CHROM}:{record.POS}"
    alts = record.ALT
    if len(alts) != 1:
        raise VariantError(
            f"{where} has {len(alts)} ALT alleles; effects need the normalised VCF "
            "(bcftools norm -m -both, as the pipeline's results/vcf/*.norm.vcf.gz are)"
        )
    if not _BASES.match(record.REF) or not _BASES.match(alts[0]):
        raise VariantError(
            f"{where} has REF {record.REF!r} / ALT {alts[0]!r}, not bases; effects need the "
            "normalised VCF, from which symbolic and * alleles are dropped"
        )
    return Variant(record.CHROM, record.POS, record.REF, alts[0], record.ID or ".")
