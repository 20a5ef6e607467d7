"""Records that bcftools consensus 1.24 reads beyond their REF and ALT text, made plain.

htslib gives a record a reference length (``rlen``) from INFO/END and from the SVLEN of
``<DEL>``, ``<DUP>``, ``<INV>`` and ``<CNV>`` alleles, and bcftools consensus treats symbolic
alleles by name: ``<DEL>`` deletes the bases after POS up to ``rlen`` without checking REF,
``<*>``/``<NON_REF>`` (gVCF blocks) leave their bases and skip records inside them, and any
other (``<CN0>``, ``<DUP>``, ``<INS:ME:ALU>``...) stops it with an error when a haplotype
carries it. Such records are rare, so here each is rewritten, as text, into plain records
at the same POS that the fast engine's kernel applies exactly as bcftools applies the
original: one record per ALT (a haplotype carries at most one ALT of a record, so this
changes nothing else), REF bases from the reference where bcftools does not read REF, and
bytes that never match a reference base where bcftools' REF check fails.
``*`` and breakend ALTs need nothing: bcftools writes their text as it is, and so does the
kernel.

Not matched: such a record (other than ``<DEL>`` and ``<*>``) that starts before a window
and reaches into it. bcftools 1.24 cuts REF and ALT at the window's start by moving their
pointers, which here runs past REF's text (INFO/END beyond REF) or cuts a symbolic ALT
into plain text, so its output depends on memory contents (or it aborts); the fast engine
refuses such a record where a haplotype carries it, as the REF check fails on its padding.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from haplexpr.vcf.alleles import VCF_REF, VCF_SNP, variant_type

# Compared with the reference, these bytes never match: a REF padded with them to rlen
# fails the REF check as bcftools' does on REF text shorter than rlen, and passes it where
# the window's end cuts the record back to REF's length.
NO_MATCH = "!"
FREEZE = "<*>"  # the kernel's gVCF-block allele (bcftools' freeze_ref)
MISSING_BLOCK = "haplexpr:missing-block"  # ID of the line -M N writes over a gVCF block
_SVLEN_KINDS = ("<DEL", "<DUP", "<INV", "<CNV")  # whose SVLEN sets rlen, as in htslib 1.24
_INFO_INT = re.compile(r"(?:^|;)(END|SVLEN)=([^;\t]*)")


def needs_rewrite(line: str) -> bool:
    """Whether a VCF line may hold a symbolic ALT or an INFO/END or SVLEN (cheap test)."""
    return "<" in line or "END=" in line


def htslib_rlen(pos: int, ref: str, alts: list[str], info: str) -> int:
    """The reference length htslib 1.24 gives a record (``pos`` 1-based).

    At least REF's length; INFO/END reaching further extends it, and so does the SVLEN of
    each ``<DEL>``/``<DUP>``/``<INV>``/``<CNV>`` ALT (its own value, by ALT order).
    """
    values = {key: value for key, value in _INFO_INT.findall(info)}
    rlen = len(ref)
    end = _integers(values.get("END", ""))
    if end:
        rlen = max(rlen, end[0] - pos + 1)
    svlen = _integers(values.get("SVLEN", ""))
    for alt, length in zip(alts, svlen, strict=False):
        if alt.startswith(_SVLEN_KINDS):
            rlen = max(rlen, abs(length) + 1)
    return rlen


def _integers(text: str) -> list[int]:
    """The comma-separated integers of an INFO value ("." and junk read as 0)."""
    return [int(v) if v.lstrip("-").isdigit() else 0 for v in text.split(",")] if text else []


def rewrite(
    line: str, fetch: Callable[[int, int], str], keep_missing: bool, snvs_only: bool
) -> list[str]:
    """The plain records that replace ``line`` (itself if it needs none, [] to drop it).

    ``fetch(start, end)`` gives 0-based reference bases; ``keep_missing`` is ``-M N``;
    ``snvs_only`` is ``-i "type='snp'"``, judged on the original record as bcftools does.
    """
    fields = line.split("\t")
    if len(fields) < 10 or not fields[8].startswith("GT"):
        return [line]  # no genotypes to apply (or a GT the parser refuses): as it is
    pos, ref, alts = int(fields[1]), fields[3], fields[4].split(",")
    rlen = htslib_rlen(pos, ref, alts, fields[7])
    symbolic = [a.startswith("<") for a in alts]
    if rlen == len(ref) and not any(symbolic):
        return [line]
    if snvs_only and _record_type(ref, alts) != VCF_SNP:  # bcftools' type='snp'
        return []
    gts = [sample.split(":", 1)[0] for sample in fields[9:]]
    bases = fetch(pos - 1, pos - 1 + rlen) or ref  # a record past the contig: never applied
    pad = NO_MATCH * (rlen - len(ref))
    out = []
    for k, alt in enumerate(alts, start=1):
        if alt.upper() == "<DEL>":
            new_ref, new_alt = bases, bases[:1]
        elif alt.upper() in ("<*>", "<NON_REF>"):
            new_ref, new_alt = bases, FREEZE
        elif alt.startswith("<"):  # bcftools: "Symbolic alleles other than ... not supported"
            new_ref, new_alt = NO_MATCH * rlen, "N"
        else:
            # an ALT at least as long as REF gets the padding too: a common suffix, it keeps
            # the type htslib gives the pair (SNP for type='snp'), and a window's end that cuts
            # the record back to REF cuts it off the ALT as well
            new_ref, new_alt = ref + pad, alt + pad if len(alt) >= len(ref) else alt
        out.append(_line(fields, new_ref, new_alt, [_carrier(gt, k) for gt in gts]))
    if keep_missing and any("." in gt for gt in gts):
        out.append(_missing_line(fields, bases, gts))
    return out


def _missing_line(fields: list[str], bases: str, gts: list[str]) -> str:
    """The record ``-M N`` applies for a missing allele.

    bcftools makes the record ``REF[0] -> N``, so htslib recomputes its rlen: an INFO/END
    still counts (the REF check then fails), an SVLEN no longer does. Over a gVCF block (a
    record of type REF only: ``G T,<*>`` is not one) it writes N over the whole block, and
    stops on one starting before the window (it reads the bases from before its buffer).
    """
    pos, ref, alts = int(fields[1]), fields[3], fields[4].split(",")
    if len(bases) > 1 and _record_type(ref, alts) == VCF_REF:
        block = [*fields[:2], MISSING_BLOCK, *fields[3:]]
        return _line(block, bases, "N" * len(bases), [_carrier(gt, -1) for gt in gts])
    rlen = htslib_rlen(pos, ref[:1], ["N"], fields[7])
    if rlen > 1:
        new_ref, new_alt = NO_MATCH * rlen, "N"
    else:
        new_ref, new_alt = ref[:1], "N"
    return _line(fields, new_ref, new_alt, [_only_missing(gt) for gt in gts])


def _record_type(ref: str, alts: list[str]) -> int:
    """The record's htslib type: its ALTs' types ORed (``<*>``, ``<NON_REF>``: REF)."""
    kinds = 0
    for alt in alts:
        kind, _ = variant_type(_bytes(ref), _bytes(alt))
        kinds |= kind
    return kinds


def _bytes(allele: str) -> np.ndarray:
    return np.frombuffer(allele.encode(), np.uint8)


_ALLELE = re.compile(r"\d+|\.")


def _carrier(gt: str, k: int) -> str:
    """GT for the record of ALT ``k``: its carriers 1, other calls 0 (-1: missing ones 1)."""

    def code(match: re.Match) -> str:
        allele = -1 if match[0] == "." else int(match[0])
        return "1" if allele == k else "0"

    return _ALLELE.sub(code, gt)


def _only_missing(gt: str) -> str:
    """GT keeping missing alleles and making every called one REF."""
    return _ALLELE.sub(lambda m: m[0] if m[0] == "." else "0", gt)


def _line(fields: list[str], ref: str, alt: str, gts: list[str]) -> str:
    """A plain record at the original POS: GT only, INFO dropped (its END is in REF now)."""
    return "\t".join([*fields[:3], ref, alt, fields[5], fields[6], ".", "GT", *gts])
