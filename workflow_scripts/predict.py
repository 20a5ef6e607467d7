"""Snakemake entry point: predictions of a trained (or zero-shot) model for everyone."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # the haplexpr library


import torch

from haplexpr.config import validate_config
from haplexpr.runlog import configure
from haplexpr.study.design import Study
from haplexpr.training.runs import model_inputs, predict_run

configure(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
config = validate_config(snakemake.config)
predict_run(
    Study.from_config(config),
    config,
    snakemake.wildcards.model,
    snakemake.wildcards.strategy,
    snakemake.input.get("model"),  # none for zero-shot predictions (strategy zs)
    Path(snakemake.output[0]),
    model_inputs(snakemake.input),
)
