"""Snakemake entry point: the HTML report across every model and strategy."""

import pandas as pd

from haplexpr.evaluation.report import report_notes, write_report
from haplexpr.runlog import configure

configure(snakemake.log[0])
runs = list(snakemake.params.runs)
write_report(
    {run: pd.read_csv(p, sep="\t") for run, p in zip(runs, snakemake.input.summaries, strict=True)},
    {run: pd.read_csv(p, sep="\t") for run, p in zip(runs, snakemake.input.per_gene, strict=True)},
    report_notes(snakemake.params.models),
    snakemake.output[0],
    {
        run: pd.read_csv(p, sep="\t")
        for run, p in zip(snakemake.params.trained, snakemake.input.train_logs, strict=True)
    },
)
