"""Snakemake entry point: train one model with one strategy (r, p or rp)."""

from pathlib import Path

import torch

from haplexpr.runlog import configure
from haplexpr.study.design import Study
from haplexpr.training.runs import model_inputs, train_run
from haplexpr.provenance import record_outputs

configure(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
config = snakemake.config
train_run(
    Study.from_config(config),
    config,
    snakemake.wildcards.model,
    snakemake.wildcards.strategy,
    Path(snakemake.output.model).parent,
    model_inputs(snakemake.input),
    init_weights=snakemake.input.get("init"),
)
record_outputs(snakemake)  # what made each output: results/provenance/
