"""Helpers the tests share.

- ``vcf_files``: small VCF and FASTA files (written by ``haplexpr.demo.fasta_vcf``).
- ``haplotype_stores``: a small real haplotype store for what reads the store.
- ``study_tables``: a Study from tiny tables in the seed's formats.
- ``pipeline_runs``: snakemake runs of the demo in a scratch folder.
- ``consensus_parity``: the parity harness (bcftools consensus in forked children vs the
  fast engine) and ``consensus_edge_cases``: its hand-written cases.
- ``hand_applied``: variants applied by hand to a random reference (the stores' fixtures).
- ``kernel_inputs``: the kernel's records and calls from short lists, and the kernel run on
  the hand tests' 10-base window.
- ``demo_files``: the demo dataset's files read back (records, truth, motif dosages, lists).
- ``report_tables``: a run's result tables for the report, and a recorder of its figures.
- ``slurm_cluster``: a one-node SLURM cluster (slurmctld + slurmd) for the end-to-end test.

``ROOT`` is the repository's folder (its config.yaml, data/, docs/, src/).
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
