"""Reading a chromosome's records in the windows (``sequences.variant_reader``), by hand."""

from __future__ import annotations

import random
import re

import pysam
import pytest
from support import vcf_files
from support.vcf_files import record_line, write_fasta

from haplexpr.coordinates import Interval
from haplexpr.sequences.edits import EngineError
from haplexpr.sequences.variant_reader import read_variants
from haplexpr.vcf.alleles import MISSING

SEQ = "".join(random.Random(3).choice("ACGT") for _ in range(200))
# two overlapping windows and a third; positions 10 and 120 lie outside them all
WINDOWS = [Interval("1", 20, 60), Interval("1", 50, 100), Interval("1", 150, 180)]
SNV = record_line("1", 30, SEQ[29], "N", ["1|0", "0|1"])
INSERTION = record_line("1", 55, SEQ[54], SEQ[54] + "GG", ["0|1", "1|1"])  # in two windows
DELETION = record_line("1", 160, SEQ[159:162], SEQ[159], ["1|1", "0|0"])
OUTSIDE = [record_line("1", p, SEQ[p - 1], "N", ["1|1", "1|1"]) for p in (10, 120)]


def read(tmp_path, lines, **options):
    """read_variants of the lines (file samples S, T) for samples T, S over ``WINDOWS``."""
    tmp_path.mkdir(exist_ok=True)
    reference = write_fasta(tmp_path / "ref.fa", {"1": SEQ})
    vcf = vcf_files.write_vcf(tmp_path / "calls.vcf.gz", lines, ["S", "T"], {"1": 200}, True)
    with pysam.FastaFile(str(reference)) as fasta:
        return read_variants(vcf, "1", WINDOWS, ["T", "S"], fasta, **options)


def alleles(found, record):
    rows = range(found.allele_ptr[record], found.allele_ptr[record + 1])
    return [
        found.allele_bytes[found.allele_start[a] : found.allele_start[a] + found.allele_len[a]]
        .tobytes()
        .decode()
        for a in rows
    ]


def test_records_in_the_windows_once_with_the_calls_by_column(tmp_path):
    found = read(tmp_path, [OUTSIDE[0], SNV, INSERTION, OUTSIDE[1], DELETION])
    assert found.pos.tolist() == [29, 54, 159]
    assert found.ref_len.tolist() == [1, 1, 3]
    assert alleles(found, 1) == [SEQ[54], SEQ[54] + "GG"]
    assert alleles(found, 2) == [SEQ[159:162], SEQ[159]]
    assert found.samples == ["T", "S"]
    # columns: T hap 1, T hap 2, S hap 1, S hap 2 (the file's S is the second sample asked)
    assert found.col_ptr.tolist() == [0, 1, 3, 5, 7]
    assert found.col_rec.tolist() == [1, 0, 1, 0, 2, 1, 2]
    assert set(found.col_allele.tolist()) == {1}


def test_missing_calls_are_kept_only_when_asked(tmp_path):
    line = record_line("1", 30, SEQ[29], "N", ["1|.", "0|0"])
    found = read(tmp_path / "dropped", [line])
    assert found.col_ptr.tolist() == [0, 0, 0, 1, 1]
    found = read(tmp_path / "kept", [line], keep_missing=True)
    assert found.col_ptr.tolist() == [0, 0, 0, 1, 2]
    assert found.col_allele.tolist() == [1, MISSING]


def test_snvs_only_drops_and_counts_the_indels(tmp_path):
    found = read(tmp_path, [SNV, INSERTION, DELETION], variants="snvs")
    assert found.pos.tolist() == [29]
    assert found.skipped == {"not_snv": 2}


def test_an_unreadable_gt_names_the_file_and_the_record(tmp_path):
    bad = record_line("1", 40, SEQ[39], "N", ["1|x", "0|0"])
    vcf = tmp_path / "calls.vcf.gz"
    with pytest.raises(EngineError, match=rf"^{re.escape(str(vcf))}: record 1:40: unreadable GT"):
        read(tmp_path, [SNV, bad])


def test_a_polyploid_call_is_refused_with_iupac(tmp_path):
    line = record_line("1", 160, SEQ[159], "N", ["0|1|1", "0|0"])
    with pytest.raises(EngineError, match="record 1:160: a genotype of more than two alleles"):
        read(tmp_path, [line], iupac=True)
