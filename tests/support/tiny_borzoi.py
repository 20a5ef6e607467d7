"""A tiny headless Borzoi for tests of the Borzoi wrapper and of mixed precision."""

from __future__ import annotations

from haplexpr.models.borzoi import TINY_BORZOI, BorzoiModel

# 512 bp = 16 bins of 32 bp; the TSS (base 256) is in bin 8, so 4 central bins are 6..9.
BORZOI_LENGTH = 512
HEADLESS_BORZOI = {**TINY_BORZOI, "enable_human_head": False}
#: Conv tower widths narrower than the tiny default (same layout), for fast tests.
NARROW = [8, 10, 12, 14, 16, 20, 24]


def tiny_borzoi(**cfg) -> BorzoiModel:
    """A tiny Borzoi at ``BORZOI_LENGTH`` with 4 central bins; ``cfg`` overrides entries."""
    return BorzoiModel.from_config(
        {"tiny": HEADLESS_BORZOI, "input_length": BORZOI_LENGTH, "center_bins": 4, **cfg}
    )
