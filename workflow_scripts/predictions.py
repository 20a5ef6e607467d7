"""Snakemake entry point: predictions of a trained (or zero-shot) model for everyone.

With param ``individuals`` (a new cohort's), for those individuals only.
"""

from pathlib import Path

import torch

from haplexpr.runlog import configure
from haplexpr.study.design import Study
from haplexpr.predictions.runs import predict_run
from haplexpr.training.runs import model_inputs
from haplexpr.provenance import record_outputs

configure(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
config = snakemake.config
predict_run(
    Study.from_config(config),
    config,
    snakemake.wildcards.model,
    snakemake.wildcards.strategy,
    snakemake.input.get("model"),  # none for zero-shot predictions (strategy zs)
    Path(snakemake.output[0]),
    model_inputs(snakemake.input),
    snakemake.params.get("individuals"),
)
record_outputs(snakemake)  # what made each output: results/provenance/
