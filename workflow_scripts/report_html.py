"""Snakemake entry point: the HTML report across every model and strategy."""

import pandas as pd

from haplexpr.effects.checks import read_truth
from haplexpr.metrics.comparisons import COMPARISON_SCHEMA
from haplexpr.metrics.evaluation import PER_GENE_SCHEMA, SUMMARY_SCHEMA, read_table
from haplexpr.report.page import report_notes, write_report
from haplexpr.report.effects import effects_section
from haplexpr.runlog import configure
from haplexpr.study.design import Study
from haplexpr.provenance import record_outputs

configure(snakemake.log[0])
runs = list(snakemake.params.runs)
inputs = snakemake.input
observed = Study.from_config(snakemake.config).observed()
settings = snakemake.config["effects"]
effect_runs = list(snakemake.params.effect_runs)
effects = None
if effect_runs:
    effects = effects_section(
        {r: pd.read_csv(p, sep="\t") for r, p in zip(effect_runs, inputs.effects, strict=True)},
        {r: pd.read_csv(p, sep="\t") for r, p in zip(effect_runs, inputs.checks, strict=True)},
        settings["track_gene"],
        read_truth(settings["truth"]) if settings["truth"] else None,
    )
write_report(
    {run: read_table(p, SUMMARY_SCHEMA) for run, p in zip(runs, inputs.summaries, strict=True)},
    {run: read_table(p, PER_GENE_SCHEMA) for run, p in zip(runs, inputs.per_gene, strict=True)},
    report_notes(snakemake.params.models, snakemake.params.data_description),
    snakemake.output[0],
    {
        run: pd.read_csv(p, sep="\t")
        for run, p in zip(snakemake.params.trained, inputs.train_logs, strict=True)
    },
    comparisons=read_table(inputs.comparisons, COMPARISON_SCHEMA),
    predictions={
        run: pd.read_parquet(p).merge(observed, on=["sample", "gene"])
        for run, p in zip(runs, inputs.predictions, strict=True)
    },
    heritability=pd.read_csv(inputs.heritability[0], sep="\t") if inputs.heritability else None,
    effects_section=effects,
)
record_outputs(snakemake)  # what made each output: results/provenance/
