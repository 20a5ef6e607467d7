"""Individuals, genes and the planted cis signal: motifs, causal SNVs, expression and splits.

Each gene gets 1-3 copies of the motif near its TSS; causal SNVs break a copy or complete a
near-copy, so an individual's expression follows the motif dosage of their two haplotypes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from haplexpr.demo.design import (
    BASES,
    MAX_GENES,
    TSS_END_MARGIN,
    DemoDesign,
    Gene,
    Variant,
    motif_count,
)
from haplexpr.demo.genome import random_bases

MU_MEAN, MU_SD = 3.0, 0.7
MOTIF_RADIUS = 300  # motifs are counted when fully inside [TSS - 300, TSS + 300] (1-based)
MOTIF_MARGIN = 10  # planted copies stay this far inside the counted region
MOTIF_SPACING = 20  # minimum distance between planted copy starts

# ID number ranges: HG (1000 Genomes), then CEU-like and YRI-like NA (Coriell) individuals
_ID_RANGES = (("HG", 96, 400), ("NA", 6_984, 12_900), ("NA", 18_486, 19_260))


class Expression(NamedTuple):
    """The planted signal and the expression drawn from it (genes in placement order)."""

    dosage: np.ndarray  # genes x individuals: effect x mean motif count of the two haplotypes
    log_tpm: np.ndarray  # genes x (1 + individuals); column 0 is the reference


class Splits(NamedTuple):
    """The train genes individual-level training uses, and the individuals it trains on."""

    individual_genes: list[str]  # train genes, in placement order
    train_individuals: set[str]


def individual_ids(rng: np.random.Generator, design: DemoDesign) -> list[str]:
    """Draw unique Geuvadis-like IDs (1000 Genomes ``HG00xxx``, Coriell ``NA0/NA1xxxx``).

    The fixed ID ranges are widened (and the YRI-like range shifted up past the CEU-like one)
    only when a range holds fewer numbers than the individuals drawn from it.
    """
    ids: list[str] = []
    floor = 0
    for (prefix, lo, hi), n in zip(_ID_RANGES, design.id_counts, strict=True):
        if prefix == "NA":
            shift = max(0, floor - lo)
            lo, hi = lo + shift, hi + shift
        hi = max(hi, lo + n)
        ids += [f"{prefix}{k:05d}" for k in rng.choice(np.arange(lo, hi), size=n, replace=False)]
        if prefix == "NA":
            floor = hi
    return sorted(ids)


def place_genes(rng: np.random.Generator, design: DemoDesign) -> list[Gene]:
    """Place TSSs one per equal slot so they are >= 10 kb from each other and contig ends."""
    total = design.n_genes
    numbers = rng.choice(np.arange(100_000, 100_000 + MAX_GENES), size=total, replace=False)
    strands = rng.permutation(["+"] * (total // 2) + ["-"] * (total - total // 2))
    genes: list[Gene] = []
    for name, length, n in design.contigs:
        edges = np.linspace(TSS_END_MARGIN, length - TSS_END_MARGIN, n + 1)
        half_gap = TSS_END_MARGIN // 2
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            tss = int(rng.integers(int(lo) + half_gap, int(hi) - half_gap + 1))
            k = len(genes)
            genes.append(Gene(f"ENSG00000{numbers[k]:06d}", name, tss, str(strands[k])))
    return genes


def plant_motifs(
    rng: np.random.Generator,
    seq: np.ndarray,
    gene: Gene,
    has_causal: bool,
    motif: str,
    n_haps: int,
) -> None:
    """Plant 1-3 motif copies (and near-copies for 'complete' variants) around the TSS.

    Causal SNVs either break a planted copy (a central base changed: 0-based positions 3-4 of an
    8-mer, the middle one or two in general) or complete a planted near-copy with one
    mismatch at an inner position (not the first or last base). The local background is
    redrawn until the reference count and each SNV's effect are exactly as designed, so
    truth.tsv needs no caveats.
    """
    size = len(motif)
    motif_codes = np.frombuffer(motif.encode(), dtype=np.uint8)
    t0 = gene.tss - 1
    lo, hi = t0 - MOTIF_RADIUS, t0 + MOTIF_RADIUS + 1  # 0-based slice of the counted region
    n_full = int(rng.integers(1, 4))
    kinds: list[str] = []
    if has_causal:
        kinds = ["break" if rng.random() < 0.5 else "complete" for _ in range(rng.integers(1, 3))]
        while kinds.count("break") > n_full:
            kinds[kinds.index("break")] = "complete"
    n_near = kinds.count("complete")
    while True:
        seq[lo - 10 : hi + 10] = random_bases(rng, hi - lo + 20)
        starts = _spaced_starts(rng, t0, n_full + n_near, size)
        full, near = starts[:n_full], starts[n_full:]
        snvs: list[tuple[int, str, str, int]] = []  # (0-based pos, ref, alt, expected delta)
        for s in full:
            seq[s : s + size] = motif_codes
        for s in near:
            j = int(rng.integers(1, size - 1))
            other = [b for b in BASES if b != motif[j]]
            wrong = other[int(rng.integers(3))]
            seq[s : s + size] = np.frombuffer(
                (motif[:j] + wrong + motif[j + 1 :]).encode(), np.uint8
            )
            snvs.append((s + j, wrong, motif[j], +1))
        for s in full[: kinds.count("break")]:
            j = int(rng.integers((size - 1) // 2, size // 2 + 1))
            alt = [b for b in BASES if b != motif[j]][int(rng.integers(3))]
            snvs.append((s + j, motif[j], alt, -1))
        region = seq[lo:hi].tobytes().decode()
        if motif_count(region, motif) != n_full:
            continue
        ok = True
        for pos, _, alt, delta in snvs:
            k = pos - lo
            if motif_count(region[:k] + alt + region[k + 1 :], motif) - n_full != delta:
                ok = False
        mutated = list(region)
        for pos, _, alt, _ in snvs:
            mutated[pos - lo] = alt
        if ok and motif_count("".join(mutated), motif) - n_full == sum(d for *_, d in snvs):
            break
    gene.n_motifs_ref = n_full
    for pos, ref, alt, _ in sorted(snvs):
        gene.causal.append(Variant(gene.chrom, pos + 1, ref, alt, _causal_haps(rng, n_haps)))


def _spaced_starts(rng: np.random.Generator, t0: int, n: int, size: int) -> list[int]:
    """Draw ``n`` motif starts (0-based) >= 10 bp inside the counted region, >= 20 bp apart."""
    first = t0 - MOTIF_RADIUS + MOTIF_MARGIN
    last = t0 + MOTIF_RADIUS - MOTIF_MARGIN - size + 1  # copy ends 10 bp before the edge
    while True:
        starts = rng.integers(first, last + 1, size=n)
        ordered = np.sort(starts)
        if n == 1 or np.min(np.diff(ordered)) >= MOTIF_SPACING:
            return [int(s) for s in starts]


def _causal_haps(rng: np.random.Generator, n_haps: int) -> np.ndarray:
    """Give a causal SNV a common ALT frequency (0.25-0.6) so its gene varies across people."""
    k = int(round(rng.uniform(0.25, 0.6) * n_haps))
    haps = np.zeros(n_haps, dtype=np.uint8)
    haps[rng.choice(n_haps, size=k, replace=False)] = 1
    return haps


def draw_expression(
    rng: np.random.Generator,
    genes: list[Gene],
    sequences: dict[str, np.ndarray],
    design: DemoDesign,
) -> Expression:
    """Draw log_TPM: a gene mean, plus ``effect`` x motif dosage, plus Gaussian noise."""
    n_haps = design.n_haplotypes
    counts = np.stack(
        [_haplotype_counts(sequences[g.chrom], g, design.motif, n_haps) for g in genes]
    )  # genes x haplotypes
    dosage = design.effect * (counts[:, 0::2] + counts[:, 1::2]) / 2.0  # genes x individuals
    mu = rng.normal(MU_MEAN, MU_SD, size=len(genes))
    noise = rng.normal(0.0, design.noise_sd, size=(len(genes), design.n_individuals + 1))
    ref_level = design.effect * np.array([g.n_motifs_ref for g in genes], dtype=float)
    log_tpm = mu[:, None] + np.column_stack([ref_level, dosage]) + noise  # column 0 = ref
    return Expression(dosage, log_tpm)


def draw_splits(
    rng: np.random.Generator, genes: list[Gene], individuals: list[str], design: DemoDesign
) -> Splits:
    """Mark the test genes (``Gene.split``) and pick individual-level genes and individuals."""
    order = rng.permutation(len(genes))
    for k in order[: design.n_test_genes]:
        genes[k].split = "test"
    train_genes = [g.gene_id for g in genes if g.split == "train"]
    chosen = set(rng.choice(train_genes, size=design.n_individual_genes, replace=False).tolist())
    individual_genes = [g for g in train_genes if g in chosen]
    train_ind = set(
        rng.choice(individuals, size=design.n_train_individuals, replace=False).tolist()
    )
    return Splits(individual_genes, train_ind)


def _haplotype_counts(seq: np.ndarray, gene: Gene, motif: str, n_haps: int) -> np.ndarray:
    """Motif count in [TSS - 300, TSS + 300] on each haplotype (causal SNVs applied)."""
    lo, hi = gene.tss - 1 - MOTIF_RADIUS, gene.tss + MOTIF_RADIUS
    region = seq[lo:hi].tobytes().decode().upper()
    counts = np.empty(n_haps, dtype=np.int64)
    for h in range(n_haps):
        hap = list(region)
        for v in gene.causal:
            assert len(v.ref) == len(v.alt) == 1 and lo <= v.pos - 1 < hi
            if v.haps[h]:
                hap[v.pos - 1 - lo] = v.alt
        counts[h] = motif_count("".join(hap), motif)
    return counts
