"""The study: which genes, which individuals, and who trains and is tested on what.

- ``genes``: the seed's gene table and id lists, validated on read; each gene's TSS window.
- ``table_schema``: the partition table's schema, applied column by column at start-up.
- ``design``: the study design read from config (partition of individuals, targets).
"""
