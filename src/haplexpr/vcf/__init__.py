"""Phased VCFs in, before any haplotype is built.

- ``download``: resumable, verified downloads of the listed VCFs.
- ``normalise``: one representation per variant (``bcftools norm``), contig names harmonised
  (``contigs``: the names a VCF declares and uses, and their renames).
- ``check``: the VCF checked against the reference and the study (REF, phasing, samples);
  ``file_checks``: the file itself (intact, readable header, fresh index, sorted records).
- ``parser``: VCF text lines to arrays in one compiled pass.
- ``alleles``: the per-haplotype allele codes and htslib's variant types.
"""
