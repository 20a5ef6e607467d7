"""Snakemake entry point: the HTML report across every model and strategy."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # the haplexpr library


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
