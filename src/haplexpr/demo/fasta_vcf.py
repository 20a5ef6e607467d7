"""FASTA and bgzipped VCF writing for synthetic genomes: the demo's, the tests' and benchmarks'.

One writer of each, so the demo dataset, the personal-sequence benchmark's workload and the
tests' hand-written cases are laid out alike (60 bases a FASTA line, BGZF with its EOF block,
phased ``a|b`` genotypes) and indexed alike (``samtools faidx``; CSI and/or TBI through the
bcftools 1.24 bundled with pysam).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pysam
import pysam.bcftools
from pysam.libcbgzf import BGZFile

FASTA_WIDTH = 60  # bases per FASTA line, as samtools and bcftools write them
VCF_COLUMNS = ("#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT")
PHASED_GT = '##FORMAT=<ID=GT,Number=1,Type=String,Description="Phased genotype">'


def as_bytes(seq: str | bytes | np.ndarray) -> np.ndarray:
    """A sequence as a uint8 array (ASCII), whatever it was given as."""
    if isinstance(seq, np.ndarray):
        return seq.astype(np.uint8, copy=False)
    return np.frombuffer(seq.encode() if isinstance(seq, str) else seq, np.uint8)


def wrapped(seq: np.ndarray) -> bytes:
    """Sequence bytes as FASTA lines of FASTA_WIDTH, each ending in a newline (one array)."""
    full = len(seq) // FASTA_WIDTH * FASTA_WIDTH
    lines = np.empty((full // FASTA_WIDTH, FASTA_WIDTH + 1), np.uint8)
    lines[:, :FASTA_WIDTH] = seq[:full].reshape(-1, FASTA_WIDTH)
    lines[:, FASTA_WIDTH] = ord("\n")
    tail = seq[full:].tobytes() + b"\n" if full < len(seq) else b""
    return lines.tobytes() + tail


def write_fasta(
    path: Path,
    sequences: Mapping[str, str | bytes | np.ndarray],
    descriptions: Mapping[str, str] | None = None,
) -> Path:
    """Write ``{name: sequence}`` as FASTA (``>name description``) and index it with faidx."""
    path = Path(path)
    with path.open("wb") as out:
        for name, seq in sequences.items():
            description = (descriptions or {}).get(name)
            out.write(f">{name}{' ' + description if description else ''}\n".encode())
            out.write(wrapped(as_bytes(seq)))
    pysam.faidx(str(path))
    return path


def contig_lines(lengths: Mapping[str, int], assembly: str | None = None) -> list[str]:
    """``##contig`` header lines, with ``assembly=`` when given."""
    extra = f",assembly={assembly}" if assembly else ""
    return [f"##contig=<ID={c},length={n}{extra}>" for c, n in lengths.items()]


def vcf_header(meta: Iterable[str], samples: Iterable[str]) -> str:
    """A VCFv4.2 header: the fileformat line, ``meta`` lines, then the column line."""
    lines = ["##fileformat=VCFv4.2", *meta, "\t".join([*VCF_COLUMNS, *samples])]
    return "\n".join(lines) + "\n"


def phased_lines(fixed: list[str], haps: np.ndarray) -> bytes:
    """Data lines: each ``fixed[i]`` (CHROM..FORMAT) then ``haps[i]``'s genotypes ``a|b``.

    ``haps`` is (records, 2 x samples) of 0/1 alleles, hap1 and hap2 of each sample side by
    side; the genotype text is built as one array, so 100,000 records x 400 samples take
    seconds, not minutes.
    """
    n_records, n_haps = haps.shape
    text = np.empty((n_records, n_haps // 2, 4), np.uint8)
    text[:, :, 0] = ord("0") + haps[:, 0::2]
    text[:, :, 1] = ord("|")
    text[:, :, 2] = ord("0") + haps[:, 1::2]
    text[:, :, 3] = ord("\t")
    text[:, -1, 3] = ord("\n")
    rows = text.reshape(n_records, -1)
    return b"".join(f"{f}\t".encode() + row.tobytes() for f, row in zip(fixed, rows, strict=True))


def write_vcf(
    path: Path, header: str, body: Iterable[str | bytes], index: tuple[str, ...] = ()
) -> Path:
    """Write a BGZF-compressed VCF (with EOF block) from its header and body text chunks.

    ``index``: any of ``"csi"`` and ``"tbi"``, made with pysam's bcftools 1.24.
    """
    path = Path(path)
    with BGZFile(str(path), "wb") as out:
        out.write(header.encode())
        for chunk in body:
            out.write(chunk.encode() if isinstance(chunk, str) else chunk)
    for kind in index:
        if kind not in ("csi", "tbi"):
            raise ValueError(f"index must be 'csi' or 'tbi', got {kind!r}")
        pysam.bcftools.index("-f", "--tbi" if kind == "tbi" else "--csi", str(path))
    return path
