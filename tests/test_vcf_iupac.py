"""Tests for haplexpr.vcf.iupac: an unphased diploid call becomes what ``bcftools consensus
-H 1pIu`` applies to both haplotypes, as an extra ALT where the IUPAC code is new.

Expected lines are derived by hand from bcftools' ``iupac_set_allele`` rule (the module
docstring); ``test_consensus_parity.py`` holds the kernel to bcftools itself.
"""

from __future__ import annotations

import pytest

from haplexpr.vcf.iupac import resolve_line

FIXED = "1\t5\t.\t"


@pytest.mark.parametrize(
    ("alleles", "calls", "expected_alleles", "expected_calls"),
    [
        # A>G 0/1 writes R (a new ALT); phased, missing-only and homozygous calls as they are
        # but for the bar; 0/. the reference, ./1 the ALT on both
        ("A\tG", "0/1\t0|1\t0/.\t./1\t./.\t1/1", "A\tG,R", "2|2\t0|1\t0|0\t1|1\t./.\t1|1"),
        ("A\tG,T", "1/2", "A\tG,T,K", "3|3"),  # two ALTs: G|T = K
        ("A\tAT", "0/1", "A\tAT", "1|1"),  # A|A = A, then the insertion's T: the ALT itself
        ("AC\tA,GT", "1/2\t0/2", "AC\tA,GT,RT,RY", "3|3\t4|4"),  # the longest ALT rewritten
        ("A\t<DEL>,G", "1/0\t0/2", "A\t<DEL>,G,R", "1|1\t3|3"),  # no IUPAC ALT: the first one
    ],
)
def test_unphased_calls_become_their_iupac_allele(alleles, calls, expected_alleles, expected_calls):
    line = f"{FIXED}{alleles}\t.\t.\t.\tGT\t{calls}"
    assert resolve_line(line) == f"{FIXED}{expected_alleles}\t.\t.\t.\tGT\t{expected_calls}"


def test_other_format_fields_stay_with_their_call():
    line = f"{FIXED}A\tG,T\t.\t.\t.\tGT:DP\t1/2:7\t0/0:3"
    assert resolve_line(line) == f"{FIXED}A\tG,T,K\t.\t.\t.\tGT:DP\t3|3:7\t0|0:3"


@pytest.mark.parametrize(
    "line",
    [
        f"{FIXED}A\tG\t.\t.\t.\tGT\t1\t0",  # haploid
        f"{FIXED}A\tG\t.\t.\t.\tGT\t0/1/1",  # triploid
        f"{FIXED}A\tG\t.\t.\t.\tDP:GT\t7:0/1",  # GT not first: the parser's to refuse
        f"{FIXED}A\tG\t.\t.\t.",  # no samples
    ],
)
def test_lines_without_unphased_diploid_calls_stay_as_they_are(line):
    assert resolve_line(line) == line


def test_a_call_of_an_allele_the_record_lacks_is_left_for_the_ref_check():
    line = f"{FIXED}A\tG\t.\t.\t.\tGT\t0/3\t0/1"
    assert resolve_line(line) == f"{FIXED}A\tG,R\t.\t.\t.\tGT\t0/3\t2|2"
