"""Snakemake entry point: genotype-only elastic-net baseline predictions."""

from haplexpr.atomic import atomic_path
from haplexpr.predictions.elastic_net import ElasticNetSettings, elastic_net_predictions
from haplexpr.study.genes import contig_lengths, gene_windows
from haplexpr.runlog import configure
from haplexpr.study.design import Study
from haplexpr.provenance import record_outputs

configure(snakemake.log[0])
config = snakemake.config
study = Study.from_config(config)
lengths = contig_lengths(snakemake.input.reference)
# Fitted on the evaluated genes only (seen + unseen): no metric reads any other gene.
evaluated = study.genes[study.genes["gene"].isin(study.individual_prediction_genes())]
windows = gene_windows(evaluated, lengths, 1, config["data"]["tss_coordinate_base"])
fit = elastic_net_predictions(
    study,
    windows,
    dict(zip(snakemake.params.chroms, snakemake.input.vcfs, strict=True)),
    ElasticNetSettings.from_config(config),
)
with atomic_path(snakemake.output.predictions) as tmp:
    fit.predictions.to_parquet(tmp, index=False)
with atomic_path(snakemake.output.heritability) as tmp:
    fit.heritability.to_csv(tmp, sep="\t", index=False)
with atomic_path(snakemake.output.weights) as tmp:
    fit.weights.to_csv(tmp, sep="\t", index=False)
record_outputs(snakemake)  # what made each output: results/provenance/
