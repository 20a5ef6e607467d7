"""Snakemake entry point: import the seed's precomputed gLM embeddings of one shard."""

from haplexpr.provenance import record_outputs
from haplexpr.runlog import configure
from haplexpr.study.design import Study
from haplexpr.embeddings.imported import import_embeddings

configure(snakemake.log[0])
genes = Study.from_config(snakemake.config).genes
import_embeddings(
    snakemake.params.embedder["precomputed_root"],
    list(snakemake.params.individuals),
    dict(zip(genes["gene"], genes["strand"], strict=True)),
    snakemake.params.embedder,
    snakemake.params.reference_sample,
    snakemake.output.array,
    snakemake.output.index,
    where=f"models.{snakemake.wildcards.model}.precomputed_root",
)
record_outputs(snakemake)  # what made each output: results/provenance/
