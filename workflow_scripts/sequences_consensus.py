"""Snakemake entry point: build one individual's (or the reference's) sequence store."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # the haplexpr library


from haplexpr.genes import contig_lengths, gene_table, gene_windows, read_partition_table
from haplexpr.personal_sequences import (
    REFERENCE_INDIVIDUAL,
    build_personal_store,
    build_reference_store,
)
from haplexpr.runlog import configure

configure(snakemake.log[0])
table = read_partition_table(snakemake.input.table, snakemake.config["data"]["target_column"])
lengths = contig_lengths(snakemake.input.reference)
windows = gene_windows(
    gene_table(table), lengths, snakemake.params.window_length, snakemake.params.tss_base
)
prefix = Path(snakemake.output.table).with_suffix("")
if snakemake.wildcards.individual == REFERENCE_INDIVIDUAL:
    build_reference_store(snakemake.input.reference, windows, prefix)
else:
    vcfs = dict(zip(snakemake.params.chroms, snakemake.input.vcfs, strict=True))
    build_personal_store(
        snakemake.input.reference,
        vcfs,
        snakemake.wildcards.individual,
        windows,
        prefix,
        variants=snakemake.params.variants,
    )
