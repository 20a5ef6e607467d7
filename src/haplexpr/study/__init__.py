"""The study: which genes, which individuals, and who trains and is tested on what.

- ``genes``: the seed's gene table and id lists, validated on read; each gene's TSS window.
- ``design``: the study design read from config (partition of individuals, targets).
"""
