"""Snakemake entry point: download one chromosome's VCF (resumable, verified)."""

from haplexpr.download import DownloadSettings, download
from haplexpr.runlog import configure
from haplexpr.provenance import record_outputs

configure(snakemake.log[0])
download(
    snakemake.params.url,
    snakemake.output[0],
    md5=snakemake.params.md5,
    # From the config, not a param: Snakemake would rerun finished downloads when one changed.
    settings=DownloadSettings.from_config(snakemake.config),
)
record_outputs(snakemake)  # what made each output: results/provenance/
