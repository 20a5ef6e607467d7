"""Tiny Enformer / Borzoi checkpoints and the gLM tower, all on CPU (NT v2: its own module)."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from borzoi_pytorch import Borzoi
from borzoi_pytorch.pytorch_borzoi_model import TRACKS_DF
from borzoi_pytorch.pytorch_borzoi_utils import TargetLengthCrop
from enformer_pytorch import Enformer

from haplexpr.models.borzoi import FULL_CONV_WIDTHS, TINY_BORZOI, BorzoiModel
from haplexpr.models.borzoi import save_pretrained_tiny as save_tiny_borzoi
from haplexpr.models.enformer import TINY_ENFORMER, EnformerModel
from haplexpr.models.enformer import save_pretrained_tiny as save_tiny_enformer
from haplexpr.models.settings import BorzoiSettings
from haplexpr.models.tower import TowerHead, WindowAttentionPool
from haplexpr.models.wrappers import HaplotypeAverage, ReverseComplementAverage
from haplexpr.sequence_encoding import one_hot
from haplexpr.training.runs import build_model


def random_dna(length: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice("ACGT") for _ in range(length))


def one_hot_batch(batch: int, length: int, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.stack([one_hot(random_dna(length, seed + i)) for i in range(batch)]))


# --------------------------------------------------------------------------- Enformer


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


# --------------------------------------------------------------------------- Borzoi

# 512 bp = 16 bins of 32 bp; the TSS (base 256) is in bin 8, so 4 central bins are 6..9.
BORZOI_LENGTH = 512
HEADLESS_BORZOI = {**TINY_BORZOI, "enable_human_head": False}


def tiny_borzoi(**cfg) -> BorzoiModel:
    return BorzoiModel.from_config(
        {"tiny": HEADLESS_BORZOI, "input_length": BORZOI_LENGTH, "center_bins": 4, **cfg}
    )


def test_borzoi_tiny_shapes_gradient_and_frozen_heads():
    model = tiny_borzoi(tiny=TINY_BORZOI).train()
    x = one_hot_batch(2, BORZOI_LENGTH)
    emb = model.embeddings(x)
    assert emb.shape == (2, 16, 1920) and model.central(emb).shape == (2, 4, 1920)
    y = model(x)
    assert y.shape == (2,)
    y.pow(2).mean().backward()
    trunk = model.trunk
    assert trunk.conv_dna.conv_layer.weight.grad.abs().sum() > 0
    # borzoi-pytorch zero-initialises attention's to_out, as enformer-pytorch does
    assert trunk.transformer[0][0].fn[1].to_out.weight.grad.abs().sum() > 0
    assert trunk.transformer[0][1].fn[1].weight.grad.abs().sum() > 0
    assert model.linear.weight.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in trunk.human_head.parameters())


def test_borzoi_central_bins_are_the_seeds_crop_around_the_tss():
    model = tiny_borzoi().eval()
    x = one_hot_batch(2, BORZOI_LENGTH)
    tss_bin = (BORZOI_LENGTH // 2) // 32
    start = (model.n_bins - model.center_bins) // 2
    assert start <= tss_bin < start + model.center_bins
    with torch.no_grad():
        emb = model.embeddings(x)
        # the seed sets Borzoi's crop.target_length to the number of central bins
        seed = TargetLengthCrop(model.center_bins)(emb)
        torch.testing.assert_close(model.central(emb), seed, rtol=0, atol=0)
        torch.testing.assert_close(model.central(emb), emb[:, 6:10], rtol=0, atol=0)


def test_borzoi_track_head_reads_one_pretrained_track():
    model = tiny_borzoi(tiny=TINY_BORZOI, head="track", track_index=3).eval()
    assert model.pool is None and model.linear is None
    assert not [name for name, _ in model.named_parameters() if not name.startswith("trunk.")]
    x = one_hot_batch(2, BORZOI_LENGTH)
    with torch.no_grad():
        tracks = model.trunk(x.transpose(1, 2))  # (B, 7611 tracks, 16 bins)
        torch.testing.assert_close(model(x), torch.log1p(tracks[:, 3, 6:10].mean(dim=1)))
    # the default track is GM12878 CAGE on the + strand in borzoi-pytorch's targets table
    row = TRACKS_DF.iloc[BorzoiSettings.track_index]
    assert "GM12878" in row.description and row.description.startswith("CAGE")
    assert row.identifier.endswith("+") and len(TRACKS_DF) == 7611
    with pytest.raises(ValueError, match="no output head"):
        tiny_borzoi(head="track")


def test_borzoi_tiny_checkpoint_loads_through_pretrained_path(tmp_path):
    path = save_tiny_borzoi(tmp_path / "borzoi", HEADLESS_BORZOI, seed=7)
    with torch.random.fork_rng():
        torch.manual_seed(7)
        reference = Borzoi.from_hparams(**HEADLESS_BORZOI)
    model = BorzoiModel.from_config({"pretrained": str(path), "input_length": BORZOI_LENGTH})
    loaded = model.trunk.state_dict()
    assert loaded.keys() == reference.state_dict().keys()
    for key, value in reference.state_dict().items():
        assert torch.equal(value, loaded[key]), key
    x = one_hot_batch(2, BORZOI_LENGTH)
    with torch.no_grad():
        expected = BorzoiModel(reference, BORZOI_LENGTH).eval().embeddings(x)
        torch.testing.assert_close(model.eval().embeddings(x), expected, rtol=0, atol=0)


def test_borzoi_rejects_bad_lengths_and_configs():
    x = one_hot_batch(1, BORZOI_LENGTH - 64)
    with pytest.raises(RuntimeError):  # why 128: the U-Net skip additions miss by one bin
        Borzoi.from_hparams(**HEADLESS_BORZOI).get_embs_after_crop(x.transpose(1, 2))
    with pytest.raises(ValueError, match="multiple of 128"):
        tiny_borzoi(input_length=BORZOI_LENGTH - 64)
    with pytest.raises(ValueError, match="center_bins"):
        tiny_borzoi(input_length=256, center_bins=10)  # 8 bins
    with pytest.raises(ValueError, match="tiny Borzoi.depht: unknown key; allowed: .*depth"):
        tiny_borzoi(tiny={**HEADLESS_BORZOI, "depht": 2})
    with pytest.raises(ValueError):
        tiny_borzoi()(x)


def test_borzoi_gradient_checkpointing_matches():
    x = one_hot_batch(2, BORZOI_LENGTH)
    results = []
    for ckpt in (False, True):
        torch.manual_seed(1)
        model = tiny_borzoi(tiny=HEADLESS_BORZOI, gradient_checkpointing=ckpt).train()
        torch.manual_seed(2)  # same dropout masks in both runs
        loss = model(x).sum()
        loss.backward()
        results.append((loss.detach(), model.trunk.conv_dna.conv_layer.weight.grad.clone()))
    torch.testing.assert_close(results[0][0], results[1][0])
    torch.testing.assert_close(results[0][1], results[1][1])


NARROW = [8, 10, 12, 14, 16, 20, 24]


def test_borzoi_narrow_conv_widths_keep_the_architecture():
    """conv_widths rebuilds the hard-coded convolutions; borzoi-pytorch's forward runs them."""
    full = Borzoi.from_hparams(**TINY_BORZOI)
    narrow = tiny_borzoi(tiny={**TINY_BORZOI, "conv_widths": NARROW}).train()
    trunk = narrow.trunk
    # the same modules, in the same places, of the same kinds and kernels
    assert [n for n, _ in trunk.named_modules()] == [n for n, _ in full.named_modules()]
    for (name, a), b in zip(trunk.named_modules(), full.modules(), strict=True):
        assert type(a) is type(b), name
        if isinstance(a, torch.nn.Conv1d):
            assert a.kernel_size == b.kernel_size and a.groups <= b.groups, name

    def stem_and_tower_widths(borzoi: Borzoi) -> list[int]:
        blocks = [m.conv_layer for m in borzoi.res_tower if hasattr(m, "conv_layer")]
        return [c.out_channels for c in [borzoi.conv_dna.conv_layer, *blocks]]

    assert stem_and_tower_widths(trunk) == NARROW[:6]
    assert stem_and_tower_widths(full) == list(FULL_CONV_WIDTHS[:6])
    assert trunk.human_head.in_channels == NARROW[-1] and trunk.human_head.out_channels == 7611
    # forward, central bins, gradient down to the stem: embeddings are final_joined_convs'
    x = one_hot_batch(2, BORZOI_LENGTH)
    assert narrow.embeddings(x).shape == (2, 16, NARROW[-1])
    narrow(x).pow(2).mean().backward()
    assert trunk.conv_dna.conv_layer.weight.grad.abs().sum() > 0
    assert sum(p.numel() for p in narrow.parameters()) < 0.05 * sum(
        p.numel() for p in full.parameters()
    )
    # the track readout reads the narrowed human head
    track = tiny_borzoi(tiny={**TINY_BORZOI, "conv_widths": NARROW}, head="track").eval()
    assert track(x).shape == (2,)


