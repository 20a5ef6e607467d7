"""Snakemake entry point: a scored run's effects checked against genotypes and the truth."""

import pandas as pd

from haplexpr.atomic import atomic_path
from haplexpr.effects.checks import check_effects, read_truth
from haplexpr.effects.plan import EffectSettings
from haplexpr.predictions.elastic_net import ElasticNetSettings
from haplexpr.provenance import record_outputs
from haplexpr.runlog import configure
from haplexpr.study.design import Study
from haplexpr.study.genes import study_windows

configure(snakemake.log[0])
config = snakemake.config
inputs = snakemake.input
settings = EffectSettings.from_config(config)
checks = check_effects(
    pd.read_csv(inputs.effects, sep="\t", dtype={"chrom": str}),
    pd.read_csv(inputs.backgrounds, sep="\t"),
    Study.from_config(config),
    study_windows(config, inputs.table, inputs.reference),
    dict(zip(snakemake.params.chroms, inputs.vcfs, strict=True)),
    config["models"][snakemake.wildcards.model]["input_length"],
    ElasticNetSettings.from_config(config),
    read_truth(inputs.truth) if "truth" in inputs.keys() else None,
    settings.permutations,
    settings.seed,
)
with atomic_path(snakemake.output[0]) as tmp:
    checks.to_csv(tmp, sep="\t", index=False)
record_outputs(snakemake)  # what made each output: results/provenance/
