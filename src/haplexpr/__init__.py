"""haplexpr: do sequence models predict personal gene expression from personal genomes."""

__version__ = "0.1.0"
