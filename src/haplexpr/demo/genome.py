"""The synthetic genome: random bases, masks, background variants, and their FASTA and VCF.

One generator for the demo dataset and the personal-sequence benchmark's workload
(``benchmarks/personal_sequences``): the demo calls it with :data:`DEMO_VARIANTS` and its
genes' TSSs kept clear, so only the planted causal SNVs (:mod:`haplexpr.demo.genes`) change a
gene's motif count; the benchmark with 1000-Genomes-like settings (:class:`NeutralSpectrum`,
longer indels) and nothing kept clear. Files are written by :mod:`haplexpr.demo.fasta_vcf`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from haplexpr.demo.design import BASES, DemoDesign, Variant
from haplexpr.demo.fasta_vcf import (
    PHASED_GT,
    contig_lines,
    phased_lines,
    vcf_header,
    write_fasta,
    write_vcf,
)

BACKGROUND_EXCLUSION = 400  # no background variant touches [TSS - 400, TSS + 400]
MASK_MIN_DISTANCE = 3_000  # lowercase and N stay at least this far from every TSS
VARIANT_SPACING = 250  # about one background variant per 250 bp
INDEL_FRACTION = 0.12
INDEL_LENGTH_WEIGHTS = (0.35, 0.18, 0.12, 0.09, 0.07, 0.06, 0.04, 0.04, 0.03, 0.02)  # 1-10 bp
MAX_INDEL = 20  # longest indel a VariantModel may draw (candidates stop this far from the end)
BASE_PROBS = np.array([0.295, 0.205, 0.205, 0.295])  # A C G T: 41% GC
TRANSITION = {"A": "G", "G": "A", "C": "T", "T": "C"}


def random_bases(rng: np.random.Generator, length: int) -> np.ndarray:
    """Draw an upper-case ASCII sequence with ~41% GC."""
    codes = np.frombuffer(BASES.encode(), dtype=np.uint8)
    return codes[rng.choice(4, size=length, p=BASE_PROBS)]


class Runs(NamedTuple):
    """How many masked stretches to place and their length range (``high`` excluded)."""

    count: int
    low: int
    high: int


def scatter_masks(
    rng: np.random.Generator,
    seq: np.ndarray,
    lower: Runs,
    n_runs: Runs,
    keep_clear: np.ndarray,
    distance: int = MASK_MIN_DISTANCE,
) -> None:
    """Soft-mask ``lower`` stretches and set ``n_runs`` stretches to N.

    Each stays ``distance`` bp from every 0-based position in ``keep_clear``; lengths and
    places are drawn in that order (the demo's files depend on it).
    """

    def random_interval(length: int) -> tuple[int, int]:
        while True:
            a = int(rng.integers(100, len(seq) - length - 100))
            if far_from(keep_clear, a, a + length, distance):
                return a, a + length

    lowered = [
        random_interval(int(rng.integers(lower.low, lower.high))) for _ in range(lower.count)
    ]
    gaps = [
        random_interval(int(rng.integers(n_runs.low, n_runs.high))) for _ in range(n_runs.count)
    ]
    for a, b in lowered:
        soft_mask(seq, a, b)
    for a, b in gaps:
        seq[a:b] = ord("N")


def far_from(positions: np.ndarray, a: int, b: int, distance: int) -> bool:
    """Whether [a, b) stays ``distance`` bp clear of every one of ``positions``."""
    return bool(np.all((positions < a - distance) | (positions >= b + distance)))


def soft_mask(seq: np.ndarray, a: int, b: int) -> None:
    """Lower-case ``seq[a:b]``, leaving N as N."""
    seq[a:b] = np.where(seq[a:b] == ord("N"), seq[a:b], seq[a:b] | 0x20)


def mask(rng: np.random.Generator, seq: np.ndarray, tss: list[int], name: str) -> None:
    """Add soft-masked stretches and N runs, >= 3 kb from every TSS.

    One stretch of each kind is put 3.1-3.9 kb from a TSS, inside that gene's 8,192-bp
    window, so the pipeline meets lowercase and N bases in real windows.
    """
    tss0 = np.array(tss) - 1
    scatter_masks(rng, seq, Runs(4 if name == "1" else 3, 200, 2500), Runs(1, 200, 500), tss0)
    g = int(rng.integers(len(tss0)))
    if name == "1":
        a, b = int(tss0[g]) + 3100, int(tss0[g]) + 3700
        assert far_from(tss0, a, b, MASK_MIN_DISTANCE)
        soft_mask(seq, a, b)
    else:
        a, b = int(tss0[g]) - 3900, int(tss0[g]) - 3600
        assert far_from(tss0, a, b, MASK_MIN_DISTANCE)
        seq[a:b] = ord("N")


def skewed_haplotypes(rng: np.random.Generator, n_haps: int) -> np.ndarray:
    """The demo's spectrum: a Beta(0.3, 1.5) frequency (mostly rare, some common).

    Never monomorphic in these haplotypes.
    """
    freq = float(np.clip(rng.beta(0.3, 1.5), 1 / n_haps, 0.95))
    haps = (rng.random(n_haps) < freq).astype(np.uint8)
    if haps.sum() == 0:
        haps[rng.integers(n_haps)] = 1
    elif haps.sum() == n_haps:
        haps[rng.integers(n_haps)] = 0
    return haps


@dataclass(frozen=True)
class NeutralSpectrum:
    """Allele counts from the neutral spectrum, P(k) ~ 1/k, of ``population`` haplotypes.

    2 x 2504 in 1000 Genomes; most variants are then rare or absent from a small sample.
    """

    population: int = 5008

    @functools.cached_property
    def cdf(self) -> np.ndarray:
        """P(count <= k) for k = 1 .. population - 1."""
        weights = 1.0 / np.arange(1, self.population)
        return np.cumsum(weights) / weights.sum()

    def __call__(self, rng: np.random.Generator, n_haps: int) -> np.ndarray:
        """One record's 0/1 alleles: a count from the spectrum, then each haplotype."""
        count = int(np.searchsorted(self.cdf, rng.random())) + 1
        return (rng.random(n_haps) < count / self.population).astype(np.uint8)


@dataclass(frozen=True)
class VariantModel:
    """How background variants are drawn: density, indel share and lengths, spectrum.

    ``indel_length_weights[i]``: relative weight of an indel of ``i + 1`` bp (at most
    MAX_INDEL); ``spectrum(rng, n_haps)``: the 0/1 alleles of one record's haplotypes;
    ``clearance``: no variant within this many bp of a keep-clear position (a TSS).
    """

    spacing: int = VARIANT_SPACING
    indel_fraction: float = INDEL_FRACTION
    indel_length_weights: tuple[float, ...] = INDEL_LENGTH_WEIGHTS
    spectrum: Callable[[np.random.Generator, int], np.ndarray] = skewed_haplotypes
    clearance: int = BACKGROUND_EXCLUSION

    def __post_init__(self) -> None:
        if not 1 <= len(self.indel_length_weights) <= MAX_INDEL:
            raise ValueError(f"indel lengths must be 1-{MAX_INDEL} bp")


DEMO_VARIANTS = VariantModel()


def background_variants(
    rng: np.random.Generator,
    seq: np.ndarray,
    name: str,
    keep_clear: list[int],
    n_haps: int,
    model: VariantModel = DEMO_VARIANTS,
) -> list[Variant]:
    """Draw normalised SNVs and short indels for contig ``name``.

    None touches N, ``keep_clear`` (1-based TSSs) +- ``model.clearance`` bp, or another
    record (>= 1 bp between records).
    """
    upper = seq & ~np.uint8(0x20)  # upper-case view; 'N' stays 'N'
    forbid = upper == ord("N")
    for t in keep_clear:
        forbid[t - 1 - model.clearance : t + model.clearance] = True
    weights = np.array(model.indel_length_weights)
    length_p = weights / weights.sum()
    n_cand = int(len(seq) / model.spacing * 1.07)
    candidates = np.sort(rng.choice(np.arange(1, len(seq) - MAX_INDEL), size=n_cand, replace=False))
    out: list[Variant] = []
    next_free = 0  # first 0-based position a new record may start at (>= 1 bp gap)
    for p in (int(c) for c in candidates):
        if p < next_free or forbid[p]:
            continue
        ref, alt = chr(upper[p]), ""
        if rng.random() < model.indel_fraction:
            ref, alt = draw_indel(
                rng, upper, forbid, p, 1 + int(rng.choice(len(weights), p=length_p))
            )
        if not alt:
            alt = draw_snv(rng, ref)
        out.append(Variant(name, p + 1, ref, alt, model.spectrum(rng, n_haps)))
        next_free = p + len(ref) + 1
    return out


def draw_indel(
    rng: np.random.Generator, upper: np.ndarray, forbid: np.ndarray, p: int, k: int
) -> tuple[str, str]:
    """REF and ALT of a left-aligned indel of ``k`` bp anchored at ``p``.

    ALT is empty when no deletion, shrunk down to 1 bp, fits.
    """
    ref_base = chr(upper[p])
    if rng.random() < 0.5:  # insertion: left-aligned iff last inserted base != anchor
        ins = "".join(BASES[i] for i in rng.integers(4, size=k))
        if ins[-1] == ref_base:
            ins = ins[:-1] + TRANSITION[ref_base]
        return ref_base, ref_base + ins
    while k >= 1:  # deletion: left-aligned iff last deleted base != anchor; shrink until valid
        span = upper[p : p + k + 1]
        if not forbid[p : p + k + 1].any() and span[-1] != span[0]:
            return span.tobytes().decode(), ref_base
        k -= 1
    return ref_base, ""


def draw_snv(rng: np.random.Generator, ref_base: str) -> str:
    """An ALT base: a transition two times in three, else one of the two transversions."""
    if rng.random() < 2 / 3:
        return TRANSITION[ref_base]
    return [b for b in BASES if b not in (ref_base, TRANSITION[ref_base])][int(rng.integers(2))]


def assign_ids(rng: np.random.Generator, variants: list[Variant]) -> None:
    """Give ~80% of records unique rsID-like IDs and leave the rest ``.`` as in real VCFs."""
    ids = 1_000_000 + rng.choice(199_000_000, size=len(variants), replace=False)
    named = rng.random(len(variants)) < 0.8
    for v, rs, has_id in zip(variants, ids, named, strict=True):
        v.vid = f"rs{rs}" if has_id else "."


def check_variants(seq: np.ndarray, variants: list[Variant]) -> None:
    """Fail loudly if any record breaks the promised invariants (REF, order, no overlap)."""
    for prev, cur in zip(variants, variants[1:], strict=False):
        assert cur.pos > prev.end + 1, (prev.label, cur.label)
    for v in variants:
        assert seq[v.pos - 1 : v.end].tobytes().decode().upper() == v.ref, v.label
        assert "N" not in v.ref and v.ref != v.alt, v.label
        assert len(v.ref) == len(v.alt) == 1 or v.ref[0] == v.alt[0], v.label


def write_reference(path: Path, sequences: dict[str, np.ndarray]) -> None:
    """Write the FASTA with hs37d5-style headers (60-bp lines), indexed with faidx."""
    descriptions = {
        name: f"dna:chromosome chromosome:DEMO:{name}:1:{len(seq)}:1"
        for name, seq in sequences.items()
    }
    write_fasta(path, sequences, descriptions)


def variant_lines(variants: list[Variant], chunk: int = 8192) -> Iterator[bytes]:
    """VCF data lines (ID, ``AF=`` and phased genotypes) in chunks of ``chunk`` records."""
    for first in range(0, len(variants), chunk):
        batch = variants[first : first + chunk]
        haps = np.stack([v.haps for v in batch])
        fixed = [
            f"{v.chrom}\t{v.pos}\t{v.vid}\t{v.ref}\t{v.alt}\t.\tPASS\tAF={af:g}\tGT"
            for v, af in zip(batch, haps.sum(axis=1) / haps.shape[1], strict=True)
        ]
        yield phased_lines(fixed, haps)


def variants_header(
    lengths: dict[str, int], individuals: list[str], source: str, assembly: str | None = None
) -> str:
    """The header of a VCF of :func:`variant_lines`: ``##source``, contigs, AF and GT."""
    af_text = f"ALT allele frequency in the {len(individuals)} samples"
    meta = [
        f"##source={source}",
        "##reference=reference.fa",
        *contig_lines(lengths, assembly),
        f'##INFO=<ID=AF,Number=A,Type=Float,Description="{af_text}">',
        PHASED_GT,
    ]
    return vcf_header(meta, individuals)


def write_demo_vcf(
    path: Path, variants: list[Variant], individuals: list[str], design: DemoDesign
) -> None:
    """Write one contig's bgzipped VCFv4.2 (BGZF with EOF block, no index), phased.

    ``##source`` records the design: ``haplexpr.demo.dataset(seed=...)`` when only the seed may
    differ from the defaults, every field otherwise.
    """
    lengths = {c: length for c, length, _ in design.contigs}
    source = f"haplexpr.demo.dataset({design.describe()})"
    write_vcf(path, variants_header(lengths, individuals, source, "DEMO"), variant_lines(variants))
