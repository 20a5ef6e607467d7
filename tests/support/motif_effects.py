"""A motif-counting model on a small real store: variant effects with exact answers.

The reference plants ``MOTIF`` near two genes' TSSs; :class:`MotifCounter` counts its copies,
so every SNV's effect is a count anyone can work out by hand (:func:`motif_count`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from torch import nn

from haplexpr.coordinates import Interval
from haplexpr.sequence_encoding import reverse_complement
from haplexpr.sequences.personal_sequences import build_haplotype_store, build_reference_store
from haplexpr.sequences.store import HaplotypeStore
from haplexpr.study.genes import GeneWindow
from support.vcf_files import record_line, write_fasta, write_vcf

MOTIF = "GATTACA"
LENGTH = 40
BASE = "".join(np.random.default_rng(3).choice(list("CG"), 600))  # no A/T: no stray motif


def planted_reference() -> str:
    """gA (+, TSS 150): motif at 140 and a one-off copy at 152; gB (-, TSS 400): motif at 395."""
    ref = list(BASE)
    ref[140:147] = MOTIF
    ref[152:159] = "GATTCCA"  # 156 C>A completes it
    ref[395:402] = reverse_complement(MOTIF)  # the minus-strand gene reads it forwards
    return "".join(ref)


REF = planted_reference()
WINDOWS = [
    GeneWindow("gA", "1", 150, "+", Interval("1", 100, 200)),
    GeneWindow("gB", "1", 400, "-", Interval("1", 350, 450)),
]
# (0-based position, ALT, genotypes of S, T): 141 and 143 each break gA's motif, 156
# completes its near-copy, 165 touches nothing, 120 lies outside the 40-base input;
# 397 breaks gB's motif.
SNVS = [
    (120, "A", "1|0", "0|0"), (141, "C", "1|0", "0|1"), (143, "C", "1|1", "0|0"),
    (156, "A", "0|1", "1|1"), (165, "A", "0|0", "1|0"), (397, "C", "1|0", "1|1"),
]  # fmt: skip
SAMPLES = ["S", "T"]


class MotifCounter(nn.Module):
    """Counts exact copies of ``MOTIF`` in a one-hot window: a conv with a 0/1 filter."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 1, len(MOTIF), bias=False)
        weight = torch.zeros(1, 4, len(MOTIF))
        for i, base in enumerate(MOTIF):
            weight[0, "ACGT".index(base), i] = 1.0
        self.conv.weight.data = weight
        self.windows = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.windows += len(x)
        hits = self.conv(x.transpose(1, 2)) >= len(MOTIF) - 0.5
        return hits.float().sum(dim=(1, 2))


def build_store(root, ref, variants, samples=SAMPLES, windows=WINDOWS):
    """Reference, VCF (``(pos, ref, alt, *genotypes)``, 0-based) and store under ``root``."""
    fasta = write_fasta(root / "ref.fa", {"1": ref})
    lines = [record_line("1", p + 1, r, a, gts) for p, r, a, *gts in variants]
    vcf = write_vcf(root / "1.vcf.gz", lines, samples, {"1": len(ref)}, index=True)
    build_reference_store(fasta, windows, root / "reference")
    shard = build_haplotype_store(fasta, {"1": vcf}, samples, windows, root / "s.haplotypes.npz")
    return HaplotypeStore(root / "reference", [shard]), {"1": vcf}


def snv_window(tss: int, strand: str, edits: dict[int, str], ref: str = REF) -> str:
    """The oriented 40-base input with SNVs ``edits`` (0-based position: ALT), written apart."""
    bases = list(ref)
    for position, alt in edits.items():
        bases[position] = alt
    window = "".join(bases[tss - LENGTH // 2 : tss + LENGTH // 2])
    return window if strand == "+" else reverse_complement(window)


def motif_count(ref: str, tss: int, strand: str, edits: dict[int, str]) -> int:
    """Copies of MOTIF in the oriented 40-base input with SNVs ``edits``."""
    return len(re.findall(f"(?={MOTIF})", snv_window(tss, strand, edits, ref)))


def planted_motif_store(root: Path):
    """The store (and VCFs) of ``SNVS`` on the planted reference, under ``root``."""
    variants = [(p, REF[p], alt, *gts) for p, alt, *gts in SNVS]
    return build_store(root, REF, variants)


def carried(sample: str, haplotype: int) -> dict[int, str]:
    column = 1 + SAMPLES.index(sample)
    return {p: row[0] for p, *row in SNVS if row[column].split("|")[haplotype - 1] == "1"}
