"""Tests for haplexpr.effects.scorers: an S2F model scores one-hot windows, and the counting
scorer runs each distinct window once, in batches, within its forward-pass limit.

The tower scorer (a gLM embedding edited windows) is held to the run's own predictions by
test_effects_runs.py."""

from __future__ import annotations

import numpy as np
import pytest
from support.motif_effects import MOTIF, MotifCounter

from haplexpr.effects.scorers import CountingScorer, ForwardPassLimitError, S2FScorer


class Recording:
    """A scorer that gives each window its G+C count and records the batches it was given."""

    input_length = 4

    def __init__(self):
        self.batches: list[list[str]] = []

    def __call__(self, windows):
        self.batches.append(list(windows))
        return np.array([w.count("G") + w.count("C") for w in windows], np.float32)


def test_s2f_scorer_runs_the_model_on_one_hot_windows():
    scorer = S2FScorer(MotifCounter(), 2 * len(MOTIF), device="cpu")
    windows = ["A" * len(MOTIF) + MOTIF, MOTIF.lower() + MOTIF, "N" * 2 * len(MOTIF)]
    assert scorer(windows).tolist() == [1.0, 2.0, 0.0]  # soft-masked bases count, N does not
    assert scorer.device.type == "cpu" and not scorer.model.training


def test_equal_windows_share_one_forward_pass_in_batches():
    inner = Recording()
    scorer = CountingScorer(inner, batch_size=2)
    assert scorer.input_length == 4
    values = scorer(["AAAA", "GCGC", "AAAA", "ACGT", "GGGA", "GCGC"])
    assert values.tolist() == [0, 4, 0, 2, 3, 4]
    assert inner.batches == [["AAAA", "GCGC"], ["ACGT", "GGGA"]]
    assert scorer.forward_passes == 4
    scorer(["AAAA"])  # distinct within a call, counted again across calls
    assert scorer.forward_passes == 5


def test_the_limit_is_checked_before_the_model_runs():
    inner = Recording()
    scorer = CountingScorer(inner, batch_size=8, limit=3)
    scorer(["AAAA", "CCCC", "AAAA"])
    scorer(["GGGG"])  # exactly at the limit
    with pytest.raises(ForwardPassLimitError, match=r"1 more forward passes after 3 exceed"):
        scorer(["TTTT"])
    assert len(inner.batches) == 2 and scorer.forward_passes == 3


def test_a_batch_needs_a_window():
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        CountingScorer(Recording(), batch_size=0)
