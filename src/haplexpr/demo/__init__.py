"""The embedded demo: a small synthetic dataset in the seed study's formats.

- ``dataset``: the entry point, ``write_demo_dataset``, which draws and writes every file.
- ``design``: the user-facing ``DemoDesign``, fixed constants, records and motif counting.
- ``genome``: reference bases, masks and background variants; FASTA and VCF writing.
- ``genes``: individuals, genes, planted motifs and causal SNVs, expression and splits.
- ``tables``: the long expression table, ``truth.tsv`` and the plain text lists.
"""
