"""Tests for haplexpr.models.borzoi: the tiny Borzoi's shapes, central bins, track readout,
checkpoints, checks and narrow conv widths, on CPU."""

from __future__ import annotations

import pytest
import torch
from borzoi_pytorch import Borzoi
from borzoi_pytorch.pytorch_borzoi_model import TRACKS_DF
from borzoi_pytorch.pytorch_borzoi_utils import TargetLengthCrop
from support.dna import one_hot_batch
from support.tiny_borzoi import BORZOI_LENGTH, HEADLESS_BORZOI, NARROW, tiny_borzoi

from haplexpr.models.borzoi import FULL_CONV_WIDTHS, TINY_BORZOI, BorzoiModel
from haplexpr.models.borzoi import save_pretrained_tiny as save_tiny_borzoi
from haplexpr.models.settings import BorzoiSettings
from haplexpr.models.wrappers import HaplotypeAverage, ReverseComplementAverage
from haplexpr.training.runs import build_model


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
