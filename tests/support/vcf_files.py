"""Small reference FASTAs and VCFs that tests write for themselves (expectations stay in tests).

The files are written by the library's synthetic-genome writers
(:mod:`haplexpr.demo.fasta_vcf`), as the demo and the benchmark write theirs.
"""

from __future__ import annotations

from pathlib import Path

from haplexpr.demo import fasta_vcf

# Every FORMAT/INFO/ALT field the tests' records use, declared once.
DECLARATIONS = [
    '##ALT=<ID=DEL,Description="Deletion">',
    '##INFO=<ID=END,Number=1,Type=Integer,Description="End position">',
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
]


def write_fasta(path: Path, contigs: dict[str, str], prefix: str = "") -> Path:
    """Write ``{name: sequence}`` as a FASTA (60 bases a line) and index it with faidx."""
    return fasta_vcf.write_fasta(path, {prefix + name: seq for name, seq in contigs.items()})


def record_line(chrom, pos, ref: str, alt: str, calls, fmt: str = "GT", info: str = ".") -> str:
    """One tab-separated VCF data line (``pos`` 1-based)."""
    return "\t".join([chrom, str(pos), ".", ref, alt, ".", "PASS", info, fmt, *calls])


def write_vcf(
    path: Path,
    lines: list[str],
    samples,
    contigs: dict[str, int],
    index: bool = False,
) -> Path:
    """bgzip a VCF of data ``lines`` to ``path`` (``.vcf.gz``); optionally CSI-index it."""
    header = fasta_vcf.vcf_header([*fasta_vcf.contig_lines(contigs), *DECLARATIONS], samples)
    body = [line + "\n" for line in lines]
    return fasta_vcf.write_vcf(path, header, body, index=("csi",) if index else ())
