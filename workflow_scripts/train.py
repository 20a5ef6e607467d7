"""Snakemake entry point: train one model with one strategy (r, p or rp)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # the haplexpr library


import torch

from haplexpr.config import validate_config
from haplexpr.runlog import configure
from haplexpr.study.design import Study
from haplexpr.training.runs import model_inputs, train_run

configure(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
config = validate_config(snakemake.config)
train_run(
    Study.from_config(config),
    config,
    snakemake.wildcards.model,
    snakemake.wildcards.strategy,
    Path(snakemake.output.model).parent,
    model_inputs(snakemake.input),
    init_weights=snakemake.input.get("init"),
)
