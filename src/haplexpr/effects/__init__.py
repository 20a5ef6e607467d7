"""Variant effects of a trained model, in the reference and in each person's haplotypes.

``variants`` reads a window's VCF records, ``sequences`` builds edited model inputs,
``scorers`` runs S2F models or gLM towers on them (each distinct window once, counted),
``scoring`` writes the effects table and ``checks`` holds the effects to the genotypes
(marginal eQTLs, the elastic net) and to known causal variants. See docs/effects.md.
"""
