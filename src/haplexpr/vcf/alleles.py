"""What a record's alleles are to htslib: the per-haplotype allele codes and variant types.

The parser (``vcf.parser``) writes these codes and flags records by type; the kernel
(``sequences.kernel``) reads both, so they live here, upstream of either.
"""

from __future__ import annotations

from numba import njit

MISSING = -1  # allele not called: skipped, or N with missing="N"
SKIP = -3  # haplotype absent (haplotype 2 of a haploid record): left as the reference

# htslib's variant type bits (vcf.h).
VCF_REF, VCF_SNP, VCF_MNP, VCF_INDEL, VCF_OTHER, VCF_BND, VCF_OVERLAP = 0, 1, 2, 4, 8, 16, 32


@njit(cache=True, inline="always")
def to_upper(c):
    """ASCII upper case of one byte."""
    return c - 32 if 97 <= c <= 122 else c


@njit(cache=True)
def variant_type(ref, alt):
    """The type bits and length change (``var.n``) htslib's bcf_set_variant_type gives."""
    lr, la = ref.shape[0], alt.shape[0]
    if la == 1 and alt[0] == 42:  # '*'
        return VCF_OVERLAP, 0
    if lr == 1 and la == 1:
        if alt[0] == 46 or ref[0] == alt[0] or alt[0] == 88:  # '.', same base, 'X'
            return VCF_REF, 0
        return VCF_SNP, 1
    if alt[0] == 60:  # '<': a gVCF block (<*>, <NON_REF>) is REF to htslib
        if la > 1 and (alt[1] == 42 or (la == 9 and alt[1] == 78 and alt[4] == 95)):  # * N _
            return VCF_REF, 0
        return VCF_OTHER, 0
    if alt[0] == 91 or alt[0] == 93:  # '[', ']'
        return VCF_BND, 0
    r = 0
    a = 0
    while r < lr and a < la and to_upper(ref[r]) == to_upper(alt[a]):
        r += 1
        a += 1
    if a < la and r == lr:
        if alt[la - 1] == 91 or alt[la - 1] == 93:
            return VCF_BND, 0
        return VCF_INDEL, la - lr
    if r < lr and a == la:
        return VCF_INDEL, la - lr
    if r == lr and a == la:
        return VCF_REF, 0
    re = lr - 1
    ae = la - 1
    if alt[ae] == 91 or alt[ae] == 93:
        return VCF_BND, 0
    while re > r and ae > a and to_upper(ref[re]) == to_upper(alt[ae]):
        re -= 1
        ae -= 1
    if ae == a:
        if re == r:
            return VCF_SNP, 1
        kind = VCF_INDEL if to_upper(ref[re]) == to_upper(alt[ae]) else VCF_OTHER
        return kind, -(re - r)
    if re == r:
        kind = VCF_INDEL if to_upper(ref[re]) == to_upper(alt[ae]) else VCF_OTHER
        return kind, ae - a
    kind = VCF_MNP if re - r == ae - a else VCF_OTHER
    if re - r > ae - a:
        return kind, -(re - r + 1)
    return kind, ae - a + 1
