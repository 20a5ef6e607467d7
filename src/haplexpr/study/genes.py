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
from haplexpr.study.table_schema import StudyTableError, check_partition_table


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


def read_partition_table(
    path: str | Path, target_column: str, missing_targets: str = "drop"
) -> pd.DataFrame:
    """Read the long study table and check it against its schema (``TSS`` int, target float).

    Every cell is read as text (an ID spelt ``NA`` or ``007`` is an ID), then typed by the
    schema check, so a bad value is reported with its line rather than read as NaN. The
    pyarrow parser reads a Geuvadis-size table (10^7 rows) in half the C parser's time. Rows
    with a missing target are left out (``missing_targets="drop"``) or refused (``"error"``).
    """
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, engine="pyarrow")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, EOFError) as error:
        raise StudyTableError(
            f"{path}: cannot read the partition table ({error}); it must be a CSV "
            "(optionally gzip-compressed) with a header line (config data.partition_table)"
        ) from error
    return check_partition_table(table, path, target_column, missing_targets=missing_targets)


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
        try:
            chrom = harmonise_contig(row.chr, contig_lengths)
        except StudyTableError as error:
            raise StudyTableError(f"gene {row.gene}: {error}") from error
        tss = tss_to_0based(int(row.TSS), tss_base)
        if not 0 <= tss < contig_lengths[chrom]:
            raise StudyTableError(
                f"gene {row.gene}: TSS {row.TSS} is outside contig {chrom} "
                f"(length {contig_lengths[chrom]}); is data.tss_coordinate_base right, and "
                "is the table on the reference's genome build?"
            )
        start = tss - window_length // 2
        interval = Interval(chrom, max(start, 0), min(start + window_length, contig_lengths[chrom]))
        windows.append(GeneWindow(row.gene, chrom, tss, row.strand, interval))
    return windows


def study_windows(config: dict, table_path: str | Path, reference: str | Path) -> list[GeneWindow]:
    """Every study gene's window as the config sets it (the one definition all rules use)."""
    data = config["data"]
    table = read_partition_table(table_path, data["target_column"], data["missing_targets"])
    return gene_windows(
        gene_table(table),
        contig_lengths(reference),
        config["consensus"]["window_length"],
        config["data"]["tss_coordinate_base"],
    )
