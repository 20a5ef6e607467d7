"""Tests for haplexpr.study.genes: reading the partition table (cached once checked) and the
gene windows."""

import pandas as pd
import pytest
from support.study_tables import table_error, write_table

from haplexpr.coordinates import Interval
from haplexpr.study.genes import (
    GeneWindow,
    StudyTableError,
    gene_windows,
    read_partition_table,
)


def test_the_checked_table_is_cached_until_the_file_changes(tmp_path):
    rows = ["train,A,G1,chr1,100,+,1.5", "train,B,G1,chr1,100,+,2.5"]
    path = write_table(tmp_path, rows)
    cache = tmp_path / "cache"
    first = read_partition_table(path, "log_TPM", cache_dir=cache)
    (cached,) = cache.iterdir()
    pd.testing.assert_frame_equal(read_partition_table(path, "log_TPM", cache_dir=cache), first)
    pd.testing.assert_frame_equal(pd.read_parquet(cached), first)
    write_table(tmp_path, [*rows, "train,C,G1,chr1,100,+,bad"])  # new size: checked again
    assert "line 4, column log_TPM" in table_error(path, cache_dir=cache)


def genes_frame(rows):
    return pd.DataFrame(rows, columns=["gene", "chr", "TSS", "strand"])


def test_gene_windows_convert_tss_and_clip_at_contig_ends():
    genes = genes_frame(
        [
            ("START", "chr1", 1, "+"),
            ("MID", "chr1", 501, "-"),
            ("END", "chr1", 1000, "+"),
            ("OTHER", "2", 30, "-"),
        ]
    )
    windows = gene_windows(genes, {"1": 1000, "2": 400}, window_length=100, tss_base=1)
    assert windows == [
        GeneWindow("START", "1", 0, "+", Interval("1", 0, 50)),
        GeneWindow("MID", "1", 500, "-", Interval("1", 450, 550)),
        GeneWindow("END", "1", 999, "+", Interval("1", 949, 1000)),
        GeneWindow("OTHER", "2", 29, "-", Interval("2", 0, 79)),
    ]


def test_gene_windows_zero_based_tss():
    genes = genes_frame([("G", "1", 0, "+"), ("H", "1", 200, "+")])
    windows = gene_windows(genes, {"1": 1000}, window_length=64, tss_base=0)
    assert [(w.tss, w.interval) for w in windows] == [
        (0, Interval("1", 0, 32)),
        (200, Interval("1", 168, 232)),
    ]


def test_gene_windows_tss_outside_contig():
    genes = genes_frame([("G", "chr1", 1001, "+")])
    with pytest.raises(StudyTableError) as caught:
        gene_windows(genes, {"1": 1000}, window_length=100, tss_base=1)
    assert str(caught.value) == (
        "gene G: TSS 1001 is outside contig 1 (length 1000); is data.tss_coordinate_base "
        "right, and is the table on the reference's genome build?"
    )


# --- the demo study -----------------------------------------------------------------------
