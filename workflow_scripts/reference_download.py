"""Snakemake entry point: the reference FASTA from its URL, bgzip-compressed and indexed."""

from haplexpr.reference import fetch_reference
from haplexpr.download import DownloadSettings
from haplexpr.runlog import configure
from haplexpr.provenance import record_outputs

configure(snakemake.log[0])
fetch_reference(
    snakemake.params.url,
    snakemake.output.fasta,
    md5=snakemake.params.md5,
    # From the config, not a param: Snakemake would rerun finished downloads when one changed.
    settings=DownloadSettings.from_config(snakemake.config),
)
record_outputs(snakemake)  # what made each output: results/provenance/
