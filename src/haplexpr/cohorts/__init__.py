"""New cohorts: the study's trained models applied to individuals known only by their VCFs.

A cohort's VCFs go through the study's own download, normalisation, checks and personal
sequences; every trained model (and the elastic net's stored weights) predicts its
individuals over the genes the study evaluates, and each gene carries the study's
held-out R, its CI and q-value, and whether it is ``usable`` (docs/cohorts.md).
"""