def test_borzoi_conv_widths_are_checked_and_kept_out_of_checkpoints(tmp_path):
    with pytest.raises(ValueError, match="conv_widths needs 7"):
        tiny_borzoi(tiny={**HEADLESS_BORZOI, "conv_widths": NARROW[:-1]})
    with pytest.raises(ValueError, match="conv_widths needs 7"):
        tiny_borzoi(tiny={**HEADLESS_BORZOI, "conv_widths": [0, *NARROW[1:]]})
    with pytest.raises(ValueError, match="full convolution widths"):
        save_tiny_borzoi(tmp_path / "b", {**HEADLESS_BORZOI, "conv_widths": NARROW})


def test_borzoi_positions_follow_the_model_and_build_model_dispatches():
    config = {
        "architecture": "borzoi",
        "pretrained": None,
        "input_length": BORZOI_LENGTH,
        "center_bins": 4,
        "tiny": HEADLESS_BORZOI,
        "rc_average": True,
    }
    model = build_model(config, seed=0).double().eval()
    assert isinstance(model, HaplotypeAverage)
    assert isinstance(model.model, ReverseComplementAverage)
    assert isinstance(model.model.model, BorzoiModel)
    # the relative-position tables are buffers: cast with the weights, not saved
    assert not any("positions" in key for key in model.state_dict())
    with torch.no_grad():
        y = model(one_hot_batch(6, BORZOI_LENGTH).view(3, 2, BORZOI_LENGTH, 4).double())
    assert y.shape == (3,) and y.dtype == torch.float64


