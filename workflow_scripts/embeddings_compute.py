"""Snakemake entry point: frozen gLM embeddings of one shard of individuals."""

from pathlib import Path

import torch

from haplexpr.training.embeddings import compute_embeddings
from haplexpr.runlog import configure
from haplexpr.haplotypes.store import HaplotypeStore
from haplexpr.provenance import record_outputs
from haplexpr.study.design import Study

configure(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
compute_embeddings(
    HaplotypeStore(Path(snakemake.input.reference).with_suffix(""), snakemake.input.haplotypes),
    list(snakemake.params.individuals),
    snakemake.params.embedder,
    snakemake.output.array,
    snakemake.output.index,
    device=snakemake.params.device,
    genes_of=Study.from_config(snakemake.config).genes_of,  # only the genes the design uses
)
record_outputs(snakemake)  # what made each output: results/provenance/
