"""Snakemake entry point: download one chromosome's VCF (resumable, verified)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # the haplexpr library


from haplexpr.vcf.download import download
from haplexpr.runlog import configure

configure(snakemake.log[0])
download(snakemake.params.url, snakemake.output[0], md5=snakemake.params.md5)
