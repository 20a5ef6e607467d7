"""Snakemake entry point: every pair of runs compared on the same genes and individuals."""

import logging

from haplexpr.atomic import atomic_path
from haplexpr.metrics.comparisons import compare_runs
from haplexpr.metrics.evaluation import PER_GENE_SCHEMA, SUMMARY_SCHEMA, read_table
from haplexpr.runlog import configure
from haplexpr.provenance import record_outputs

configure(snakemake.log[0])
runs = list(snakemake.params.runs)
per_genes = {
    run: read_table(path, PER_GENE_SCHEMA)
    for run, path in zip(runs, snakemake.input.per_gene, strict=True)
}
kinds = {
    run: read_table(path, SUMMARY_SCHEMA)["kind"].iloc[0]
    for run, path in zip(runs, snakemake.input.summaries, strict=True)
}
comparisons = compare_runs(per_genes, kinds, snakemake.params.bootstrap, snakemake.params.seed)
with atomic_path(snakemake.output[0]) as tmp:
    comparisons.to_csv(tmp, sep="\t", index=False)
significant = (comparisons["q_value"] < 0.05).sum()
logging.getLogger("metrics").info(
    "%d pairs of runs compared, %d with Wilcoxon q < 0.05 -> %s",
    len(comparisons),
    significant,
    snakemake.output[0],
)
record_outputs(snakemake)  # what made each output: results/provenance/
