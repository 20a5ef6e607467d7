"""Snakemake entry point: frozen gLM embeddings of one shard of individuals."""

from pathlib import Path

import torch

from haplexpr.embeddings.computed import compute_embeddings
from haplexpr.runlog import configure
from haplexpr.sequences.store import HaplotypeStore
from haplexpr.provenance import record_outputs
from haplexpr.plan import EmbeddingShard
from haplexpr.study.design import Study

configure(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
genes = snakemake.params.genes  # None, or the slice [lo, hi) of a split reference
shard = EmbeddingShard(tuple(snakemake.params.individuals), tuple(genes) if genes else None)
study = Study.from_config(snakemake.config)
compute_embeddings(
    HaplotypeStore(Path(snakemake.input.reference).with_suffix(""), snakemake.input.haplotypes),
    list(snakemake.params.individuals),
    snakemake.params.embedder,
    snakemake.output.array,
    snakemake.output.index,
    device=snakemake.params.device,
    genes_of=lambda individual: shard.genes_of(study, individual),  # what the design uses
)
record_outputs(snakemake)  # what made each output: results/provenance/
