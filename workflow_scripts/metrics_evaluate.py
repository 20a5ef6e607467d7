"""Snakemake entry point: metrics of one model and strategy."""

import logging

import pandas as pd

from haplexpr.atomic import atomic_path
from haplexpr.metrics.evaluation import EvaluationSettings, evaluate, primary_row
from haplexpr.runlog import configure
from haplexpr.study.design import Study
from haplexpr.provenance import record_outputs

configure(snakemake.log[0])
study = Study.from_config(snakemake.config)
summary, per_gene = evaluate(
    pd.read_parquet(snakemake.input.predictions),
    study,
    EvaluationSettings(**snakemake.params.settings, seed=snakemake.params.seed),
    kind=snakemake.params.kind,
)
with atomic_path(snakemake.output.per_gene) as tmp:
    per_gene.to_csv(tmp, sep="\t", index=False)
with atomic_path(snakemake.output.summary) as tmp:
    summary.to_csv(tmp, sep="\t", index=False)
primary = primary_row(summary)
logging.getLogger("metrics").info(
    "%s/%s: held-out individuals, seen genes: mean per-gene R %.3f [95%% CI %.3f, %.3f],"
    " %d of %d genes significant (shuffled control %.3f) -> %s",
    snakemake.wildcards.model,
    snakemake.wildcards.strategy,
    primary["mean_r"],
    primary["mean_r_low"],
    primary["mean_r_high"],
    primary["n_significant"],
    primary["n_genes"],
    primary["shuffled_mean_r"],
    snakemake.output.summary,
)
record_outputs(snakemake)  # what made each output: results/provenance/
