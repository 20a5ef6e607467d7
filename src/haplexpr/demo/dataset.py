"""A small, deterministic synthetic dataset shaped like the seed study's inputs.

The demo lets the whole pipeline run in minutes on a laptop and gives tests a known answer:
expression depends on how many copies of an activator motif (by default the palindromic
``TGACGTCA``) each haplotype carries near the TSS, and common *causal* SNVs create or break
copies. A model that reads personal sequence can therefore learn real cross-individual
variation, and one that cannot is caught out.

The design (seed, motif, effect size, noise, numbers of genes and individuals) is a
:class:`DemoDesign`; its defaults give the committed ``data/demo`` files. Copies are always
counted on the + strand of the reference/haplotype. A non-palindromic motif therefore reaches
a model as the motif on + strand genes but as its reverse complement on - strand genes (the
pipeline reverse-complements their windows), so a model must learn both orientations.

Files mirror the seed's formats (Geuvadis-like per-chromosome VCFs with contigs ``1``/``2``, a
GRCh37-style FASTA, the long ``all_partition_data.csv.gz`` table with ``chrN`` names and 1-based
TSSs, sample and gene lists), plus ``truth.tsv`` with the planted signal. Everything is drawn
from one seed and written byte-identically on every run (gzip mtime 0, BGZF, fixed ordering).

This module is the entry point (``write_demo_dataset``) and re-exports the public names of
the modules that do the work: :mod:`~haplexpr.demo.design` (design and records),
:mod:`~haplexpr.demo.genome` (reference and variants), :mod:`~haplexpr.demo.genes` (genes,
planted signal and expression) and :mod:`~haplexpr.demo.tables` (text outputs).
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np

from haplexpr.demo.design import DEFAULT_DESIGN, DemoDesign, Gene, Variant, motif_count
from haplexpr.demo.genes import (
    draw_expression,
    draw_splits,
    individual_ids,
    place_genes,
    plant_motifs,
)
from haplexpr.demo.genome import (
    assign_ids,
    background_variants,
    check_variants,
    mask,
    random_bases,
    write_demo_vcf,
    write_reference,
)
from haplexpr.demo.tables import write_partition_table, write_text, write_truth

__all__ = [
    "DEFAULT_DESIGN",
    "DEMO_MARGINS",
    "DemoDesign",
    "Gene",
    "Variant",
    "motif_count",
    "write_demo_dataset",
]

#: How far each run's held-out-individual, seen-gene mean per-gene R must clear the 95th
#: percentile of its shuffled-expression control on the demo (asserted by the test suite,
#: checked over training seeds, datasets and CPU kernels by benchmarks/demo_robustness.py).
DEMO_MARGINS: dict[str, float] = {
    "enformer/p": 0.15,
    "enformer/rp": 0.15,
    "borzoi/p": 0.15,
    "borzoi/rp": 0.15,
    "nt/p": 0.1,
    "caduceus/p": 0.1,
    "evo2/p": 0.1,
    "elastic_net/p": 0.3,
}


def write_demo_dataset(
    out_dir: Path, design: DemoDesign = DEFAULT_DESIGN, *, seed: int | None = None
) -> None:
    """Write the demo dataset for ``design`` into ``out_dir`` (files in data/demo/README.md).

    ``seed``, if given, replaces ``design.seed`` (kept for callers of the old signature).
    """
    if seed is not None:
        design = dataclasses.replace(design, seed=seed)
    out_dir = Path(out_dir)
    (out_dir / "vcf").mkdir(parents=True, exist_ok=True)
    streams = np.random.SeedSequence(design.seed).spawn(8)
    rng_samples, rng_genes, rng_ref, rng_motif, rng_mask, rng_var, rng_expr, rng_split = (
        np.random.default_rng(s) for s in streams
    )
    n_haps = design.n_haplotypes

    individuals = individual_ids(rng_samples, design)
    genes = place_genes(rng_genes, design)
    picked = rng_motif.choice(len(genes), size=design.n_genes_without_causal, replace=False)
    no_causal = {genes[int(k)].gene_id for k in picked}
    sequences: dict[str, np.ndarray] = {}
    variants: dict[str, list[Variant]] = {}
    for name, length, _ in design.contigs:
        contig_genes = [g for g in genes if g.chrom == name]
        seq = random_bases(rng_ref, length)
        for gene in contig_genes:
            has_causal = gene.gene_id not in no_causal
            plant_motifs(rng_motif, seq, gene, has_causal, design.motif, n_haps)
        mask(rng_mask, seq, [g.tss for g in contig_genes], name)
        sequences[name] = seq
        causal = [v for g in contig_genes for v in g.causal]
        tss = [g.tss for g in contig_genes]
        background = background_variants(rng_var, seq, name, tss, n_haps)
        variants[name] = sorted(background + causal, key=lambda v: v.pos)
        check_variants(seq, variants[name])
        assign_ids(rng_var, variants[name])

    expression = draw_expression(rng_expr, genes, sequences, design)
    splits = draw_splits(rng_split, genes, individuals, design)

    write_reference(out_dir / "reference.fa", sequences)
    url_lines = []
    for name, _, _ in design.contigs:
        rel = f"vcf/demo.chr{name}.vcf.gz"
        write_demo_vcf(out_dir / rel, variants[name], individuals, design)
        md5 = hashlib.md5((out_dir / rel).read_bytes()).hexdigest()
        url_lines.append(f"file:{rel}\t{md5}")
    write_text(out_dir / "vcf_urls.txt", url_lines)
    write_partition_table(
        out_dir / "all_partition_data.csv.gz", genes, individuals, expression.log_tpm
    )
    train_ind = splits.train_individuals
    write_text(out_dir / "train_indivs.txt", [s for s in individuals if s in train_ind])
    write_text(out_dir / "test_indivs.txt", [s for s in individuals if s not in train_ind])
    write_text(out_dir / "random_genes.txt", splits.individual_genes)
    write_truth(out_dir / "truth.tsv", genes, expression.dosage, design)
