"""The text outputs: the seed's long expression table, truth.tsv and the plain lists.

Written with fixed ordering, LF line ends and gzip mtime 0, so reruns are byte-identical.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from haplexpr.demo.design import DemoDesign, Gene


def write_partition_table(
    path: Path, genes: list[Gene], individuals: list[str], log_tpm: np.ndarray
) -> None:
    """Write the seed's long table: gene-level split, ``chrN`` names, 1-based TSS."""
    rows = ["split,sample,gene,chr,TSS,strand,log_TPM"]
    for g, values in zip(genes, log_tpm, strict=True):
        for sample, value in zip(["ref", *individuals], values, strict=True):
            fields = [g.split, sample, g.gene_id, f"chr{g.chrom}", str(g.tss), g.strand]
            rows.append(",".join(fields) + f",{value:.6f}")
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            gz.write(("\n".join(rows) + "\n").encode())


def write_truth(path: Path, genes: list[Gene], dosage: np.ndarray, design: DemoDesign) -> None:
    """Write the planted signal per gene; genetic variance is across the individuals.

    For a non-default design (any field changed, ``seed`` included) the design's fields are
    added as trailing constant columns ``seed, motif, effect, noise_sd, n_genes,
    n_individuals``; the default design keeps today's columns so the committed file is
    unchanged.
    """
    extra = [] if design.is_default() else design.as_fields()
    header = [
        "gene",
        "chrom",
        "tss",
        "strand",
        "split",
        "n_motifs_ref",
        "n_causal_variants",
        "causal_variants",
        "genetic_variance",
        "noise_variance",
        *(k for k, _ in extra),
    ]
    rows = ["\t".join(header)]
    for g, d in zip(genes, dosage, strict=True):
        fields = [
            g.gene_id,
            g.chrom,
            str(g.tss),
            g.strand,
            g.split,
            str(g.n_motifs_ref),
            str(len(g.causal)),
            ",".join(v.label for v in g.causal),
            f"{float(np.var(d)):.6f}",
            f"{design.noise_sd**2:.6f}",
            *(v for _, v in extra),
        ]
        rows.append("\t".join(fields))
    write_text(path, rows)


def write_text(path: Path, lines: list[str]) -> None:
    """Write lines with a trailing newline (LF only, so files are byte-stable)."""
    with open(path, "w", newline="\n") as fh:
        fh.write("\n".join(lines) + "\n")
