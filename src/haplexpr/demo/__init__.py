"""The embedded demo: a small synthetic dataset in the seed study's formats.

- ``dataset``: reference, phased VCFs, tables and expression with a planted, known signal.
"""
