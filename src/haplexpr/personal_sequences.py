"""Personal haplotype sequences over gene windows with ``bcftools consensus``.

The seed ran ``samtools faidx REF N | bcftools consensus -s S -H h`` per chromosome and
haplotype into whole-genome FASTAs. Here one ``bcftools consensus`` call per (individual,
chromosome, haplotype) covers every gene window of that chromosome: the windows are cut
from the reference into a small FASTA whose records are named ``chrom:start-end``, which
bcftools maps back to genome coordinates. Its chain output (``-c``) says where each
window's TSS landed after indels. bcftools comes from the pinned pysam wheel (1.24), so
window-edge behaviour is that of bcftools >= 1.20 everywhere.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pysam
import pysam.bcftools

from haplexpr.genes import GeneWindow
from haplexpr.sequence_store import StoredSequence, write_store

log = logging.getLogger(__name__)

REFERENCE_INDIVIDUAL = "reference"
VARIANT_FILTERS = {"all": None, "snvs": "type='snp'"}


class ConsensusError(RuntimeError):
    """bcftools consensus failed or produced output that does not match its input."""


def build_reference_store(
    reference: str | Path, windows: list[GeneWindow], prefix: str | Path
) -> Path:
    """Store the reference windows (haplotype 1 only) under the same layout as individuals."""
    with pysam.FastaFile(str(reference)) as fasta:
        items = [
            StoredSequence(
                w.gene, 1, w.chrom, w.interval.start, w.interval.end, w.strand,
                w.tss - w.interval.start,
                fasta.fetch(w.chrom, w.interval.start, w.interval.end),
            )
            for w in windows
        ]  # fmt: skip
    return write_store(prefix, items)


def build_personal_store(
    reference: str | Path,
    vcfs: dict[str, str | Path],
    sample: str,
    windows: list[GeneWindow],
    prefix: str | Path,
    variants: str = "all",
) -> Path:
    """Build both haplotypes of every window for one sample and write its store."""
    started = time.monotonic()
    by_chrom: dict[str, list[GeneWindow]] = defaultdict(list)
    for window in windows:
        by_chrom[window.chrom].append(window)
    missing = sorted(set(by_chrom) - set(vcfs))
    if missing:
        raise ConsensusError(
            f"no VCF for chromosome(s) {', '.join(missing)} holding study genes; add them "
            "to the URL list or drop those genes"
        )
    for chrom in by_chrom:
        with pysam.VariantFile(str(vcfs[chrom])) as vcf:
            present = list(vcf.header.samples)
            if sample not in present:
                raise ConsensusError(
                    f"sample {sample!r} is not in {vcfs[chrom]} (it has {len(present)} "
                    f"samples, e.g. {', '.join(present[:3])}); check the individual lists"
                )
    items: list[StoredSequence] = []
    with tempfile.TemporaryDirectory(prefix="haplexpr-consensus-") as tmp:
        for chrom, chrom_windows in by_chrom.items():
            region_fasta = Path(tmp) / f"{chrom}.windows.fa"
            write_region_fasta(reference, chrom_windows, region_fasta)
            for haplotype in (1, 2):
                items.extend(
                    consensus_windows(
                        region_fasta, vcfs[chrom], sample, haplotype, chrom_windows, variants
                    )
                )
    order = {window.gene: i for i, window in enumerate(windows)}
    items.sort(key=lambda item: (order[item.gene], item.haplotype))
    path = write_store(prefix, items)
    log.info(
        "built %d haplotype windows for %s in %.1f s -> %s",
        len(items),
        sample,
        time.monotonic() - started,
        path,
    )
    return path


def write_region_fasta(reference: str | Path, windows: list[GeneWindow], path: Path) -> None:
    """Cut the windows from the reference into records named by their samtools region."""
    with pysam.FastaFile(str(reference)) as fasta, path.open("w") as out:
        for window in windows:
            seq = fasta.fetch(window.chrom, window.interval.start, window.interval.end)
            out.write(f">{window.interval.to_region()}\n{seq}\n")


def consensus_windows(
    region_fasta: Path,
    vcf: str | Path,
    sample: str,
    haplotype: int,
    windows: list[GeneWindow],
    variants: str = "all",
) -> Iterator[StoredSequence]:
    """Run one ``bcftools consensus`` over all windows of a chromosome for one haplotype."""
    out = region_fasta.with_suffix(f".{sample}.hap{haplotype}.fa")
    chain = region_fasta.with_suffix(f".{sample}.hap{haplotype}.chain")
    args = ["-f", str(region_fasta), "-s", sample, "-H", str(haplotype)]
    if VARIANT_FILTERS[variants]:
        args += ["-i", VARIANT_FILTERS[variants]]
    args += ["-c", str(chain), "-o", str(out), str(vcf)]
    try:
        pysam.bcftools.consensus(*args, catch_stdout=False)
    except pysam.utils.SamtoolsError as error:
        raise ConsensusError(
            f"bcftools consensus {' '.join(args)} failed for sample {sample}, "
            f"haplotype {haplotype}: {error}"
        ) from error
    sequences = read_fasta(out)
    chains = read_chains(chain)
    if len(sequences) != len(windows) or len(chains) != len(windows):
        raise ConsensusError(
            f"bcftools consensus returned {len(sequences)} sequences and {len(chains)} chains "
            f"for {len(windows)} windows (sample {sample}, haplotype {haplotype})"
        )
    for window, (name, seq), blocks in zip(windows, sequences, chains, strict=True):
        if name != window.interval.to_region():
            raise ConsensusError(f"bcftools consensus reordered windows: {name}")
        yield StoredSequence(
            window.gene, haplotype, window.chrom, window.interval.start, window.interval.end,
            window.strand, map_through_chain(blocks, window.tss), seq,
        )  # fmt: skip


def read_fasta(path: Path) -> list[tuple[str, str]]:
    """Read a small FASTA into (name, sequence) pairs, keeping order."""
    records: list[tuple[str, list[str]]] = []
    with path.open() as handle:
        for line in handle:
            line = line.rstrip("\n")
            if line.startswith(">"):
                records.append((line[1:].split()[0], []))
            elif line:
                records[-1][1].append(line)
    return [(name, "".join(parts)) for name, parts in records]


Chain = tuple[int, int, list[tuple[int, int, int]]]


def read_chains(path: Path) -> list[Chain]:
    """Parse a chain file: per record (tStart, qStart, [(size, dt, dq), ...])."""
    chains: list[Chain] = []
    with path.open() as handle:
        for line in handle:
            fields = line.split()
            if not fields:
                continue
            if fields[0] == "chain":
                chains.append((int(fields[5]), int(fields[10]), []))
            else:
                size = int(fields[0])
                dt, dq = (int(fields[1]), int(fields[2])) if len(fields) == 3 else (0, 0)
                chains[-1][2].append((size, dt, dq))
    return chains


def map_through_chain(chain: Chain, position: int) -> int:
    """0-based offset in the personal window of reference ``position`` (deleted: next base)."""
    t, q, blocks = chain
    q_start = q
    for size, dt, dq in blocks:
        if position < t + size:
            return q + max(position - t, 0) - q_start
        t, q = t + size, q + size
        if position < t + dt:
            return q - q_start
        t, q = t + dt, q + dq
    return q - q_start + (position - t)
