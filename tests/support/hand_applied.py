"""Hand-applied variants: a random two-contig reference, 13 records and what they should give.

Four gene windows (both strands, one clipped at the contig start, one on each contig) with
SNVs, insertions and deletions on one or both haplotypes of sample S, and the mirror-image
genotypes on T so that picking the wrong sample shows. ``expected_haplotype`` applies them
by hand, apart from either engine; the fixtures (``tests/conftest.py``: ``hand_inputs``,
``hand_store_dir``, ``hand_store``, ``hand_sample``) build the stores both engines write.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

from haplexpr.consensus_settings import ConsensusOptions
from haplexpr.coordinates import Interval
from haplexpr.sequences.personal_sequences import build_haplotype_store, build_reference_store
from haplexpr.sequences.store import HaplotypeStore
from haplexpr.study.genes import GeneWindow
from support import vcf_files
from support.vcf_files import record_line, write_fasta

CONTIG_LENGTHS = {"1": 3000, "2": 1500}
WINDOW_LENGTH = 200
SAMPLE = "S"
OTHER = "T"  # a second sample whose genotypes differ, so picking the wrong one shows


def random_contig(length: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice("ACGT") for _ in range(length))


REFERENCE = {chrom: random_contig(n, seed=i) for i, (chrom, n) in enumerate(CONTIG_LENGTHS.items())}


def other_base(base: str) -> str:
    return {"A": "C", "C": "G", "G": "T", "T": "A"}[base]


def complement_reverse(seq: str) -> str:
    return seq.translate(str.maketrans("ACGTN", "TGCAN"))[::-1]


@dataclass(frozen=True)
class Variant:
    """One biallelic record: 0-based position, alleles and the phased genotypes of S and T."""

    chrom: str
    pos: int
    ref: str
    alt: str
    gt: tuple[int, int]
    other_gt: tuple[int, int] = (0, 0)

    @property
    def is_snv(self) -> bool:
        return len(self.ref) == 1 and len(self.alt) == 1


def snv(chrom: str, pos: int, gt: tuple[int, int], other_gt=(0, 0)) -> Variant:
    base = REFERENCE[chrom][pos]
    return Variant(chrom, pos, base, other_base(base), gt, other_gt)


def insertion(chrom: str, pos: int, inserted: str, gt: tuple[int, int]) -> Variant:
    base = REFERENCE[chrom][pos]
    return Variant(chrom, pos, base, base + inserted, gt, (1, 1))


def deletion(chrom: str, pos: int, deleted: int, gt: tuple[int, int]) -> Variant:
    """Delete the ``deleted`` bases after the anchor base at ``pos``."""
    ref = REFERENCE[chrom][pos : pos + deleted + 1]
    return Variant(chrom, pos, ref, ref[0], gt, (1, 1))


# Windows are [TSS - 100, TSS + 100) clipped to the contig; no variant touches a window edge.
WINDOWS = [
    # gA, + strand: SNVs on hap1 only / hap2 only / both; +3 insertion on hap1 and -4
    # deletion on hap2, both upstream of the TSS.
    GeneWindow("gA", "1", 1000, "+", Interval("1", 900, 1100)),
    # gB, - strand: a 9-base deletion over the TSS on hap1, an SNV on hap2.
    GeneWindow("gB", "1", 2000, "-", Interval("1", 1900, 2100)),
    # gC, + strand, clipped at the contig start: SNV on both, +2 insertion on hap2.
    GeneWindow("gC", "1", 50, "+", Interval("1", 0, 150)),
    # gD on the second contig, - strand: SNV hap1, +2 insertion upstream on hap2,
    # a deletion downstream of the TSS on hap1.
    GeneWindow("gD", "2", 700, "-", Interval("2", 600, 800)),
]
GENES = {w.gene: w for w in WINDOWS}

VARIANTS = [
    insertion("1", 30, "GT", (0, 1)),
    snv("1", 10, (1, 1)),
    snv("1", 920, (1, 0), other_gt=(0, 1)),
    snv("1", 940, (0, 1), other_gt=(1, 0)),
    insertion("1", 960, "AAA", (1, 0)),
    deletion("1", 980, 4, (0, 1)),
    snv("1", 1050, (1, 1)),
    deletion("1", 1994, 9, (1, 0)),  # deletes 1995..2003, the TSS (2000) among them
    snv("1", 2050, (0, 1)),
    snv("1", 2500, (1, 1)),  # outside every window
    snv("2", 650, (1, 0)),
    insertion("2", 680, "CA", (0, 1)),
    deletion("2", 750, 5, (1, 0)),
]


def expected_haplotype(
    window: GeneWindow, haplotype: int, snvs_only: bool = False
) -> tuple[str, int]:
    """Apply the sample's ALT alleles by hand: (haplotype sequence, 0-based TSS offset).

    Every reference base of the window maps to the text it becomes (an ALT allele at its
    anchor, ``""`` when deleted); the TSS offset is the length of the text before the TSS
    base, so a deleted TSS lands on the next surviving base.
    """
    contig = REFERENCE[window.chrom]
    start, end = window.interval.start, window.interval.end
    becomes = {p: contig[p] for p in range(start, end)}
    for v in VARIANTS:
        if v.chrom != window.chrom or not start <= v.pos < end or v.gt[haplotype - 1] == 0:
            continue
        if snvs_only and not v.is_snv:
            continue
        assert v.pos + len(v.ref) <= end, "test variants must not cross a window edge"
        assert contig[v.pos : v.pos + len(v.ref)] == v.ref
        becomes[v.pos] = v.alt
        for p in range(v.pos + 1, v.pos + len(v.ref)):
            becomes[p] = ""
    sequence = "".join(becomes[p] for p in range(start, end))
    tss_offset = sum(len(becomes[p]) for p in range(start, window.tss))
    return sequence, tss_offset


def write_vcf(path: Path, chrom: str, samples=(SAMPLE, OTHER)) -> Path:
    """A phased, bgzipped and indexed VCF of the test variants on one contig."""
    lines = [
        record_line(
            chrom,
            v.pos + 1,
            v.ref,
            v.alt,
            [f"{a}|{b}" for a, b in (v.gt, v.other_gt)][: len(samples)],
        )
        for v in sorted(VARIANTS, key=lambda v: v.pos)
        if v.chrom == chrom
    ]
    return vcf_files.write_vcf(path, lines, samples, CONTIG_LENGTHS, index=True)


class SampleView:
    """One individual's haplotypes in a HaplotypeStore, addressed like the old per-sample API."""

    def __init__(self, store: HaplotypeStore, individual: str):
        self.store = store
        self.individual = individual

    def sequence(self, gene, haplotype):
        return self.store.sequence(self.individual, gene, haplotype)

    def tss_offset(self, gene, haplotype):
        return self.store.tss_offset(self.individual, gene, haplotype)

    def model_input(self, gene, haplotype, length):
        return self.store.model_input(self.individual, gene, haplotype, length)


