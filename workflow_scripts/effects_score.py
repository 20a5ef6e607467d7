"""Snakemake entry point: a trained run's variant effects and each background's prediction."""

import torch

from haplexpr.effects.runs import score_run
from haplexpr.provenance import record_outputs
from haplexpr.runlog import configure
from haplexpr.study.design import Study
from haplexpr.training.runs import model_inputs

configure(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
inputs = snakemake.input
score_run(
    Study.from_config(snakemake.config),
    snakemake.config,
    snakemake.wildcards.model,
    snakemake.wildcards.strategy,
    inputs.model,
    model_inputs(inputs),  # the sequence store of the held-out individuals
    dict(zip(snakemake.params.chroms, inputs.vcfs, strict=True)),
    snakemake.output.effects,
    snakemake.output.backgrounds,
)
record_outputs(snakemake)  # what made each output: results/provenance/
