"""Snakemake entry point: a cohort's predictions by one run, with the study's gene evidence."""

import logging

import pandas as pd

from haplexpr.atomic import atomic_path
from haplexpr.cohorts.tables import cohort_tables, gene_evidence
from haplexpr.metrics.evaluation import PER_GENE_SCHEMA, read_table
from haplexpr.provenance import record_outputs
from haplexpr.runlog import configure

configure(snakemake.log[0])
evidence = gene_evidence(
    read_table(snakemake.input.per_gene, PER_GENE_SCHEMA), snakemake.params.usable_q_value
)
tables = cohort_tables(
    pd.read_parquet(snakemake.input.predictions), evidence, list(snakemake.params.samples)
)
with atomic_path(snakemake.output.wide) as tmp:
    tables.wide.to_csv(tmp, sep="\t", index=False)
with atomic_path(snakemake.output.long) as tmp:
    tables.long.to_csv(tmp, sep="\t", index=False)
logging.getLogger("cohorts_table").info(
    "%d genes (%d usable) x %d individuals -> %s",
    len(tables.wide),
    int(tables.wide["usable"].sum()),
    len(snakemake.params.samples),
    snakemake.output.wide,
)
record_outputs(snakemake)  # what made each output: results/provenance/
