"""Tests for haplexpr.study.genes and haplexpr.study.design."""

import csv
import gzip
import logging
from pathlib import Path

import pandas as pd
import pytest
from support import ROOT
from support.study_tables import HEADER, small_study

from haplexpr.coordinates import Interval
from haplexpr.study.design import Example, Study
from haplexpr.study.genes import (
    GeneWindow,
    StudyTableError,
    gene_windows,
    read_partition_table,
)

FIX = "; fix the table (schema: haplexpr/schemas/partition_table.schema.yaml)"


# --- partition table ----------------------------------------------------------------------


def write_table(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "table.csv"
    path.write_text(header + "".join(row + "\n" for row in rows))
    return path


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


def table_error(path: Path, missing_targets: str = "drop", cache_dir: Path | None = None) -> str:
    with pytest.raises(StudyTableError) as caught:
        read_partition_table(path, "log_TPM", missing_targets, cache_dir)
    return str(caught.value)


def test_partition_table_reads_ids_as_strings(tmp_path):
    path = write_table(
        tmp_path,
        ["train,ref,0001,chr1,100,+,1.5", "train,007,0001,chr1,100,+,2.25"],
    )
    table = read_partition_table(path, "log_TPM")
    assert table["sample"].tolist() == ["ref", "007"]
    assert table["gene"].tolist() == ["0001", "0001"]
    assert table["TSS"].tolist() == [100, 100]
    assert table["log_TPM"].tolist() == [1.5, 2.25]


def test_partition_table_missing_column(tmp_path):
    path = write_table(
        tmp_path, ["train,A,G1,chr1,100,1.0"], header="split,sample,gene,chr,TSS,log_TPM\n"
    )
    assert table_error(path) == (
        f"{path}: missing columns ['strand'] (it has split, sample, gene, chr, TSS, log_TPM); "
        "the table needs split, sample, gene, chr, TSS, strand and the target column 'log_TPM' "
        "(config data.target_column)"
    )


def test_partition_table_missing_target_column(tmp_path):
    path = write_table(
        tmp_path, ["train,A,G1,chr1,100,+,1.0"], header="split,sample,gene,chr,TSS,strand,TPM\n"
    )
    assert table_error(path) == (
        f"{path}: missing columns ['log_TPM'] (it has split, sample, gene, chr, TSS, strand, "
        "TPM); the table needs split, sample, gene, chr, TSS, strand and the target column "
        "'log_TPM' (config data.target_column)"
    )


def test_partition_table_bad_strand(tmp_path):
    path = write_table(tmp_path, ["train,A,G1,chr1,100,+,1.0", "train,A,G2,chr1,500,.,1.0"])
    assert table_error(path) == f"{path}: line 3, column strand: '.' is not one of +, -{FIX}"


def test_partition_table_bad_split(tmp_path):
    path = write_table(tmp_path, ["training,A,G1,chr1,100,+,1.0"])
    assert table_error(path) == (
        f"{path}: line 2, column split: 'training' is not one of train, valid, test{FIX}"
    )


def test_partition_table_duplicate_sample_gene(tmp_path):
    path = write_table(
        tmp_path,
        ["train,A,G1,chr1,100,+,1.0", "train,B,G1,chr1,100,+,2.0", "train,B,G1,chr1,100,+,3.0"],
    )
    assert table_error(path) == (
        f"{path}: lines 3 and 4 are both sample B, gene G1; keep one row per (sample, gene)"
    )


def test_partition_table_inconsistent_tss(tmp_path):
    path = write_table(
        tmp_path,
        [
            "train,A,G1,chr1,100,+,1.0",
            "train,B,G1,chr1,101,+,2.0",
            "train,A,G2,chr1,900,-,1.0",
            "train,B,G2,chr1,900,-,1.0",
        ],
    )
    assert table_error(path) == (
        f"{path}: gene G1 has rows with different TSS (100, 101); a gene's split, chr, TSS, "
        "strand must be the same on all its rows"
    )


def test_partition_table_nan_target_refused_with_error(tmp_path):
    path = write_table(tmp_path, ["train,A,G1,chr1,100,+,1.0", "train,B,G1,chr1,100,+,"])
    assert table_error(path, "error") == (
        f"{path}: line 3, column log_TPM: '' is empty: every row needs a value{FIX}"
    )


@pytest.mark.parametrize("value", ["NA", "nan", "inf", "high"])
def test_partition_table_non_numeric_target_refused_with_error(tmp_path, value):
    path = write_table(tmp_path, ["train,A,G1,chr1,100,+,1.0", f"train,B,G1,chr1,100,+,{value}"])
    assert table_error(path, "error") == (
        f"{path}: line 3, column log_TPM: {value!r} is not a finite number{FIX}"
    )


@pytest.mark.parametrize("value", ["inf", "high", "-"])
def test_partition_table_bad_target_refused_even_with_drop(tmp_path, value):
    path = write_table(tmp_path, ["train,A,G1,chr1,100,+,", f"train,B,G1,chr1,100,+,{value}"])
    assert table_error(path) == (
        f"{path}: line 3, column log_TPM: {value!r} is not a finite number{FIX}"
    )


def test_partition_table_missing_targets_are_dropped_counted_and_named(tmp_path, caplog):
    path = write_table(
        tmp_path,
        [
            "train,ref,G1,chr1,100,+,",
            "train,A,G1,chr1,100,+,1.0",
            "train,B,G1,chr1,100,+,NA",
            "train,A,G2,chr1,900,-,NaN",
            "train,B,G2,chr1,900,-, ",
            "train,A,G3,chr1,500,+,2.0",
        ],
    )
    with caplog.at_level(logging.WARNING, logger="haplexpr.study.table_schema"):
        table = read_partition_table(path, "log_TPM")
    assert table[["sample", "gene"]].values.tolist() == [["A", "G1"], ["A", "G3"]]
    assert table["log_TPM"].tolist() == [1.0, 2.0]
    assert caplog.messages == [
        f"{path}: left out 4 of 6 rows whose log_TPM is missing, e.g. (sample, gene) "
        "(ref, G1) line 2, (B, G1) line 4, (A, G2) line 5; 1 genes with no target left, e.g. "
        "G2; 2 samples with no target left, e.g. B, ref (config data.missing_targets: drop; "
        "set error to refuse such a table)"
    ]


def test_partition_table_with_no_target_at_all(tmp_path):
    path = write_table(tmp_path, ["train,A,G1,chr1,100,+,", "train,B,G1,chr1,100,+,NA"])
    assert table_error(path) == f"{path}: every row's log_TPM is missing"


def test_partition_table_missing_targets_keep_line_numbers_of_later_errors(tmp_path):
    path = write_table(tmp_path, ["train,A,G1,chr1,100,+,", "train,B,G1,chr1,100,x,1.0"])
    assert table_error(path) == f"{path}: line 3, column strand: 'x' is not one of +, -{FIX}"


def test_partition_table_tss_must_be_a_whole_number(tmp_path):
    path = write_table(tmp_path, ["train,A,G1,chr1,100.5,+,1.0"])
    assert table_error(path) == (f"{path}: line 2, column TSS: '100.5' is not a whole number{FIX}")


# --- gene windows -------------------------------------------------------------------------


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


@pytest.fixture(scope="module")
def demo_study(demo_config):
    return Study.from_config(demo_config, root=ROOT)


def demo_rows(config):
    """The demo partition table parsed with the csv module, independently of pandas."""
    with gzip.open(ROOT / config["data"]["partition_table"], "rt", newline="") as handle:
        return list(csv.DictReader(handle))


def id_list(config, key):
    return (ROOT / config["data"][key]).read_text().split()


def test_demo_study_sizes(demo_config, demo_study):
    assert len(demo_study.train_individuals) == 24
    assert len(demo_study.test_individuals) == 16
    assert len(demo_study.individual_genes) == 36
    assert demo_study.train_individuals == id_list(demo_config, "train_individuals")
    assert demo_study.test_individuals == id_list(demo_config, "test_individuals")
    assert demo_study.individuals == (
        id_list(demo_config, "train_individuals") + id_list(demo_config, "test_individuals")
    )
    assert len(demo_study.genes) == 60


def test_demo_reference_examples_use_ref_rows(demo_config, demo_study):
    rows = demo_rows(demo_config)
    train_genes = sorted(
        {(r["chr"], int(r["TSS"]), r["gene"]) for r in rows if r["split"] == "train"}
    )
    ref_value = {r["gene"]: float(r["log_TPM"]) for r in rows if r["sample"] == "ref"}
    examples = demo_study.training_examples("r")
    assert len(examples) == 45
    assert examples == [Example("reference", gene, ref_value[gene]) for _, _, gene in train_genes]


def test_demo_individual_examples(demo_config, demo_study):
    rows = demo_rows(demo_config)
    train = set(id_list(demo_config, "train_individuals"))
    genes = set(id_list(demo_config, "individual_genes"))
    expected = sorted(
        (r["sample"], r["gene"], float(r["log_TPM"]))
        for r in rows
        if r["sample"] in train and r["gene"] in genes
    )
    examples = demo_study.training_examples("p")
    assert len(examples) == 24 * 36 == len(expected)
    assert examples == [Example(*row) for row in expected]
    assert demo_study.training_examples("rp") == examples


def test_unknown_strategy(demo_study):
    with pytest.raises(ValueError) as caught:
        demo_study.training_examples("pr")
    assert str(caught.value) == "unknown strategy 'pr'; use one of ('r', 'p', 'rp')"


# --- small studies ------------------------------------------------------------------------

# The split column is the gene's (G3 is a held-out gene); C is a held-out individual.
SMALL_ROWS = [
    "train,A,G1,chr1,100,+,1.0",
    "train,B,G1,chr1,100,+,2.5",
    "train,C,G1,chr1,100,+,100.0",
    "train,A,G2,chr1,900,-,-3.0",
    "train,B,G2,chr1,900,-,-0.5",
    "train,C,G2,chr1,900,-,50.0",
    "test,A,G3,chr2,50,+,7.0",
    "test,B,G3,chr2,50,+,8.0",
    "test,C,G3,chr2,50,+,9.0",
]


def test_reference_targets_fall_back_to_training_mean(tmp_path):
    study = small_study(tmp_path, SMALL_ROWS)
    # Mean over training individuals A and B only; C (held out) is left out.
    assert study.training_examples("r") == [
        Example("reference", "G1", 1.75),
        Example("reference", "G2", -1.75),
    ]


def test_reference_targets_mix_ref_rows_and_mean(tmp_path):
    study = small_study(tmp_path, [*SMALL_ROWS, "train,ref,G2,chr1,900,-,4.0"])
    assert study.training_examples("r") == [
        Example("reference", "G1", 1.75),
        Example("reference", "G2", 4.0),
    ]


def test_missing_ref_target_falls_back_to_the_training_mean(tmp_path):
    rows = [*SMALL_ROWS, "train,ref,G1,chr1,100,+,NA", "train,ref,G2,chr1,900,-,4.0"]
    study = small_study(tmp_path, rows)
    assert study.training_examples("r") == [
        Example("reference", "G1", 1.75),
        Example("reference", "G2", 4.0),
    ]


def test_missing_individual_target_leaves_out_that_gene_only(tmp_path):
    rows = [r if not r.startswith("train,B,G2,") else "train,B,G2,chr1,900,-," for r in SMALL_ROWS]
    study = small_study(tmp_path, rows, genes="G1\nG2\n")
    assert study.training_examples("p") == [
        Example("A", "G1", 1.0),
        Example("A", "G2", -3.0),
        Example("B", "G1", 2.5),
    ]
    assert study.training_count("p") == 3
    assert ("B", "G2") in study.prediction_items()  # still predicted, just not scored
    assert ("B", "G2") not in set(map(tuple, study.observed()[["sample", "gene"]].values))
    with pytest.raises(StudyTableError, match="line 6, column log_TPM: '' is empty"):
        small_study(tmp_path, rows, missing_targets="error")


def test_gene_whose_targets_are_all_missing_leaves_the_study(tmp_path):
    rows = [r if ",G3," not in r else r.rsplit(",", 1)[0] + "," for r in SMALL_ROWS]
    study = small_study(tmp_path, rows)
    assert study.genes["gene"].tolist() == ["G1", "G2"]
    with pytest.raises(StudyTableError, match=r"only in rows without a target\): \['G3'\]"):
        small_study(tmp_path, rows, genes="G1\nG3\n")


def test_small_study_individual_examples(tmp_path):
    study = small_study(tmp_path, SMALL_ROWS, genes="G2\n")
    assert study.training_examples("p") == [Example("A", "G2", -3.0), Example("B", "G2", -0.5)]


def test_overlapping_train_and_test_individuals(tmp_path):
    with pytest.raises(StudyTableError) as caught:
        small_study(tmp_path, SMALL_ROWS, train="A\nB\n", test="C\nB\n")
    assert str(caught.value) == (
        "individuals in both train and test lists: ['B']; remove each from "
        "data.train_individuals or data.test_individuals"
    )


def test_individual_genes_in_test_split(tmp_path):
    with pytest.raises(StudyTableError) as caught:
        small_study(tmp_path, SMALL_ROWS, genes="G1\nG3\n")
    assert str(caught.value) == (
        "individual-level training genes are in the held-out (test) split: ['G3']; drop them "
        "from data.individual_genes or move them to the train split"
    )


def test_individual_genes_not_in_table(tmp_path):
    with pytest.raises(StudyTableError) as caught:
        small_study(tmp_path, SMALL_ROWS, genes="G1\nG9\n")
    assert str(caught.value) == (
        "individual-level genes not in the table (or only in rows without a target): ['G9']; "
        "add their rows or drop them from data.individual_genes"
    )


def test_listed_individual_without_rows(tmp_path):
    with pytest.raises(StudyTableError) as caught:
        small_study(tmp_path, SMALL_ROWS, test="C\nD\n")
    assert str(caught.value) == (
        "1 test individuals have no rows in the partition table (or only rows without a "
        "target), e.g. ['D']; add their rows or drop them from data.test_individuals"
    )


@pytest.mark.parametrize("strategy", ["r", "p", "rp"])
def test_counts_equal_the_items_they_count(demo_study, strategy):
    assert demo_study.training_count(strategy) == len(demo_study.training_examples(strategy))
    assert demo_study.prediction_count() == len(demo_study.prediction_items())
