"""Tests for haplexpr.training.runs: gene-centred targets and the validation score."""

from __future__ import annotations

import numpy as np
import pytest

from haplexpr.study.design import Example
from haplexpr.training.runs import gene_centred


def test_gene_centred_targets_subtract_each_genes_training_mean():
    train_set = [Example("a", "g1", 5.0), Example("b", "g1", 7.0), Example("a", "g2", 1.0)]
    held_out = [Example("c", "g1", 8.0), Example("c", "g2", 0.5)]
    centred, valid = gene_centred(train_set, held_out)
    assert [e.target for e in centred] == [-1.0, 1.0, 0.0]
    # validation individuals are centred by the training mean, not their own
    assert [e.target for e in valid] == [2.0, -0.5]
    assert [(e.individual, e.gene) for e in centred + valid] == [
        (e.individual, e.gene) for e in train_set + held_out
    ]


def test_validation_score_is_within_gene_r_or_across_gene_r():
    from haplexpr.training.runs import validation_score

    people = [Example(i, g, t) for i, g, t in [("a", "g1", 1), ("b", "g1", 2), ("a", "g2", 10),
                                               ("b", "g2", 12)]]  # fmt: skip
    # gene means differ wildly; only the within-gene ordering counts
    assert validation_score(people, np.array([0.0, 1.0, 5.0, 6.0])) == pytest.approx(0.9486833)
    assert validation_score(people, np.array([1.0, 0.0, 6.0, 5.0])) == pytest.approx(-0.9486833)
    reference = [Example("reference", g, t) for g, t in [("g1", 1), ("g2", 2), ("g3", 5)]]
    assert validation_score(reference, np.array([1.0, 2.0, 5.0])) == pytest.approx(1.0)
