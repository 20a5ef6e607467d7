"""The embedded demo: a small synthetic dataset in the seed study's formats.

- ``dataset``: the entry point, ``write_demo_dataset``, which draws and writes every file.
- ``design``: the user-facing ``DemoDesign``, fixed constants, records and motif counting.
- ``genome``: the synthetic genome (bases, masks, background variants; also the
  personal-sequence benchmark's workload) and its FASTA and VCF.
- ``fasta_vcf``: FASTA and bgzipped VCF writers (the demo's, the benchmark's, the tests').
- ``genes``: individuals, genes, planted motifs and causal SNVs, expression and splits.
- ``tables``: the long expression table, ``truth.tsv`` and the plain text lists.
"""
