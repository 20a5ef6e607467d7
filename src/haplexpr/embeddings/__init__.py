"""Frozen gLM embeddings of every gene window and haplotype, between sequences and training.

- ``computed``: the gLM run once per (gLM, shard of individuals) over the distinct windows.
- ``imported``: the seed's precomputed ``.pt`` files turned into the same shards.
- ``shards``: the shards on disk (float16 array plus JSON index), written and read back checked.
"""
