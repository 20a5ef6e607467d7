"""Helpers the tests share.

- ``vcf_files``: small VCF and FASTA writers.
- ``pipeline_runs``: snakemake runs of the demo in a scratch folder.
- ``slurm_cluster``: a one-node SLURM cluster (slurmctld + slurmd) for the end-to-end test.
"""
