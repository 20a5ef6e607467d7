"""Snakemake entry point: check a VCF against the reference and study, then index it."""

import logging

from haplexpr.consensus_settings import ConsensusOptions
from haplexpr.runlog import configure
from haplexpr.vcf.check import check_vcf, index_vcf, write_report
from haplexpr.provenance import record_outputs

configure(snakemake.log[0])
options = ConsensusOptions.from_config(snakemake.config)
report = check_vcf(
    snakemake.input.vcf,
    snakemake.input.reference,
    snakemake.wildcards.chrom,
    list(snakemake.params.samples),
    unphased=options.unphased,
    missing=options.missing,
)
index_vcf(snakemake.input.vcf)
write_report(report, snakemake.output.report)
logging.getLogger("vcf_index").info(
    "checked %d records (%d SNVs, %d indels) of %s in %.1f s -> %s",
    report.records,
    report.snvs,
    report.indels,
    snakemake.input.vcf,
    report.seconds,
    snakemake.output.index,
)
record_outputs(snakemake)  # what made each output: results/provenance/
