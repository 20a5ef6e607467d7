"""Snakemake entry point: download one chromosome's VCF (resumable, verified)."""

from haplexpr.vcf.download import download
from haplexpr.runlog import configure

configure(snakemake.log[0])
download(
    snakemake.params.url,
    snakemake.output[0],
    md5=snakemake.params.md5,
    settings=snakemake.params.settings,
)
