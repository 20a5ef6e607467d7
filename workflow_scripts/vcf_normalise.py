"""Snakemake entry point: normalise a downloaded VCF (contigs; split, left-align, drop)."""

import logging

from haplexpr.consensus_settings import ConsensusSettings
from haplexpr.coordinates import VariantSettings
from haplexpr.vcf.normalise import normalise_vcf
from haplexpr.runlog import configure
from haplexpr.provenance import record_outputs

configure(snakemake.log[0])
report = normalise_vcf(
    snakemake.input.vcf,
    snakemake.input.reference,
    snakemake.output.vcf,
    list(snakemake.params.samples),
    variants=VariantSettings.from_config(snakemake.config),
    normalise=ConsensusSettings.from_config(snakemake.config).normalise,
)
logging.getLogger("vcf_normalise").info(
    "normalised %s: %d records kept in %.1f s -> %s",
    snakemake.input.vcf,
    report.records,
    report.seconds,
    snakemake.output.vcf,
)
record_outputs(snakemake)  # what made each output: results/provenance/
