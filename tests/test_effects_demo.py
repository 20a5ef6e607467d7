"""Causal-variant recovery on the demo's truth: an untrained tiny Enformer learned nothing."""

from __future__ import annotations

import shutil

import pandas as pd
import pysam
import pysam.bcftools
import pytest
import torch
import yaml

from haplexpr.coordinates import Interval
from haplexpr.effects.checks import causal_recovery, read_truth
from haplexpr.effects.scorers import CountingScorer, S2FScorer
from haplexpr.effects.scoring import EffectBudget, score_genes
from haplexpr.models import registry
from haplexpr.sequences.personal_sequences import build_haplotype_store, build_reference_store
from haplexpr.sequences.store import HaplotypeStore
from haplexpr.study.genes import GeneWindow

DEMO = "data/demo"
GENES = 12
HALF_WINDOW = 4096


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    """The demo's reference windows and VCFs (indexed copies), as a store of every sample."""
    root = tmp_path_factory.mktemp("demo_effects")
    truth = pd.read_csv(f"{DEMO}/truth.tsv", sep="\t", dtype={"chrom": str})
    windows = [
        GeneWindow(r.gene, r.chrom, r.tss - 1, r.strand,
                   Interval(r.chrom, r.tss - 1 - HALF_WINDOW, r.tss - 1 + HALF_WINDOW))
        for r in truth.itertuples()
    ]  # fmt: skip
    vcfs = {}
    for chrom in ("1", "2"):
        vcfs[chrom] = shutil.copy(f"{DEMO}/vcf/demo.chr{chrom}.vcf.gz", root)
        pysam.bcftools.index(str(vcfs[chrom]))
    with pysam.VariantFile(str(vcfs["1"])) as vcf:
        samples = list(vcf.header.samples)
    build_reference_store(f"{DEMO}/reference.fa", windows, root / "reference")
    shard = build_haplotype_store(f"{DEMO}/reference.fa", vcfs, samples, windows, root / "s.npz")
    return HaplotypeStore(root / "reference", [shard]), vcfs, truth


def test_untrained_model_recovers_causal_variants_no_better_than_tss_distance(demo_store):
    store, vcfs, truth = demo_store
    causal = read_truth(f"{DEMO}/truth.tsv")
    genes = [g for g in truth["gene"] if causal[g]][:GENES]
    config = yaml.safe_load(open("config.yaml"))["models"]["enformer"]
    torch.manual_seed(0)
    scorer = CountingScorer(
        S2FScorer(registry.build(config), config["input_length"], device="cpu"), 16
    )
    tables = score_genes(scorer, store, genes, vcfs, [], EffectBudget())
    effects = tables.effects.assign(
        key=lambda t: t.chrom + ":" + t.pos.astype(str) + ":" + t.ref + ":" + t.alt
    )
    # reference background only: the reference and each variant once per gene
    assert scorer.forward_passes <= len(genes) + len(effects)
    tss = truth.set_index("gene")["tss"]
    rows = []
    for gene, group in effects.groupby("gene"):
        group = group.set_index("key")
        nearest = -(group["pos"] - tss[gene]).abs()  # a ranking that uses no model
        rows.append(causal_recovery(group["effect"], causal[gene], 100, 0, nearest))
    result = pd.DataFrame(rows).mean()
    # the demo plants causal SNVs within 300 bp of the TSS and nothing else within 400:
    # distance alone ranks them first; a model that learned nothing cannot do better
    assert result["auroc_baseline"] == 1.0
    # measured 0.64 (seed 0): above 0.5, since its readout favours central bins, far below 1
    assert result["auroc"] < result["auroc_baseline"] - 0.1
    assert abs(result["auroc_permuted"] - 0.5) < 0.1
