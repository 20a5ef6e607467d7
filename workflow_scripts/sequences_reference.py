"""Snakemake entry point: cut every gene window from the reference into the store's base."""

from pathlib import Path

from haplexpr.study.genes import study_windows
from haplexpr.sequences.personal_sequences import build_reference_store
from haplexpr.reference import check_bases
from haplexpr.runlog import configure
from haplexpr.provenance import record_outputs

configure(snakemake.log[0])
windows = study_windows(snakemake.config, snakemake.input.table, snakemake.input.reference)
check_bases(snakemake.input.reference, windows)
build_reference_store(
    snakemake.input.reference, windows, Path(snakemake.output.table).with_suffix("")
)
record_outputs(snakemake)  # what made each output: results/provenance/
