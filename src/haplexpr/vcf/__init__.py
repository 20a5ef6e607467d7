"""Phased VCFs in, before any haplotype is built.

- ``sources``: the listed VCF URLs, one per chromosome (downloads: ``haplexpr.download``).
- ``normalise``: one representation per variant (``bcftools norm``), contig names harmonised
  (``contigs``: the names a VCF declares and uses, and their renames).
- ``check``: the VCF checked against the reference and the study (REF, phasing, samples);
  ``file_checks``: the file itself (intact, readable header, fresh index, sorted records).
- ``symbolic``: records bcftools reads beyond their REF and ALT text, made plain;
  ``iupac``: what bcftools consensus makes of an unphased call (``-H 1pIu``).
- ``parser``: VCF text lines to arrays in one compiled pass.
- ``alleles``: the per-haplotype allele codes and htslib's variant types.
- ``genotypes``: a region's records and some samples' alleles, for the genotype analyses.
"""
