"""Snakemake entry point: a cohort's elastic-net predictions from the study's stored weights."""

import pandas as pd

from haplexpr.atomic import atomic_path
from haplexpr.predictions.elastic_net import ElasticNetSettings, elastic_net_cohort_predictions
from haplexpr.provenance import record_outputs
from haplexpr.runlog import configure
from haplexpr.study.design import Study
from haplexpr.study.genes import contig_lengths, gene_windows

configure(snakemake.log[0])
config = snakemake.config
study = Study.from_config(config)
fits = pd.read_csv(snakemake.input.heritability, sep="\t", dtype={"gene": str})
# the genes the study's fit covered: the evaluated ones (see predictions_elastic_net.py)
genes = study.genes[study.genes["gene"].isin(fits["gene"])]
windows = gene_windows(
    genes, contig_lengths(snakemake.input.reference), 1, config["data"]["tss_coordinate_base"]
)
predictions = elastic_net_cohort_predictions(
    fits,
    pd.read_csv(snakemake.input.weights, sep="\t", dtype={"gene": str, "variant": str}),
    windows,
    dict(zip(snakemake.params.chroms, snakemake.input.vcfs, strict=True)),
    list(snakemake.params.samples),
    ElasticNetSettings.from_config(config).cis_window,
)
with atomic_path(snakemake.output[0]) as tmp:
    predictions.to_parquet(tmp, index=False)
record_outputs(snakemake)  # what made each output: results/provenance/
