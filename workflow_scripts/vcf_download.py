"""Snakemake entry point: download one chromosome's VCF (resumable, verified)."""

from haplexpr.vcf.download import download
from haplexpr.runlog import configure
from haplexpr.provenance import record_outputs

configure(snakemake.log[0])
download(snakemake.params.url, snakemake.output[0], md5=snakemake.params.md5)
record_outputs(snakemake)  # what made each output: results/provenance/
