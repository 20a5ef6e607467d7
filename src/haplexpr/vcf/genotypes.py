"""A region's records and some samples' alleles as arrays, for the genotype-based analyses.

The elastic-net baseline reads every record within a megabase of each TSS, the effect
checks the records of a model's input window; at 1000-Genomes density a 2-Mb window holds
tens of thousands of records. cyvcf2 gives each record's genotypes as one integer array,
so nothing is built per sample (pysam's per-sample objects took seconds per gene).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import cyvcf2
import numpy as np

#: Allele index of a missing allele, and of the absent second allele of a haploid call.
NO_ALLELE = -1


class AbsentSamplesError(ValueError):
    """Samples asked for that the VCF does not hold; the message names the file and them."""


class SampleGenotypes:
    """A VCF opened for ``samples``: each region's records, the samples' two alleles each.

    Use as a context manager (or call :meth:`close`).
    """

    def __init__(self, path: str | Path, samples: list[str]):
        self.path, self.samples = str(path), list(samples)
        with warnings.catch_warnings():  # an absent sample gets the error below instead
            warnings.filterwarnings("ignore", "not all requested samples", UserWarning)
            self.vcf = cyvcf2.VCF(self.path, samples=self.samples or None, lazy=True)
        held = set(self.vcf.samples)
        absent = [s for s in self.samples if s not in held]
        if absent:
            self.vcf.close()
            raise AbsentSamplesError(
                f"{path}: sample(s) {', '.join(absent[:5])} not in the VCF"
                + (f" (and {len(absent) - 5} more)" if len(absent) > 5 else "")
            )
        column = {sample: i for i, sample in enumerate(self.vcf.samples)}
        self._order = np.array([column[s] for s in self.samples], dtype=np.intp)

    def region(self, chrom: str, start: int, end: int) -> tuple[list, np.ndarray]:
        """Records overlapping ``[start, end)`` (0-based; clipped at 0) and their alleles.

        Alleles: ``(records, samples, 2)`` allele indices (0 REF, k the k-th ALT,
        :data:`NO_ALLELE` missing or absent), samples in the order asked for.
        """
        with warnings.catch_warnings():  # a contig without records is no news here
            warnings.filterwarnings("ignore", "no intervals found", UserWarning)
            records = list(self.vcf(f"{chrom}:{max(start, 0) + 1}-{end}"))
        alleles = np.full((len(records), len(self.samples), 2), NO_ALLELE, dtype=np.int32)
        if self.samples:
            for row, record in enumerate(records):
                called = record.genotype.array()[self._order, :-1]  # last column: phasing
                width = min(called.shape[1], 2)
                alleles[row, :, :width] = called[:, :width]
        alleles[alleles < 0] = NO_ALLELE  # cyvcf2 marks a haploid call's absent allele -2
        return records, alleles

    def close(self) -> None:
        """Close the VCF."""
        self.vcf.close()

    def __enter__(self) -> SampleGenotypes:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
