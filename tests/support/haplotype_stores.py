"""A small real haplotype store: two genes (one per strand), individuals S and T.

Each (gene, individual, haplotype) carries one private SNV, so every model input differs
from every other and from the reference; tests of what reads the store build it once.
``SHARED_SNVS`` (individuals S, T, U) instead makes haplotypes alike, as real ones are.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from haplexpr.coordinates import Interval
from haplexpr.sequences.personal_sequences import build_haplotype_store, build_reference_store
from haplexpr.sequences.store import HaplotypeStore
from haplexpr.study.genes import GeneWindow
from support.vcf_files import record_line, write_fasta, write_vcf

REF = "".join(random.Random(5).choice("ACGT") for _ in range(600))
WINDOWS = [
    GeneWindow("gA", "1", 150, "+", Interval("1", 100, 200)),
    GeneWindow("gB", "1", 400, "-", Interval("1", 350, 450)),
]
# (0-based position, genotype of S, genotype of T)
SNVS = [
    (130, "1|0", "0|0"), (140, "0|1", "0|0"), (160, "0|0", "1|0"), (170, "0|0", "0|1"),
    (380, "1|0", "0|0"), (390, "0|1", "0|0"), (410, "0|0", "1|0"), (420, "0|0", "0|1"),
]  # fmt: skip
SAMPLES = ["S", "T"]
# gA: S's haplotype 2 is U's haplotype 1; T's haplotype 1, U's haplotype 2 and the
# reference are alike; gB: S and T have the same two haplotypes, and U twice the reference.
SHARED_SNVS = [
    (130, "1|0", "0|1", "0|0"), (160, "1|1", "0|0", "1|0"),
    (380, "0|1", "0|1", "0|0"),
]  # fmt: skip
SHARED_SAMPLES = ["S", "T", "U"]
SHARED_INDIVIDUALS = ["reference", *SHARED_SAMPLES]  # as the workflow shards them


def other_base(base: str) -> str:
    return {"A": "C", "C": "G", "G": "T", "T": "A"}[base]


def build_two_gene_store(
    root: Path, snvs: list[tuple] = SNVS, samples: list[str] = SAMPLES
) -> HaplotypeStore:
    """Write the reference, VCF and store under ``root``; open the store."""
    fasta = write_fasta(root / "ref.fa", {"1": REF})
    lines = [record_line("1", p + 1, REF[p], other_base(REF[p]), gts) for p, *gts in snvs]
    vcf = write_vcf(root / "1.vcf.gz", lines, samples, {"1": len(REF)}, index=True)
    build_reference_store(fasta, WINDOWS, root / "reference")
    shard = build_haplotype_store(fasta, {"1": vcf}, samples, WINDOWS, root / "s.haplotypes.npz")
    return HaplotypeStore(root / "reference", [shard])


def hand_one_hot(seq: str) -> np.ndarray:
    """A, C, G, T columns; N (padding) is an all-zero row: written apart from the library's."""
    return np.array([[base == b for b in "ACGT"] for base in seq], dtype=np.float32)
