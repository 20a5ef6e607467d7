"""Small reference FASTAs and VCFs that tests write for themselves (expectations stay in tests)."""

from __future__ import annotations

from pathlib import Path

import pysam
import pysam.bcftools

VCF_COLUMNS = ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"]
# Every FORMAT/INFO/ALT field the tests' records use, declared once.
DECLARATIONS = [
    '##ALT=<ID=DEL,Description="Deletion">',
    '##INFO=<ID=END,Number=1,Type=Integer,Description="End position">',
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
]


def write_fasta(path: Path, contigs: dict[str, str], prefix: str = "") -> Path:
    """Write ``{name: sequence}`` as a FASTA (60 bases a line) and index it with faidx."""
    with path.open("w") as out:
        for name, seq in contigs.items():
            out.write(f">{prefix}{name}\n")
            for i in range(0, len(seq), 60):
                out.write(seq[i : i + 60] + "\n")
    pysam.faidx(str(path))
    return path


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
    header = [
        "##fileformat=VCFv4.2",
        *(f"##contig=<ID={c},length={n}>" for c, n in contigs.items()),
        *DECLARATIONS,
        "\t".join([*VCF_COLUMNS, *samples]),
    ]
    plain = path.with_suffix("")
    plain.write_text("\n".join(header + lines) + "\n")
    pysam.tabix_compress(str(plain), str(path), force=True)
    plain.unlink()
    if index:
        pysam.bcftools.index(str(path))
    return path
