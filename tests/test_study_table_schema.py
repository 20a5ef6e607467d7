"""Tests for haplexpr.study.table_schema: the partition table's checks, each error naming
file, line, column and the fix."""

import logging

import pytest
from support.study_tables import table_error, write_table

from haplexpr.study.genes import read_partition_table

FIX = "; fix the table (schema: haplexpr/schemas/partition_table.schema.yaml)"


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
