"""Genes, their TSS windows and the study table (seed format), validated on read.

The seed's ``all_partition_data.csv.gz`` is long: one row per (sample, gene) with columns
``split,sample,gene,chr,TSS,strand,<target>``; the reference genome is the pseudo-sample
``ref``. Its contigs are written ``chrN`` while the VCFs and FASTA say ``N``, so contig
names are harmonised against the reference here, once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pysam

from haplexpr.coordinates import Interval, tss_to_0based

TABLE_COLUMNS = ("split", "sample", "gene", "chr", "TSS", "strand")


class StudyTableError(ValueError):
    """A study table (partition table, sample or gene list) is malformed."""


@dataclass(frozen=True)
class GeneWindow:
    """A gene's window on the reference: ``interval`` clipped to the contig, TSS 0-based."""

    gene: str
    chrom: str
    tss: int
    strand: str
    interval: Interval


def harmonise_contig(name: str, reference_contigs: Iterable[str]) -> str:
    """Map a contig name to the reference's spelling (``chr1`` <-> ``1``, ``chrM`` <-> ``MT``)."""
    contigs = set(reference_contigs)
    if name in contigs:
        return name
    bare = name[3:] if name.lower().startswith("chr") else name
    candidates = [bare, f"chr{bare}"]
    if bare.upper() in ("M", "MT"):
        candidates += ["MT", "M", "chrM", "chrMT"]
    for candidate in candidates:
        if candidate in contigs:
            return candidate
    shown = ", ".join(sorted(contigs)[:8])
    raise StudyTableError(
        f"contig {name!r} is not in the reference (reference contigs: {shown}...); "
        "check that the table, VCFs and FASTA use the same genome build"
    )


def read_id_list(path: str | Path) -> list[str]:
    """Read a one-ID-per-line list (blank lines and # comments ignored), rejecting repeats."""
    ids = [
        line.split()[0]
        for line in Path(path).read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise StudyTableError(f"{path}: repeated IDs {repeated[:5]}")
    if not ids:
        raise StudyTableError(f"{path}: no IDs")
    return ids


def read_partition_table(path: str | Path, target_column: str) -> pd.DataFrame:
    """Read and check the long study table; returns it with ``sample`` and ``gene`` as str."""
    table = pd.read_csv(
        path,
        dtype={"sample": str, "gene": str, "chr": str, "split": str},
        keep_default_na=False,  # an ID spelt "NA" is an ID; empty targets still read as NaN
        na_values={target_column: ["", "NA", "NaN", "nan"]},
    )
    missing = [c for c in (*TABLE_COLUMNS, target_column) if c not in table.columns]
    if missing:
        raise StudyTableError(
            f"{path}: missing columns {missing}; expected {', '.join(TABLE_COLUMNS)} "
            f"and the target column {target_column!r}"
        )
    bad_strand = sorted(set(table["strand"]) - {"+", "-"})
    if bad_strand:
        raise StudyTableError(f"{path}: strand must be + or -, found {bad_strand[:5]}")
    bad_split = sorted(set(table["split"]) - {"train", "test", "valid"})
    if bad_split:
        raise StudyTableError(f"{path}: split must be train/valid/test, found {bad_split[:5]}")
    if table.duplicated(["sample", "gene"]).any():
        first = table.loc[table.duplicated(["sample", "gene"]), ["sample", "gene"]].iloc[0]
        raise StudyTableError(
            f"{path}: repeated row for sample {first['sample']}, gene {first['gene']}"
        )
    per_gene = table.groupby("gene")[["split", "chr", "TSS", "strand"]].nunique()
    inconsistent = per_gene.index[(per_gene > 1).any(axis=1)].tolist()
    if inconsistent:
        raise StudyTableError(
            f"{path}: genes with conflicting split/chr/TSS/strand across samples: "
            f"{inconsistent[:5]}"
        )
    if table[target_column].isna().any():
        raise StudyTableError(f"{path}: missing values in {target_column!r}")
    table["TSS"] = table["TSS"].astype(int)
    return table


def gene_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per gene (gene, chr, TSS, strand, split), sorted by contig and TSS."""
    genes = table.drop_duplicates("gene")[["gene", "chr", "TSS", "strand", "split"]]
    return genes.sort_values(["chr", "TSS", "gene"]).reset_index(drop=True)


def contig_lengths(reference: str | Path) -> dict[str, int]:
    """Contig name -> length of an indexed reference FASTA."""
    with pysam.FastaFile(str(reference)) as fasta:
        return dict(zip(fasta.references, fasta.lengths, strict=True))


def gene_windows(
    genes: pd.DataFrame,
    contig_lengths: dict[str, int],
    window_length: int,
    tss_base: int,
) -> list[GeneWindow]:
    """Windows ``[TSS - L/2, TSS + L/2)`` on the reference, clipped at contig ends."""
    windows = []
    for row in genes.itertuples(index=False):
        chrom = harmonise_contig(row.chr, contig_lengths)
        tss = tss_to_0based(int(row.TSS), tss_base)
        if not 0 <= tss < contig_lengths[chrom]:
            raise StudyTableError(
                f"gene {row.gene}: TSS {row.TSS} is outside contig {chrom} "
                f"(length {contig_lengths[chrom]})"
            )
        start = tss - window_length // 2
        interval = Interval(chrom, max(start, 0), min(start + window_length, contig_lengths[chrom]))
        windows.append(GeneWindow(row.gene, chrom, tss, row.strand, interval))
    return windows


def study_windows(config: dict, table_path: str | Path, reference: str | Path) -> list[GeneWindow]:
    """Every study gene's window as the config sets it (the one definition all rules use)."""
    table = read_partition_table(table_path, config["data"]["target_column"])
    return gene_windows(
        gene_table(table),
        contig_lengths(reference),
        config["consensus"]["window_length"],
        config["data"]["tss_coordinate_base"],
    )
