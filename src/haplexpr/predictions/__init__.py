"""Predictions of personal expression: the trained models, zero-shot tracks, the elastic net.

- ``runs``: a trained (or zero-shot) model's predictions for everyone, one table per run.
- ``elastic_net``: the genotype-only elastic net (PrediXcan-style), its weights and cohorts.
"""
