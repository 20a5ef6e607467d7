"""Snakemake entry point: train one model with one strategy (r, p or rp).

A model with ``gpus`` > 1 trains on that many ranks under torchrun, which this script
launches with the rule's arguments (haplexpr.training.torchrun).
"""

from pathlib import Path

import torch

from haplexpr.models import registry
from haplexpr.runlog import configure
from haplexpr.study.design import Study
from haplexpr.training.torchrun import launch
from haplexpr.training.runs import model_inputs, train_run
from haplexpr.provenance import record_outputs

configure(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
config = snakemake.config
model, strategy = snakemake.wildcards.model, snakemake.wildcards.strategy
out_dir = Path(snakemake.output.model).parent
gpus = registry.settings(config["models"][model]).gpus
if gpus > 1:
    out_dir.mkdir(parents=True, exist_ok=True)
    job = {
        "config": config,
        "model": model,
        "strategy": strategy,
        "out_dir": str(out_dir),
        "inputs": {
            key: snakemake.input[key]
            for key in ("embeddings", "reference", "haplotypes")
            if key in snakemake.input.keys()
        },
        "init_weights": snakemake.input.get("init"),
        "threads": snakemake.threads,
    }
    launch(job, gpus, out_dir, snakemake.log[0])
else:
    train_run(
        Study.from_config(config),
        config,
        model,
        strategy,
        out_dir,
        model_inputs(snakemake.input),
        init_weights=snakemake.input.get("init"),
    )
record_outputs(snakemake)  # what made each output: results/provenance/