def write_inputs(root: Path) -> tuple[Path, dict[str, Path]]:
    """The reference FASTA and one VCF per contig, under ``root``."""
    reference = write_fasta(root / "ref.fa", REFERENCE)
    vcfs = {chrom: write_vcf(root / f"chr{chrom}.vcf.gz", chrom) for chrom in CONTIG_LENGTHS}
    return reference, vcfs


def build_stores(
    reference: Path, vcfs: dict[str, Path], engine: str, out: Path, scratch: Path
) -> Path:
    """Reference + haplotype store of S and T under ``out``, the system temp dir ``scratch``.

    Fails if the engine leaves consensus scratch files behind.
    """
    original = tempfile.tempdir
    tempfile.tempdir = str(scratch)
    try:
        build_reference_store(reference, WINDOWS, out / "reference")
        path = build_haplotype_store(
            reference,
            vcfs,
            [SAMPLE, OTHER],
            WINDOWS,
            out / "shard000.haplotypes.npz",
            ConsensusOptions(engine),
        )
    finally:
        tempfile.tempdir = original
    assert path == out / "shard000.haplotypes.npz"
    assert list(scratch.iterdir()) == [], "consensus scratch files were left behind"
    return out


def open_store(store_dir: Path) -> HaplotypeStore:
    """The store ``build_stores`` wrote."""
    return HaplotypeStore(store_dir / "reference", [store_dir / "shard000.haplotypes.npz"])
