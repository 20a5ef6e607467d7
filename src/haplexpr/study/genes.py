"""Genes, their TSS windows and the study table (seed format), validated on read.

The seed's ``all_partition_data.csv.gz`` is long: one row per (sample, gene) with columns
``split,sample,gene,chr,TSS,strand,<target>``; the reference genome is the pseudo-sample
``ref``. Its contigs are written ``chrN`` while the VCFs and FASTA say ``N``, so contig
names are harmonised against the reference here, once.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pysam

from haplexpr.atomic import atomic_path
from haplexpr.consensus_settings import ConsensusSettings
from haplexpr.coordinates import Interval, UnknownContigError, harmonise_contig, tss_to_0based
from haplexpr.study.table_schema import SCHEMA, StudyTableError, check_partition_table

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GeneWindow:
    """A gene's window on the reference: ``interval`` clipped to the contig, TSS 0-based."""

    gene: str
    chrom: str
    tss: int
    strand: str
    interval: Interval


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
    path: str | Path,
    target_column: str,
    missing_targets: str = "drop",
    cache_dir: str | Path | None = None,
) -> pd.DataFrame:
    """Read the long study table and check it against its schema (``TSS`` int, target float).

    Every cell is read as text (an ID spelt ``NA`` or ``007`` is an ID), then typed by the
    schema check, so a bad value is reported with its line rather than read as NaN. Rows
    with a missing target are left out (``missing_targets="drop"``) or refused (``"error"``).
    The pyarrow parser reads a Geuvadis-size table (10^7 rows) in half the C parser's time.

    ``cache_dir``: keep the checked table there as parquet, keyed by the file's path, size
    and modification time, the two options and the schema, and read that next time (a
    quarter of the CPU time; the workflow's start-up reads the table at every command).
    """
    cached = _cache_file(path, target_column, missing_targets, cache_dir)
    if cached is not None and cached.exists():
        log.info("%s: the checked table from %s", path, cached)
        return pd.read_parquet(cached)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, engine="pyarrow")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, EOFError) as error:
        raise StudyTableError(
            f"{path}: cannot read the partition table ({error}); it must be a CSV "
            "(optionally gzip-compressed) with a header line (config data.partition_table)"
        ) from error
    checked = check_partition_table(table, path, target_column, missing_targets=missing_targets)
    if cached is not None:
        with atomic_path(cached) as tmp:
            checked.to_parquet(tmp, index=False)
    return checked


def _cache_file(path, target_column: str, missing_targets: str, cache_dir) -> Path | None:
    """Where the checked table is cached (None: no cache, or no such file to key it by)."""
    if cache_dir is None or not Path(path).is_file():
        return None
    stat = Path(path).stat()
    key = json.dumps(
        [str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, target_column,
         missing_targets, SCHEMA.read_text(), pd.__version__]
    )  # fmt: skip
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return Path(cache_dir) / f"partition_table.{digest}.parquet"


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
        except UnknownContigError as error:
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
        ConsensusSettings.from_config(config).window_length,
        data["tss_coordinate_base"],
    )
