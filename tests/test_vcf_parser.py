"""The compiled VCF line parser (``vcf.parser``) on hand-written records, expected by hand."""

from __future__ import annotations

import numpy as np
import pytest

from haplexpr.vcf.alleles import MISSING, SKIP
from haplexpr.vcf.parser import (
    MALFORMED_GT,
    NOT_SNV,
    POLYPLOID,
    gather_alleles,
    group_by_column,
    parse_records,
)


def parsed(lines: list[str], sample_column: list[int]):
    """``parse_records`` of tab-separated data lines; the text too (alleles point into it)."""
    text = np.frombuffer(("\n".join(lines) + "\n").encode(), np.uint8)
    column = np.asarray(sample_column, np.int64)
    n_selected = int(column.max()) + 1 if (column >= 0).any() else 0
    return text, parse_records(text, len(lines), column, n_selected)


def record(pos: int, ref: str, alt: str, calls: list[str], fmt: str = "GT") -> str:
    return "\t".join(["1", str(pos), ".", ref, alt, ".", "PASS", "DP=3", fmt, *calls])


def alleles_of(text: np.ndarray, result, line: int) -> list[str]:
    rows = range(result.allele_ptr[line], result.allele_ptr[line + 1])
    return [
        text[result.allele_start[a] : result.allele_start[a] + result.allele_len[a]]
        .tobytes()
        .decode()
        for a in rows
    ]


def test_positions_alleles_and_phased_calls():
    lines = [record(5, "A", "C,G", ["0|1", "2|0"]), record(12, "TT", "T", ["1|1", "0|0"])]
    text, result = parsed(lines, [0, 1])
    assert result.pos.tolist() == [4, 11]  # 0-based
    assert result.allele_ptr.tolist() == [0, 3, 5]
    assert alleles_of(text, result, 0) == ["A", "C", "G"]
    assert alleles_of(text, result, 1) == ["TT", "T"]
    # columns: (sample 0 hap 1, sample 0 hap 2, sample 1 hap 1, sample 1 hap 2)
    assert result.genotypes.tolist() == [[0, 1, 2, 0], [1, 1, 0, 0]]
    assert result.flags.tolist() == [0, NOT_SNV]  # a deletion is not bcftools' type='snp'
    assert not result.unphased.any()


def test_unselected_samples_are_skipped_and_the_others_kept_in_their_slots():
    line = record(3, "G", "A", ["1|1", "0|1", "1|0"])
    _, result = parsed([line], [-1, 1, 0])
    assert result.genotypes.tolist() == [[1, 0, 0, 1]]


def test_missing_unphased_and_haploid_calls():
    lines = [
        record(2, "C", "T", ["./.", "0/1"]),  # missing; unphased (IUPAC under -H 1pIu)
        record(4, "C", "T", ["1", "."]),  # a haploid record: haplotype 2 is absent
        record(6, "C", "T", ["1", "0|1"]),  # a haploid call in a diploid record
    ]
    _, result = parsed(lines, [0, 1])
    assert result.genotypes.tolist() == [
        [MISSING, MISSING, 0, 1],
        [1, SKIP, MISSING, MISSING],
        [1, MISSING, 0, 1],
    ]
    assert result.unphased.tolist() == [[True, True], [False, False], [False, False]]


def test_no_alt_and_no_gt():
    lines = [record(2, "C", ".", ["0|0"]), record(4, "C", "T", ["7"], fmt="DP")]
    text, result = parsed(lines, [0])
    assert alleles_of(text, result, 0) == ["C"]
    assert result.genotypes[1].tolist() == [SKIP, SKIP]  # bcftools skips records without GT
    assert result.flags[1] & MALFORMED_GT == 0


@pytest.mark.parametrize(
    ("fmt", "call", "flag"),
    [
        ("DP:GT", "7:1|0", MALFORMED_GT),  # GT not FORMAT's first key
        ("GT", "1|x", MALFORMED_GT),
        ("GT", "0|1|1", POLYPLOID),
    ],
    ids=["gt-not-first", "unreadable", "triploid"],
)
def test_flags_of_calls_the_engine_refuses(fmt, call, flag):
    lines = [record(2, "C", "T", ["0|1"]), record(4, "C", "T", [call], fmt=fmt)]
    _, result = parsed(lines, [0])
    assert result.flags.tolist() == [0, flag]


def test_many_alleles_grow_the_allele_rows():
    alts = ",".join("ACGT"[i % 4] * (i + 1) for i in range(40))
    text, result = parsed([record(7, "A", alts, ["40|3"])], [0])
    assert result.allele_ptr.tolist() == [0, 41]
    assert alleles_of(text, result, 0)[1:] == alts.split(",")
    assert result.genotypes.tolist() == [[40, 3]]


def test_gather_alleles_copies_them_out_of_the_text():
    text = np.frombuffer(b"xxACGTyyTTz", np.uint8)
    data, starts = gather_alleles(text, np.array([2, 8, 10]), np.array([4, 2, 1]))
    assert data.tobytes() == b"ACGTTTz"
    assert starts.tolist() == [0, 4, 6]


def test_group_by_column_keeps_record_order_within_a_column():
    column = np.array([2, 0, 2, 1, 0], np.int32)
    record_ids = np.array([0, 1, 3, 4, 5], np.int64)
    allele = np.array([1, 2, 1, -1, 1], np.int16)
    col_ptr, records, alleles = group_by_column(column, record_ids, allele, 4)
    assert col_ptr.tolist() == [0, 2, 3, 5, 5]
    assert records.tolist() == [1, 5, 4, 0, 3]
    assert alleles.tolist() == [2, 1, -1, 1, 1]
