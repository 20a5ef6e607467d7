"""Tests for haplexpr.models.enformer: the tiny Enformer's shapes, checks, frozen heads, gradient
checkpointing, track readout and checkpoints, on CPU."""

from __future__ import annotations

import pytest
import torch
from enformer_pytorch import Enformer
from support.dna import one_hot_batch

from haplexpr.models.enformer import TINY_ENFORMER, EnformerModel
from haplexpr.models.enformer import save_pretrained_tiny as save_tiny_enformer


@pytest.mark.parametrize("input_length", [4096, 1920])  # 32 bins and 15 (not a power of two)
def test_enformer_tiny_shapes(input_length):
    model = EnformerModel.from_config({"tiny": TINY_ENFORMER, "input_length": input_length})
    assert model.n_bins == input_length // 128
    x = one_hot_batch(2, input_length)
    emb = model.embeddings(x)
    assert emb.shape == (2, input_length // 128, 2 * TINY_ENFORMER["dim"])
    assert model.central(emb).shape == (2, 10, 96)
    assert model(x).shape == (2,)


def test_enformer_rejects_bad_lengths_and_configs():
    with pytest.raises(ValueError):
        EnformerModel.from_config({"tiny": TINY_ENFORMER, "input_length": 4000})
    with pytest.raises(ValueError):  # default dim_divisible_by=128 rounds dim 48 away
        EnformerModel.from_config(
            {"tiny": {"dim": 48, "depth": 1, "heads": 2}, "input_length": 4096}
        )
    with pytest.raises(ValueError):  # TF gamma needs 1,536 bins
        EnformerModel.from_config(
            {"tiny": TINY_ENFORMER, "input_length": 4096, "use_tf_gamma": True}
        )
    # EnformerConfig would take a misspelt field silently
    with pytest.raises(ValueError, match=r"tiny Enformer\.dpeth: unknown key; allowed: .*depth"):
        EnformerModel.from_config({"tiny": {**TINY_ENFORMER, "dpeth": 2}, "input_length": 4096})
    model = EnformerModel.from_config({"tiny": TINY_ENFORMER, "input_length": 4096})
    with pytest.raises(ValueError):
        model(one_hot_batch(1, 2048))


def test_enformer_gradient_reaches_trunk_and_heads_frozen():
    model = EnformerModel.from_config(
        {"tiny": TINY_ENFORMER, "input_length": 2048, "center_bins": 4}
    )
    model.train()
    model(one_hot_batch(3, 2048)).pow(2).mean().backward()
    assert model.trunk.stem[0].weight.grad.abs().sum() > 0
    # enformer-pytorch zero-initialises attention's to_out, so q/k/v get no gradient at
    # step 0; to_out and the feed-forward do.
    attention = model.trunk.transformer[0][0].fn[1]
    assert attention.to_out.weight.grad.abs().sum() > 0
    assert model.trunk.transformer[0][1].fn[1].weight.grad.abs().sum() > 0
    assert model.linear.weight.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in model.trunk.heads.parameters())


def test_enformer_gradient_checkpointing_matches():
    cfg = {"tiny": TINY_ENFORMER, "input_length": 2048}
    x = one_hot_batch(2, 2048)
    results = []
    for ckpt in (False, True):
        torch.manual_seed(1)
        model = EnformerModel.from_config({**cfg, "gradient_checkpointing": ckpt}).train()
        torch.manual_seed(2)  # same dropout masks in both runs
        loss = model(x).sum()
        loss.backward()
        results.append((loss.detach(), model.trunk.stem[0].weight.grad.clone()))
    torch.testing.assert_close(results[0][0], results[1][0])
    torch.testing.assert_close(results[0][1], results[1][1])


def test_enformer_track_head_readout():
    tiny = {**TINY_ENFORMER, "output_heads": {"human": 16}}
    model = EnformerModel.from_config(
        {"tiny": tiny, "input_length": 2048, "head": "track", "track_index": 3, "center_bins": 4}
    ).eval()
    x = one_hot_batch(2, 2048)
    with torch.no_grad():
        y = model(x)
        tracks = model.trunk(x, head="human")  # (B, 16 bins, 16 tracks)
        expected = torch.log1p(tracks[:, 6:10, 3].mean(dim=1))
    assert y.shape == (2,)
    torch.testing.assert_close(y, expected)
    assert model.pool is None and model.linear is None
    with pytest.raises(ValueError):
        EnformerModel.from_config({"tiny": tiny, "input_length": 2048, "head": "track"})


def test_enformer_tiny_checkpoint_loads_through_pretrained_path(tmp_path):
    path = save_tiny_enformer(tmp_path / "enformer", TINY_ENFORMER, seed=7)
    with torch.random.fork_rng():
        torch.manual_seed(7)
        reference = Enformer.from_hparams(**TINY_ENFORMER, target_length=16).eval()
    model = EnformerModel.from_config({"pretrained": str(path), "input_length": 2048}).eval()
    loaded = model.trunk.state_dict()
    for key, value in reference.state_dict().items():
        assert torch.equal(value, loaded[key]), key
    x = one_hot_batch(2, 2048)
    with torch.no_grad():
        torch.testing.assert_close(
            model.embeddings(x), reference(x, return_only_embeddings=True), rtol=0, atol=0
        )


def test_enformer_state_dict_round_trip(tmp_path):
    cfg = {"tiny": TINY_ENFORMER, "input_length": 2048, "pool_logits": "per_dim"}
    torch.manual_seed(0)
    first = EnformerModel.from_config(cfg).eval()
    torch.save(first.state_dict(), tmp_path / "model.pt")
    torch.manual_seed(1)
    second = EnformerModel.from_config(cfg).eval()
    second.load_state_dict(torch.load(tmp_path / "model.pt", weights_only=True))
    x = one_hot_batch(2, 2048)
    with torch.no_grad():
        torch.testing.assert_close(first(x), second(x), rtol=0, atol=0)
