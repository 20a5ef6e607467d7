"""The benchmark's workload: the library's synthetic genome at 1000-Genomes density, cached.

One contig of random bases (41% GC) with soft-masked and N stretches, background variants
drawn by :func:`haplexpr.demo.genome.background_variants` (the demo's generator) with
1000-Genomes-like settings, phased samples, and windows spread over the contig. Written by
:mod:`haplexpr.demo.fasta_vcf` (FASTA with faidx, bgzipped VCF with CSI and TBI indexes).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from haplexpr.demo.fasta_vcf import write_fasta, write_vcf
from haplexpr.demo.genome import (
    NeutralSpectrum,
    Runs,
    VariantModel,
    background_variants,
    random_bases,
    scatter_masks,
    variant_lines,
    variants_header,
)

from .params import Params

CONTIG = "chr1"
WORKLOAD_VERSION = 2  # bump when the generator changes, so cached workloads are rebuilt
INDEL_GEOMETRIC_P = 0.45  # indel length ~ Geometric(0.45), capped at 20 bp: mostly 1-2 bp
INDEL_LENGTHS = tuple(
    [INDEL_GEOMETRIC_P * (1 - INDEL_GEOMETRIC_P) ** (k - 1) for k in range(1, 20)]
    + [(1 - INDEL_GEOMETRIC_P) ** 19]
)


def variant_model(params: Params) -> VariantModel:
    """1000-Genomes-like variants: neutral spectrum, indels up to 20 bp, no TSS kept clear."""
    return VariantModel(
        spacing=params.spacing,
        indel_fraction=params.indel_fraction,
        indel_length_weights=INDEL_LENGTHS,
        spectrum=NeutralSpectrum(),
        clearance=0,
    )


def make_reference(rng: np.random.Generator, length: int) -> np.ndarray:
    """Random bases with ~5% soft-masked (0.1-2 kb stretches) and a few 1-20 kb N gaps."""
    seq = random_bases(rng, length)
    lower = Runs(max(1, length // 20_000), 100, 2_000)
    gaps = Runs(max(1, length // 4_000_000), 1_000, 20_000)
    scatter_masks(rng, seq, lower, gaps, keep_clear=np.empty(0, np.int64))
    return seq


def make_windows(rng: np.random.Generator, length: int, params: Params) -> np.ndarray:
    """(n, 2) 0-based half-open windows spread over the contig, sorted."""
    width = params.window_length
    step = length // params.windows
    if step >= width:
        starts = np.arange(params.windows) * step + rng.integers(
            0, step - width + 1, params.windows
        )
    else:
        starts = np.sort(rng.integers(0, length - width + 1, params.windows))
    return np.stack([starts, starts + width], axis=1).astype(np.int64)


def length_change(variants: list, windows: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """(windows, haplotypes) bases gained or lost by the records lying wholly in each window.

    Sizes the one-FASTA-per-sequence estimate; done in chunks of records, so the full
    genotype matrix is never held.
    """
    pos = np.array([v.pos - 1 for v in variants], np.int64)
    ref_end = pos + np.array([len(v.ref) for v in variants], np.int64)
    delta = np.array([len(v.alt) - len(v.ref) for v in variants], np.int64)
    lo, hi = np.searchsorted(pos, windows[:, 0]), np.searchsorted(pos, windows[:, 1])
    change = np.zeros((len(windows), len(variants[0].haps)), np.int64)
    for first in range(0, len(variants), chunk):
        last = min(first + chunk, len(variants))
        haps = np.stack([v.haps for v in variants[first:last]]).astype(np.int64)
        for w, (start, end) in enumerate(windows):
            a, b = max(lo[w], first), min(hi[w], last)
            if a < b:
                inside = (ref_end[a:b] <= end) & (pos[a:b] >= start)
                change[w] += (delta[a:b] * inside) @ haps[a - first : b - first]
    return change


def build_workload(workdir: Path, params: Params) -> dict:
    """Build (or reuse) the reference, VCF and windows under ``workdir``; return the manifest."""
    manifest_path = workdir / "manifest.json"
    key = {"version": WORKLOAD_VERSION, **asdict(params)}
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest["key"] == key:
            print(f"workload: reusing {workdir}")
            return manifest
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rng = np.random.default_rng(params.seed)
    length = int(params.contig_mb * 1_000_000)
    seq = make_reference(rng, length)
    samples = [f"S{i:04d}" for i in range(1, params.samples + 1)]
    variants = background_variants(rng, seq, CONTIG, [], 2 * len(samples), variant_model(params))
    windows = make_windows(rng, length, params)
    reference = write_fasta(workdir / "reference.fa", {CONTIG: seq})
    source = "benchmarks/personal_sequences " + " ".join(f"{k}={v}" for k, v in key.items())
    header = variants_header({CONTIG: length}, samples, source)
    vcf = write_vcf(workdir / "variants.vcf.gz", header, variant_lines(variants), ("csi", "tbi"))
    bed = workdir / "windows.bed"
    bed.write_text(
        "".join(f"{CONTIG}\t{s}\t{e}\tw{i:04d}\n" for i, (s, e) in enumerate(windows.tolist()))
    )
    np.save(workdir / "length_change.npy", length_change(variants, windows))
    allele_count = np.array([int(v.haps.sum()) for v in variants])
    manifest = {
        "key": key,
        "reference": str(reference),
        "vcf": str(vcf),
        "bed": str(bed),
        "contig": CONTIG,
        "contig_length": length,
        "samples": samples,
        "windows": windows.tolist(),
        "records": len(variants),
        "snvs": sum(len(v.ref) == len(v.alt) for v in variants),
        "deletions": sum(len(v.ref) > len(v.alt) for v in variants),
        "insertions": sum(len(v.ref) < len(v.alt) for v in variants),
        "monomorphic": int((allele_count == 0).sum()),
        "rare": int(((allele_count > 0) & (allele_count < 0.01 * 2 * len(samples))).sum()),
        "build_seconds": time.perf_counter() - started,
    }
    manifest_path.write_text(json.dumps(manifest))
    return manifest