# --------------------------------------------------------------------------- tower


@pytest.mark.parametrize("length", [64, 342, 2048])
@pytest.mark.parametrize("dim", [16, 64])
def test_tower_shapes_and_backward(length, dim):
    tower = TowerHead(dim).train()
    x = torch.randn(4, length, dim, requires_grad=True)
    y = tower(x)
    assert y.shape == (4,)
    y.sum().backward()
    assert x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in tower.parameters())


def test_tower_projection_and_geometry():
    tower = TowerHead(
        64,
        channels=16,
        kernels_strides=[[8, 4], [4, 2]],
        pool_sizes=[2, 1],
        hidden=32,
        mlp_hidden=8,
    )
    assert tower(torch.randn(2, 342, 64)).shape == (2,)
    assert TowerHead(8).receptive_field == (1864, 1024)
    assert tower.receptive_field == (8 + 4 + 3 * 8, 16)
    tower.eval()
    assert tower(torch.randn(1, 5, 64)).shape == (1,)  # short input in eval, batch of one


def test_window_attention_pool_masks_ragged_window():
    pool = WindowAttentionPool(2, pool_size=3)
    x = torch.arange(14, dtype=torch.float32).view(1, 2, 7) - 100  # all negative
    out = pool(x)
    assert out.shape == (1, 2, 3)
    torch.testing.assert_close(out[..., 2], x[..., 6])  # padding never wins the softmax


# --------------------------------------------------------------------------- mixed precision


@pytest.mark.parametrize("architecture", ["enformer", "borzoi"])
def test_s2f_output_head_runs_in_float32_under_bfloat16_autocast(architecture):
    """bfloat16 would round a log-TPM-sized output to steps of ~0.03: the head stays float32."""
    if architecture == "enformer":
        model = EnformerModel.from_config({"tiny": TINY_ENFORMER, "input_length": 2048})
        x = one_hot_batch(4, 2048)
    else:
        model = tiny_borzoi(tiny={**HEADLESS_BORZOI, "conv_widths": NARROW})
        x = one_hot_batch(4, BORZOI_LENGTH)
    model.eval().linear.bias.data.fill_(5.0)  # a gene's mean log TPM
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        emb = model.central(model.embeddings(x))
        y = model(x)
    assert emb.dtype == torch.bfloat16 and y.dtype == torch.float32
    with torch.no_grad():
        expected = model.linear(model.pool(emb.float())).squeeze(-1)
    torch.testing.assert_close(y, expected)
    assert not torch.equal(y, y.bfloat16().float())  # finer than bfloat16 can hold


def test_tower_output_runs_in_float32_under_bfloat16_autocast():
    tower = TowerHead(16).eval()
    tower.mlp[-1].bias.data.fill_(5.0)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        y = tower(torch.randn(4, 64, 16))
    assert y.dtype == torch.float32 and not torch.equal(y, y.bfloat16().float())
