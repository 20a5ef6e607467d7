"""Borzoi with the seed study's expression head, built on borzoi-pytorch.

The seed (StatBiomed/gLM2X-Tower, ``run_models/models.py``, class ``borzoiModel``) loads
``johahi/borzoi-replicate-0``, keeps the central 10 bins of 32 bp (``crop.target_length =
10``), takes the 1,920-d output of ``final_joined_convs`` there, then attention pooling and
``Linear(1920, 1)``; all weights are fine-tuned. The head and the zero-shot ``head="track"``
readout are shared with Enformer (:mod:`haplexpr.models.s2f`).

The default readout track is human track 870, ``CAGE:B lymphoblastoid cell line: GM12878
ENCODE`` on the + strand (FANTOM5 ``CNhs12332+``; its strand pair is 871), from the
targets table borzoi-pytorch ships (``borzoi_pytorch/precomputed/targets.txt``, 7,611
human tracks; ``RNA:GM12878`` tracks are 6112-6121 and others). Borzoi's CAGE and RNA
tracks are stranded: windows of minus-strand genes are reverse-complemented, so the gene
is always on the + strand of the input and the + track is its sense strand. With
``rc_average`` the reverse-complement pass reads the same + track, which is then the
gene's antisense strand; leave ``rc_average`` off for the zero-shot readout.

Facts about borzoi-pytorch 0.5.1 this module works around:

* The input is halved seven times (the stem, four conv-tower pools, the U-Net pool and the
  pool before the transformer) and upsampled back to 32-bp bins with skip additions, so
  the length must be a multiple of 128 bp; otherwise the additions fail on a 1-bin shape
  mismatch.
* The convolution widths (the 512-channel stem, the tower's 608 to 1,280 channels and the
  1,920-d ``final_joined_convs``) are hard-coded; ``BorzoiConfig`` only sizes the
  transformer, so a Borzoi with a tiny transformer keeps ~19 M parameters (~34 M with the
  7,611-track human head) and trains ~20x slower on a CPU than a tiny Enformer. The tiny
  configuration's ``conv_widths`` therefore rebuilds those layers narrower, the same
  ``ConvBlock`` modules in the same places, so the forward pass is borzoi-pytorch's own.
  Only random-initialised models take it: checkpoints (``save_pretrained_tiny``, the hub)
  have the full widths that ``Borzoi.from_pretrained`` builds.
* Each attention layer computes its relative-position table on its first call and keeps
  it as a plain attribute, so a second input length or a move to another device fails.
  We register the table for ``input_length`` as a non-persistent buffer instead.
* ``TargetLengthCrop`` returns one bin too few when ``bins - target_length`` is odd and
  rejects inputs shorter than the default 6,144 bins, so we keep every bin
  (``target_length = -1``) and crop the central bins ourselves.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from borzoi_pytorch import Borzoi
from borzoi_pytorch.config_borzoi import BorzoiConfig
from borzoi_pytorch.pytorch_borzoi_model import ConvBlock
from borzoi_pytorch.pytorch_borzoi_transformer import Attention, get_positional_embed
from torch import nn

from haplexpr.errors import reject_unknown_keys
from haplexpr.models.s2f import S2FModel
from haplexpr.models.settings import BorzoiSettings

__all__ = ["BorzoiModel", "TINY_BORZOI", "save_pretrained_tiny"]

#: Borzoi's output bins are 32 bp; the input must be a multiple of 2**7 = 128 bp.
BIN_SIZE = 32
LENGTH_MULTIPLE = 128
#: Transformer positions borzoi-pytorch scales its relative-position features to
#: (524,288 bp / 128, the pretrained input), whatever the input length.
TRAINED_POSITIONS = 4096

#: Tiny transformer for CPU demos and tests; the conv tower stays full width (see above).
TINY_BORZOI: dict[str, Any] = {
    "dim": 32,
    "depth": 1,
    "heads": 2,
    "attn_dim_key": 8,
    "attn_dim_value": 16,
}

#: Borzoi's hard-coded convolution widths: the stem, the five conv-tower blocks and
#: ``final_joined_convs`` (the tiny configuration's ``conv_widths`` replaces them).
FULL_CONV_WIDTHS = (512, 608, 736, 896, 1056, 1280, 1920)

#: Keys a tiny config may set: ``BorzoiConfig`` arguments, the switches ``Borzoi`` reads
#: from its config (``flashed`` needs flash-attn on a GPU) and ``conv_widths``.
TINY_KEYS = (frozenset(inspect.signature(BorzoiConfig).parameters) - {"kwargs"}) | {
    "enable_human_head",
    "flashed",
    "conv_widths",
}


def _build_tiny(tiny: Mapping[str, Any] | None) -> Borzoi:
    """Build the real architecture with random weights from ``tiny`` hyper-parameters."""
    hparams = dict(TINY_BORZOI if tiny is None else tiny)
    reject_unknown_keys("tiny Borzoi", hparams, TINY_KEYS)
    widths = hparams.pop("conv_widths", None)
    trunk = Borzoi.from_hparams(**hparams)
    if widths is not None:
        _set_conv_widths(trunk, widths)
    return trunk


def _set_conv_widths(trunk: Borzoi, widths: Iterable[int]) -> None:
    """Rebuild the hard-coded convolutions with ``widths`` (see FULL_CONV_WIDTHS).

    Each replaced layer is the module borzoi-pytorch builds there (``Conv1d`` stem,
    ``ConvBlock``) with the same kernel, so ``Borzoi.forward`` runs unchanged.
    """
    widths = [int(w) for w in widths]
    if len(widths) != len(FULL_CONV_WIDTHS) or min(widths) < 1:
        raise ValueError(
            f"tiny Borzoi: conv_widths needs {len(FULL_CONV_WIDTHS)} positive widths (stem,"
            f" five conv-tower blocks, final_joined_convs; full size {list(FULL_CONV_WIDTHS)}),"
            f" got {widths}"
        )
    stem, *tower, joined = widths
    dim = trunk.config.dim
    new = [nn.Conv1d(4, stem, kernel_size=15, padding="same")]
    trunk.conv_dna.conv_layer = new[-1]
    blocks = [i for i, m in enumerate(trunk.res_tower) if isinstance(m, ConvBlock)]
    for i, c_in, c_out in zip(blocks, [stem, *tower[:-1]], tower, strict=True):
        new.append(ConvBlock(c_in, c_out, kernel_size=5))
        trunk.res_tower[i] = new[-1]
    new.append(ConvBlock(tower[-1], dim, kernel_size=5))
    trunk.unet1[1] = new[-1]
    new.append(ConvBlock(tower[-1], dim, kernel_size=1))
    trunk.horizontal_conv0 = new[-1]
    new.append(ConvBlock(dim, joined, kernel_size=1))
    trunk.final_joined_convs[0] = new[-1]
    for name in ("human_head", "mouse_head"):
        if hasattr(trunk, name):
            new.append(nn.Conv1d(joined, getattr(trunk, name).out_channels, kernel_size=1))
            setattr(trunk, name, new[-1])
    for module in new:  # Borzoi's own initialisation, as post_init gave the layers replaced
        module.apply(trunk._init_weights)


def save_pretrained_tiny(
    path: str | Path, tiny: Mapping[str, Any] | None = None, seed: int = 0
) -> Path:
    """Save a random-initialised tiny Borzoi that ``from_config(pretrained=path)`` can load.

    Tests use it to exercise the same ``from_pretrained`` code path a hub checkpoint takes,
    which builds the full convolution widths: ``conv_widths`` is refused here.
    """
    if tiny is not None and "conv_widths" in tiny:
        raise ValueError("a Borzoi checkpoint has the full convolution widths: drop conv_widths")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        trunk = _build_tiny(tiny)
    path = Path(path)
    trunk.save_pretrained(path)
    return path


class BorzoiModel(S2FModel):
    """Borzoi trunk plus an expression head mapping one-hot ``(B, L, 4)`` to ``(B,)``."""

    settings_class = BorzoiSettings
    #: LoRA's default layers: the attention projections (query, key, value, output) of
    #: every transformer block and every convolution of the trunk, down (stem, tower,
    #: U-Net) and up (skip, upsampling, the pointwise half of each separable convolution,
    #: ``final_joined_convs``); depthwise convolutions and the output heads are skipped.
    default_lora_targets = (
        "transformer.*.to_q",
        "transformer.*.to_k",
        "transformer.*.to_v",
        "transformer.*.to_out",
        "conv_dna.*",
        "res_tower.*",
        "unet1.*",
        "horizontal_conv*",
        "upsampling_unet*",
        "separable*",
        "final_joined_convs.*",
    )

    def __init__(self, trunk: Borzoi, input_length: int, **head_kwargs: Any):
        human_head = getattr(trunk, "human_head", None)
        super().__init__(
            trunk,
            input_length=input_length,
            bin_size=BIN_SIZE,
            length_multiple=LENGTH_MULTIPLE,
            embedding_dim=trunk.final_joined_convs[0].conv_layer.out_channels,
            n_tracks=None if human_head is None else human_head.out_channels,
            **head_kwargs,
        )
        self.trunk.crop.target_length = -1
        for module in self.trunk.modules():
            if isinstance(module, Attention):
                table = get_positional_embed(
                    input_length // LENGTH_MULTIPLE,
                    TRAINED_POSITIONS,
                    module.num_rel_pos_features,
                    module.to_v.weight.device,
                )
                del module.positions
                module.register_buffer("positions", table, persistent=False)

    @classmethod
    def load_trunk(cls, settings: BorzoiSettings) -> tuple[Borzoi, dict[str, Any]]:
        """Load ``pretrained`` or build ``tiny`` (keys documented in config.yaml).

        ``pretrained``: hub ID (e.g. ``johahi/borzoi-replicate-0``) or local directory,
        loaded with ``Borzoi.from_pretrained``; ``None`` builds ``tiny`` (``BorzoiConfig``
        fields, default :data:`TINY_BORZOI`) with random weights.
        """
        if settings.pretrained is not None:
            return Borzoi.from_pretrained(settings.pretrained), {}
        return _build_tiny(settings.tiny), {}

    def trunk_embeddings(self, x: torch.Tensor) -> torch.Tensor:
        """The 1,920-d ``final_joined_convs`` output per 32-bp bin, ``(B, n_bins, 1920)``."""
        trunk = self.trunk
        x = x.transpose(1, 2)
        if not self.gradient_checkpointing:
            return trunk.final_joined_convs(trunk.get_embs_after_crop(x)).transpose(1, 2)
        # get_embs_after_crop with the transformer blocks checkpointed
        unet0 = trunk.res_tower(trunk.conv_dna(x))
        unet1 = trunk.unet1(unet0)
        h = trunk._max_pool(unet1).transpose(1, 2)
        h = self.run_blocks(trunk.transformer, h).transpose(1, 2)
        h = trunk.upsampling_unet1(h) + trunk.horizontal_conv1(unet1)
        h = trunk.upsampling_unet0(trunk.separable1(h)) + trunk.horizontal_conv0(unet0)
        return trunk.final_joined_convs(trunk.separable0(h)).transpose(1, 2)

    def output_heads(self) -> Iterable[nn.Module]:
        """Borzoi's human and (when enabled) mouse output convolutions."""
        return [
            getattr(self.trunk, name)
            for name in ("human_head", "mouse_head")
            if hasattr(self.trunk, name)
        ]

    def track_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Channel ``track_index`` of the human head (a 1×1 convolution)."""
        conv = self.trunk.human_head
        i = self.track_index
        return conv.weight[i : i + 1, :, 0], conv.bias[i : i + 1]
