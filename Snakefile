# haplexpr: do sequence models predict personal gene expression from personal genomes?
# Targets: `all` (everything for every enabled model and strategy), plus named stages.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/reference.smk"
include: "rules/vcf.smk"
include: "rules/sequences.smk"
include: "rules/embeddings.smk"
include: "rules/training.smk"
include: "rules/predictions.smk"
include: "rules/metrics.smk"
include: "rules/report.smk"
include: "rules/effects.smk"
include: "rules/cohorts.smk"


rule all:
    default_target: True
    input:
        metrics_targets(),
        effect_targets(),
        cohort_targets(),
        "results/report/report.html",


rule sequences:
    input:
        sequence_targets(),


rule embeddings:
    input:
        embedding_targets(),


rule predictions:
    input:
        prediction_targets(),


rule effects:
    input:
        effect_targets(),


rule cohorts:
    input:
        cohort_targets(),
