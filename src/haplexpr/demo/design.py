"""The demo's design (what a user may vary), its fixed constants, and the records it builds.

Shared by the generator's modules: :class:`DemoDesign` and the numbers derived from it, the
:class:`Variant` and :class:`Gene` records, and :func:`motif_count`, the one definition of
a motif copy (+ strand, overlaps included).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from dataclasses import dataclass, field

import numpy as np

TSS_END_MARGIN = 10_000
BASES = "ACGT"

# Reference design the proportions below are taken from: 60 genes, 35 on contig 1 (700,037 bp)
# and 25 on contig 2 (500,011 bp); 40 individuals, 20 HG + 8 CEU-like + 12 YRI-like.
_CONTIG_TEMPLATE = (("1", 700_037, 35), ("2", 500_011, 25))
MAX_GENES = 200_000  # size of the gene-number pool


def _scaled(n: int, num: int, den: int) -> int:
    """``n * num / den`` rounded half up, in exact integer arithmetic."""
    return (2 * n * num + den) // (2 * den)


@functools.cache
def _has_border(motif: str) -> bool:
    """Whether a proper prefix of ``motif`` equals a suffix (copies could overlap)."""
    return any(motif[:k] == motif[-k:] for k in range(1, len(motif)))


@dataclass(frozen=True)
class DemoDesign:
    """What a user may vary in the demo dataset; the defaults give the committed data/demo.

    ``motif``: 6-12 ACGT bases, upper-cased. Copies are counted on the + strand (see the
    module docstring for what that means for - strand genes) as the number of positions where
    the motif starts, so overlapping copies of a self-overlapping motif (``AAAAAA``,
    ``GATAAG``) each count. ``effect``: log_TPM per motif copy of haplotype dosage (mean of
    the two haplotypes' counts); may be negative (a repressor) or 0 (no signal).
    ``noise_sd``: standard deviation of the Gaussian noise on log_TPM. ``n_genes`` (>= 4) and
    ``n_individuals`` (>= 4): sizes; the derived numbers (properties below) keep the reference
    design's proportions, rounded half up, so the defaults give exactly 35/25 genes per
    contig, 15 test genes, 36 individual-level genes, 8 genes without causal variants and 24
    training individuals.
    """

    seed: int = 20261125
    motif: str = "TGACGTCA"
    effect: float = 1.0
    noise_sd: float = 0.25
    n_genes: int = 60
    n_individuals: int = 40

    def __post_init__(self) -> None:
        """Normalise the motif and refuse designs the generator cannot honour."""
        motif = str(self.motif).upper()
        object.__setattr__(self, "motif", motif)
        object.__setattr__(self, "effect", float(self.effect))
        object.__setattr__(self, "noise_sd", float(self.noise_sd))
        if not (6 <= len(motif) <= 12) or set(motif) - set(BASES):
            raise ValueError(f"motif must be 6-12 bases of ACGT, got {self.motif!r}")
        for name in ("seed", "n_genes", "n_individuals"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"{name} must be an integer, got {value!r}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if not 4 <= self.n_genes <= MAX_GENES:
            raise ValueError(f"n_genes must be between 4 and {MAX_GENES}, got {self.n_genes}")
        if self.n_individuals < 4:
            raise ValueError(f"n_individuals must be >= 4, got {self.n_individuals}")
        if not math.isfinite(self.effect):
            raise ValueError(f"effect must be finite, got {self.effect}")
        if not (math.isfinite(self.noise_sd) and self.noise_sd >= 0):
            raise ValueError(f"noise_sd must be finite and >= 0, got {self.noise_sd}")

    @property
    def n_haplotypes(self) -> int:
        """Two haplotypes per individual."""
        return 2 * self.n_individuals

    @property
    def n_train_individuals(self) -> int:
        """60% of the individuals (24 of 40)."""
        return _scaled(self.n_individuals, 3, 5)

    @property
    def n_test_genes(self) -> int:
        """25% of the genes (15 of 60)."""
        return _scaled(self.n_genes, 1, 4)

    @property
    def n_individual_genes(self) -> int:
        """80% of the train genes (36 of 45): the genes for individual-level training."""
        return _scaled(self.n_genes - self.n_test_genes, 4, 5)

    @property
    def n_genes_without_causal(self) -> int:
        """8/60 of the genes (about 13%) get no causal variant."""
        return _scaled(self.n_genes, 2, 15)

    @property
    def contigs(self) -> tuple[tuple[str, int, int], ...]:
        """(name, length, number of genes) per contig.

        Genes are split 35:25 over contigs ``1`` and ``2``; each length keeps the reference
        design's TSS slot width (so the defaults are exactly 700,037 and 500,011 bp), and is
        bumped by one base if it would be a multiple of the 60-bp FASTA line.
        """
        n1 = _scaled(self.n_genes, 35, 60)
        out = []
        for (name, length, n_ref), n in zip(_CONTIG_TEMPLATE, (n1, self.n_genes - n1), strict=True):
            inner = length - 2 * TSS_END_MARGIN
            new = 2 * TSS_END_MARGIN + _scaled(n, inner, n_ref)
            out.append((name, new + 1 if new % 60 == 0 else new, n))
        return tuple(out)

    @property
    def id_counts(self) -> tuple[int, int, int]:
        """Numbers of HG, CEU-like and YRI-like individuals (20/8/12 of 40)."""
        hg = _scaled(self.n_individuals, 1, 2)
        ceu = _scaled(self.n_individuals, 1, 5)
        return hg, ceu, self.n_individuals - hg - ceu

    def is_default(self, ignore_seed: bool = False) -> bool:
        """Whether every field (but ``seed`` if ``ignore_seed``) has its default value."""
        default = DemoDesign()
        names = [f.name for f in dataclasses.fields(self) if not (ignore_seed and f.name == "seed")]
        return all(getattr(self, n) == getattr(default, n) for n in names)

    def describe(self) -> str:
        """``key=value`` text for the VCF ``##source`` header.

        Only ``seed=...`` when every other field is default (today's exact header), else all
        fields.
        """
        if self.is_default(ignore_seed=True):
            return f"seed={self.seed}"
        return ",".join(f"{k}={v}" for k, v in self.as_fields())

    def as_fields(self) -> list[tuple[str, str]]:
        """The fields as (name, text) pairs, in declaration order."""
        return [(f.name, f"{getattr(self, f.name)}") for f in dataclasses.fields(self)]


@dataclass
class Variant:
    """One bi-allelic record; ``haps`` holds 2 alleles per individual (hap1, hap2, ...)."""

    chrom: str
    pos: int  # 1-based VCF POS
    ref: str
    alt: str
    haps: np.ndarray = field(repr=False)
    vid: str = "."

    @property
    def end(self) -> int:
        """Last reference base (1-based, inclusive) covered by REF."""
        return self.pos + len(self.ref) - 1

    @property
    def label(self) -> str:
        """``chrom:pos:ref:alt`` as written to truth.tsv."""
        return f"{self.chrom}:{self.pos}:{self.ref}:{self.alt}"


@dataclass
class Gene:
    """One gene: its TSS (1-based), strand and planted cis signal."""

    gene_id: str
    chrom: str
    tss: int
    strand: str
    causal: list[Variant] = field(default_factory=list)
    n_motifs_ref: int = 0
    split: str = "train"


DEFAULT_DESIGN = DemoDesign()


def motif_count(seq: str, motif: str = DEFAULT_DESIGN.motif) -> int:
    """Count copies of ``motif`` on the + strand of ``seq`` (upper-cased), overlaps included.

    For a motif that cannot overlap itself (such as the default) this is ``str.count``.
    """
    seq = seq.upper()
    if not _has_border(motif):
        return seq.count(motif)
    return sum(1 for _ in re.finditer(f"(?={motif})", seq))
