"""Tests for haplexpr.demo.fasta_vcf: FASTA lines of 60 bases from any input, phased VCF lines
and headers, and only CSI or TBI indexes."""

from __future__ import annotations

import numpy as np
import pytest

from haplexpr.demo.fasta_vcf import contig_lines, phased_lines, vcf_header, write_fasta, write_vcf


def test_fasta_accepts_text_bytes_and_arrays(tmp_path):
    seq = "ACGTN" * 25  # 125 bases: two full lines and a short one
    paths = [
        write_fasta(tmp_path / f"{kind}.fa", {"x": given})
        for kind, given in (
            ("str", seq),
            ("bytes", seq.encode()),
            ("array", np.frombuffer(seq.encode(), np.uint8)),
        )
    ]
    texts = {p.read_text() for p in paths}
    assert texts == {">x\n" + seq[:60] + "\n" + seq[60:120] + "\n" + seq[120:] + "\n"}


def test_phased_lines_and_header():
    haps = np.array([[0, 1, 1, 1], [1, 0, 0, 0]], np.uint8)
    text = phased_lines(["1\t5\t.\tA\tG\t.\tPASS\t.\tGT", "1\t9\t.\tC\tT\t.\tPASS\t.\tGT"], haps)
    assert text.decode().splitlines() == [
        "1\t5\t.\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1",
        "1\t9\t.\tC\tT\t.\tPASS\t.\tGT\t1|0\t0|0",
    ]
    header = vcf_header(contig_lines({"1": 10}, "DEMO"), ["a", "b"]).splitlines()
    assert header[0] == "##fileformat=VCFv4.2"
    assert header[1] == "##contig=<ID=1,length=10,assembly=DEMO>"
    assert header[-1].endswith("FORMAT\ta\tb")


def test_unknown_index_kind_is_refused(tmp_path):
    with pytest.raises(ValueError, match="'csi' or 'tbi'"):
        write_vcf(tmp_path / "v.vcf.gz", vcf_header([], ["a"]), [], ("bai",))
