"""Tests for haplexpr.demo.genes: the committed demo's planted motifs and causal variants explain
expression, recounted from the reference and the VCFs."""

import numpy as np
import pytest
from support.demo_files import DEMO, MOTIF, dosage_correlations, read_truth


@pytest.fixture(scope="module")
def truth():
    return read_truth(DEMO)


def test_planted_signal(truth):
    """Recount motifs from the VCF itself and check they explain expression."""
    assert (truth["n_causal_variants"] > 0).mean() >= 0.8
    correlations, _ = dosage_correlations(DEMO, MOTIF, 1.0)
    assert len(correlations) >= 48
    print(f"mean r = {np.mean(correlations):.3f}, min r = {np.min(correlations):.3f}")
    assert np.mean(correlations) > 0.6
