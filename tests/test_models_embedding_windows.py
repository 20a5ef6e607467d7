"""Tests for haplexpr.models.embedding_windows: tiling long windows and pooling gLM states."""

import copy

import numpy as np
import pytest
from support import ROOT
from support.haplotype_stores import hand_one_hot

from haplexpr.config import ConfigError, load_config, validate_config
from haplexpr.models import registry
from haplexpr.models.embedding_windows import EmbeddingWindows
from haplexpr.models.nt_tokenizer import MAX_TOKENS, K

RNG = np.random.default_rng(7)


def random_dna(length: int) -> str:
    return "".join(RNG.choice(list("ACGT"), length))


class PerBase:
    """Per-base states that depend on the base only (any tiling must then change nothing)
    plus a channel counting the calls' bases, to see which tiles ran."""

    embedding_dim = 5

    def __init__(self):
        self.lengths: list[int] = []

    @staticmethod
    def bases_per_position(length):
        return np.ones(length, dtype=np.int64)

    def embed(self, seqs):
        self.lengths.append(len(seqs[0]))
        states = np.stack([hand_one_hot(s) for s in seqs])
        return np.concatenate([states, np.ones(states.shape[:2] + (1,))], axis=-1)


class SixMers(PerBase):
    """NT-like: one state per 6-mer slot (tail bases single), the state = its slot's bases."""

    @staticmethod
    def bases_per_position(length):
        return np.array([K] * (length // K) + [1] * (length % K))

    def embed(self, seqs):
        per_base = super().embed(seqs)
        spans = self.bases_per_position(len(seqs[0]))
        starts = np.concatenate([[0], np.cumsum(spans)[:-1]])
        return np.add.reduceat(per_base, starts, axis=1) / spans[None, :, None]


def pooled_by_hand(per_base: np.ndarray, start: int, end: int, bin_size: int) -> np.ndarray:
    kept = per_base[:, start:end]
    return np.stack(
        [kept[:, lo : lo + bin_size].mean(axis=1) for lo in range(0, end - start, bin_size)],
        axis=1,
    )


@pytest.mark.parametrize(
    ("length", "context", "stride"),
    [(100, 100, 100), (100, 30, 30), (100, 30, 7), (97, 40, 40), (64, 1, 1)],
)
@pytest.mark.parametrize("bin_size", [1, 3, 10])
def test_tiles_of_a_position_independent_model_give_the_untiled_states(
    length, context, stride, bin_size
):
    seqs = [random_dna(length) for _ in range(3)]
    model = PerBase()
    windows = EmbeddingWindows(length, context, stride, bin_size=bin_size)
    out = windows.embed(model, seqs)
    assert out.shape == (3, -(-length // bin_size), 5) == (3, windows.positions, 5)
    per_base = PerBase().embed(seqs)
    np.testing.assert_allclose(out, pooled_by_hand(per_base, 0, length, bin_size), atol=1e-6)
    assert set(model.lengths) == {context}  # every forward pass is one tile
    starts = windows.tile_starts
    assert starts[0] == 0 and starts[-1] + context == length
    assert all(b - a <= stride for a, b in zip(starts, starts[1:], strict=False))


def test_overlapping_tiles_are_averaged_base_by_base():
    """A model whose states depend on the tile (its offset): overlaps average both tiles."""

    class TileMarker(PerBase):
        def embed(self, seqs):
            self.lengths.append(len(seqs[0]))
            return np.full((len(seqs), len(seqs[0]), self.embedding_dim), len(self.lengths), float)

    windows = EmbeddingWindows(10, 6, 4)  # tiles [0, 6) and [4, 10): bases 4, 5 in both
    assert windows.tile_starts == [0, 4]
    out = windows.embed(TileMarker(), ["ACGTACGTAC"])[0, :, 0]
    np.testing.assert_array_equal(out, [1, 1, 1, 1, 1.5, 1.5, 2, 2, 2, 2])


def test_six_mer_positions_are_spread_over_their_bases_before_binning():
    seqs = [random_dna(50) for _ in range(2)]
    out = EmbeddingWindows(50, 50, 50, bin_size=5).embed(SixMers(), seqs)
    per_slot = SixMers().embed(seqs)
    per_base = np.repeat(per_slot, SixMers.bases_per_position(50), axis=1)
    np.testing.assert_allclose(out, pooled_by_hand(per_base, 0, 50, 5), atol=1e-6)
    # With bins of 6 from the window's start, every bin is exactly one 6-mer slot.
    out6 = EmbeddingWindows(48, 48, 48, bin_size=6).embed(SixMers(), [s[:48] for s in seqs])
    np.testing.assert_allclose(out6, SixMers().embed([s[:48] for s in seqs]), atol=1e-6)


def test_tss_region_keeps_the_bases_centred_on_the_tss_and_skips_other_tiles():
    seqs = [random_dna(120)]
    model = PerBase()
    windows = EmbeddingWindows(120, 20, 20, region="tss", tss_window=30, bin_size=1)
    assert windows.span == (45, 75)  # the TSS is base 60 (model_input puts it at L // 2)
    out = windows.embed(model, seqs)
    np.testing.assert_allclose(out, PerBase().embed(seqs)[:, 45:75], atol=1e-6)
    assert windows.tile_starts == [40, 60] and len(model.lengths) == 2


def test_window_settings_come_from_the_config_and_are_checked_there():
    demo = load_config(ROOT / "config.yaml")
    nt = demo["models"]["nt"]
    windows = EmbeddingWindows.from_config("models.nt", nt)
    length = nt["input_length"]
    assert (windows.context, windows.stride, windows.region) == (length, length, "window")
    assert windows.bin_size == 6 and windows.positions == -(-length // 6)

    def error(**changes) -> str:
        config = copy.deepcopy(demo)
        nt = config["models"]["nt"]
        pooling = changes.pop("pooling", {})
        nt.update(changes)
        nt["pooling"] = {**nt["pooling"], **pooling}
        with pytest.raises(ConfigError) as caught:
            validate_config(config)
        return str(caught.value)

    assert error(stride=1000, context=500).startswith("models.nt.stride (1000) must be between")
    assert error(context=4000).startswith("models.nt.context (4000) must be between 1 and")
    assert "tss_window must be between 1 and input_length" in error(pooling={"region": "tss"})
    # NT v2 reads at most 2,048 tokens (<cls> + 2,047 6-mers) per forward pass.
    assert registry.architecture("nucleotide_transformer").max_bases == (MAX_TOKENS - 1) * K
    config = copy.deepcopy(demo)
    config["consensus"]["window_length"] = 20_000
    config["models"]["nt"]["input_length"] = 13_000
    with pytest.raises(ConfigError, match="tiles of 13,000 bases exceed the model's 12,282"):
        validate_config(config)
    config["models"]["nt"].update(context=12_000, stride=6_000)
    validate_config(config)


def test_tiled_real_nt_matches_untiled_where_tiles_do_not_overlap():
    """Tiles at 6-mer boundaries see the same tokens as one pass, minus attention across
    tiles: a real NT's states differ (context matters) but keep shape and stay finite."""
    nt = registry.build(load_config(ROOT / "config.yaml")["models"]["nt"], device="cpu")
    seqs = [random_dna(600)]
    whole = EmbeddingWindows(600, 600, 600, bin_size=6).embed(nt, seqs)
    tiled = EmbeddingWindows(600, 300, 300, bin_size=6).embed(nt, seqs)
    assert whole.shape == tiled.shape == (1, 100, nt.embedding_dim)
    assert np.isfinite(tiled).all() and not np.allclose(whole, tiled, atol=1e-4)
    halves = [nt.embed([seqs[0][:300]])[0], nt.embed([seqs[0][300:]])[0]]
    np.testing.assert_allclose(tiled[0], np.concatenate(halves), rtol=1e-4, atol=1e-5)


class WithCls(PerBase):
    """A model with one state ahead of its bases, marking which tile it came from."""

    leading_states = 1

    def embed(self, seqs):
        states = super().embed(seqs)
        cls = np.full((len(seqs), 1, self.embedding_dim), float(len(self.lengths)))
        return np.concatenate([cls, states], axis=1)


def test_leading_states_are_stored_first_unbinned_and_averaged_over_tiles():
    seqs = [random_dna(64) for _ in range(2)]
    plain = EmbeddingWindows(64, 32, 16, bin_size=4).embed(PerBase(), seqs)
    windows = EmbeddingWindows(64, 32, 16, bin_size=4, leading_states=1)
    out = windows.embed(WithCls(), seqs)
    assert windows.positions == 1 + 16 and out.shape == (2, 17, 5)
    np.testing.assert_allclose(out[:, 1:], plain)
    np.testing.assert_allclose(out[:, 0], (1 + 2 + 3) / 3)  # tiles 1, 2, 3: their mean
    with pytest.raises(ValueError, match="leading states"):
        EmbeddingWindows(64, 32, 16).embed(WithCls(), seqs)


def test_seed_input_keys_reach_the_windows_and_the_embedders():
    config = load_config(ROOT / "config.yaml")
    config["models"]["nt"] |= {"keep_cls": True, "non_acgt": "delete"}
    nt = validate_config(config)["models"]["nt"]
    windows = EmbeddingWindows.from_config("models.nt", nt)
    assert windows.leading_states == 1
    assert (
        windows.positions
        == 1 + EmbeddingWindows.from_config("nt", {**nt, "keep_cls": False}).positions
    )
    embedder = registry.build(nt, device="cpu")
    assert (embedder.leading_states, embedder.non_acgt) == (1, "delete")
    out = windows.embed(embedder, [random_dna(nt["input_length"])])
    assert out.shape == (1, windows.positions, embedder.embedding_dim)
    config["models"]["caduceus"]["conjoin_strands"] = False
    caduceus = validate_config(copy.deepcopy(config))["models"]["caduceus"]
    assert registry.build(caduceus, device="cpu").conjoin_strands is False
    config["models"]["caduceus"]["keep_cls"] = True
    with pytest.raises(ConfigError, match="keep_cls"):
        validate_config(config)
