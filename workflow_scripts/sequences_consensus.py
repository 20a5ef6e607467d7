"""Snakemake entry point: both haplotypes of a shard of individuals over every gene window."""

from haplexpr.consensus_settings import ConsensusOptions
from haplexpr.study.genes import study_windows
from haplexpr.sequences.personal_sequences import build_haplotype_store
from haplexpr.runlog import configure
from haplexpr.provenance import record_outputs

configure(snakemake.log[0])
windows = study_windows(snakemake.config, snakemake.input.table, snakemake.input.reference)
build_haplotype_store(
    snakemake.input.reference,
    dict(zip(snakemake.params.chroms, snakemake.input.vcfs, strict=True)),
    list(snakemake.params.samples),
    windows,
    snakemake.output[0],
    ConsensusOptions.from_config(snakemake.config),
    threads=snakemake.threads,
)
record_outputs(snakemake)  # what made each output: results/provenance/
