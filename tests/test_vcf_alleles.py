"""Tests for haplexpr.vcf.alleles: the type bits and length change htslib's
``bcf_set_variant_type`` gives a REF/ALT pair, which the parser flags and the kernel reads."""

from __future__ import annotations

import numpy as np
import pytest

from haplexpr.vcf.alleles import (
    VCF_BND,
    VCF_INDEL,
    VCF_MNP,
    VCF_OTHER,
    VCF_OVERLAP,
    VCF_REF,
    VCF_SNP,
    to_upper,
    variant_type,
)


@pytest.mark.parametrize(
    ("ref", "alt", "kind", "change"),
    [
        ("A", "G", VCF_SNP, 1),
        ("A", "A", VCF_REF, 0),
        ("A", ".", VCF_REF, 0),  # no ALT
        ("A", "X", VCF_REF, 0),  # old gVCF unknown allele
        ("acg", "ACG", VCF_REF, 0),  # case does not make a change
        ("ACGT", "ACGG", VCF_SNP, 1),  # padded SNV: the common prefix is trimmed
        ("A", "*", VCF_OVERLAP, 0),
        ("A", "<DEL>", VCF_OTHER, 0),
        ("A", "<*>", VCF_REF, 0),  # gVCF blocks are reference
        ("A", "<NON_REF>", VCF_REF, 0),
        ("A", "G]1:5]", VCF_BND, 0),
        ("A", "]1:5]G", VCF_BND, 0),
        ("A", "AT", VCF_INDEL, 1),
        ("ACG", "A", VCF_INDEL, -2),
        ("ATG", "AG", VCF_INDEL, -1),  # deletion inside: common prefix and suffix trimmed
        ("ATC", "ATTGC", VCF_INDEL, 2),  # insertion inside
        ("AC", "GT", VCF_MNP, 2),
        ("ACG", "TT", VCF_OTHER, -3),  # complex: the longer side's trimmed span
        ("AAC", "GTAC", VCF_OTHER, 1),
    ],
)
def test_variant_type_is_htslibs(ref, alt, kind, change):
    as_bytes = [np.frombuffer(text.encode(), np.uint8) for text in (ref, alt)]
    assert variant_type(*as_bytes) == (kind, change)


def test_to_upper_changes_only_lower_case_letters():
    assert [chr(to_upper(ord(c))) for c in "acgtnACGT*<{`"] == list("ACGTNACGT*<{`")
