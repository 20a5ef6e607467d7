"""Enformer with the seed study's expression head, built on enformer-pytorch.

The seed (StatBiomed/gLM2X-Tower, ``run_models/models.py``, class ``FTEnformer``) fine-tunes
all of Enformer: trunk embeddings (``2 * dim`` = 3,072-d for the full model) of the central
10 bins of 128 bp, attention pooling over those bins, then ``Linear(d, 1)``; the head and
the zero-shot ``head="track"`` readout are shared with Borzoi (:mod:`haplexpr.models.s2f`).
The default readout track is human track 5110, CAGE GM12878 (as used by Huang et al. 2023).

Facts about enformer-pytorch 0.8.11 this module works around:

* ``from_pretrained("EleutherAI/enformer-official-rough")`` switches on TensorFlow gamma
  positional features, which assert 1,536 bins (196,608 bp); any shorter input fails. We
  set ``use_tf_gamma`` explicitly on every attention layer (default ``False``, as the seed
  does) so hub IDs and local copies behave the same.
* ``TargetLengthCrop`` returns one bin too few when ``bins - target_length`` is odd, so we
  set ``target_length = input_length // bin_size`` (nothing cropped) and crop the central
  bins ourselves.
* ``Enformer.save_pretrained`` fails with safetensors (the trunk ``nn.Sequential`` shares
  every tensor with ``stem``/``conv_tower``/...); :func:`save_pretrained_tiny` writes
  ``pytorch_model.bin`` instead.
* Its own checkpointing uses ``checkpoint_sequential`` without ``use_reentrant`` (a
  deprecation warning); we checkpoint each transformer block with ``use_reentrant=False``.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from enformer_pytorch import Enformer, EnformerConfig
from enformer_pytorch import from_pretrained as enformer_from_pretrained
from enformer_pytorch.modeling_enformer import Attention, exponential_linspace_int
from torch import nn

from haplexpr.errors import reject_unknown_keys
from haplexpr.models.s2f import S2FModel
from haplexpr.models.settings import EnformerSettings

__all__ = ["EnformerModel", "TINY_ENFORMER", "save_pretrained_tiny"]

#: Tiny hyper-parameters for CPU demos and tests (trunk embedding 96-d, 128-bp bins).
#: ``dim_divisible_by`` must divide ``dim``: the default 128 rounds a small ``dim`` to 0.
TINY_ENFORMER: dict[str, Any] = {
    "dim": 48,
    "depth": 1,
    "heads": 2,
    "attn_dim_key": 16,
    "num_downsamples": 7,
    "dim_divisible_by": 16,
}

#: Keys ``tiny`` may set: EnformerConfig's fields, less the two the model config owns
#: (``target_length`` follows ``input_length``; ``use_tf_gamma`` is a model key).
TINY_KEYS = frozenset(inspect.signature(EnformerConfig).parameters) - {
    "kwargs",
    "target_length",
    "use_tf_gamma",
}


def _bin_size(config: EnformerConfig) -> int:
    """Return bp per output bin: the stem and conv tower each halve the length."""
    return 2**config.num_downsamples


def _check_tiny(hparams: Mapping[str, Any]) -> None:
    """Fail early on tiny configs that enformer-pytorch would build into a broken trunk.

    EnformerConfig takes any keyword silently, so a misspelt one is refused here by name.
    """
    reject_unknown_keys("tiny Enformer", hparams, TINY_KEYS)
    config = EnformerConfig(**hparams)
    half = config.dim // 2
    filters = exponential_linspace_int(
        half, config.dim, num=config.num_downsamples - 1, divisible_by=config.dim_divisible_by
    )
    if filters[-1] != config.dim or min(filters) <= 0:
        raise ValueError(
            f"tiny Enformer: dim={config.dim} with dim_divisible_by={config.dim_divisible_by} "
            f"gives conv-tower widths {filters}; choose dim_divisible_by dividing dim"
        )
    if (config.dim // config.heads) % 6:
        raise ValueError("tiny Enformer: dim // heads must be a multiple of 6 (positional basis)")


def _set_tf_gamma(trunk: Enformer, use_tf_gamma: bool) -> None:
    """Set the positional-feature flavour on every attention layer (the config flag is not)."""
    for module in trunk.modules():
        if isinstance(module, Attention):
            module.use_tf_gamma = use_tf_gamma
    trunk.use_tf_gamma = use_tf_gamma


def save_pretrained_tiny(
    path: str | Path, tiny_hparams: Mapping[str, Any] | None = None, seed: int = 0
) -> Path:
    """Save a random-initialised tiny Enformer that ``from_config(pretrained=path)`` can load.

    Tests use it to exercise the same ``from_pretrained`` code path a hub checkpoint takes.
    Written as ``pytorch_model.bin`` because safetensors rejects Enformer's shared tensors.
    """
    hparams = dict(TINY_ENFORMER if tiny_hparams is None else tiny_hparams)
    _check_tiny(hparams)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        trunk = Enformer.from_hparams(**hparams)
    path = Path(path)
    trunk.save_pretrained(path, safe_serialization=False)
    return path


class EnformerModel(S2FModel):
    """Enformer trunk plus an expression head mapping one-hot ``(B, L, 4)`` to ``(B,)``."""

    settings_class = EnformerSettings
    #: LoRA's default layers: the attention projections (query, key, value, output) of
    #: every transformer block and every convolution of the stem, conv tower and final
    #: pointwise block (peft adapts ``nn.Conv1d``); the output heads are never adapted.
    default_lora_targets = (
        "transformer.*.to_q",
        "transformer.*.to_k",
        "transformer.*.to_v",
        "transformer.*.to_out",
        "stem.*",
        "conv_tower.*",
        "final_pointwise.*",
    )

    def __init__(
        self,
        trunk: Enformer,
        input_length: int,
        center_bins: int = 10,
        head: str = "attention_pool",
        track_index: int = 5110,
        track_head: str = "human",
        pool_logits: str = "scalar",
        gradient_checkpointing: bool = False,
    ):
        bin_size = _bin_size(trunk.config)
        super().__init__(
            trunk,
            input_length=input_length,
            bin_size=bin_size,
            length_multiple=bin_size,
            embedding_dim=2 * trunk.config.dim,
            n_tracks=trunk.output_heads.get(track_head),
            center_bins=center_bins,
            head=head,
            track_index=track_index,
            pool_logits=pool_logits,
            gradient_checkpointing=gradient_checkpointing,
        )
        self.trunk.set_target_length(self.n_bins)
        self.trunk.use_checkpointing = False  # we checkpoint ourselves, see trunk_embeddings
        self.track_head = track_head if head == "track" else None

    @classmethod
    def load_trunk(cls, settings: EnformerSettings) -> tuple[Enformer, dict[str, Any]]:
        """Load ``pretrained`` or build ``tiny`` (keys documented in config.yaml).

        ``pretrained``: hub ID or local directory (loaded with enformer-pytorch's
        ``from_pretrained``), or ``None`` to build ``tiny`` (``Enformer.from_hparams``
        keyword arguments, default :data:`TINY_ENFORMER`) with random weights.
        ``track_head`` names the output head of the track readout; ``use_tf_gamma``
        needs 196,608-bp inputs.
        """
        use_tf_gamma = settings.use_tf_gamma
        if settings.pretrained is not None:
            config = EnformerConfig.from_pretrained(settings.pretrained)
            n_bins = settings.input_length // _bin_size(config)
            trunk = enformer_from_pretrained(
                settings.pretrained, use_tf_gamma=use_tf_gamma, target_length=n_bins
            )
        else:
            hparams = dict(settings.tiny or TINY_ENFORMER)
            _check_tiny(hparams)
            n_bins = settings.input_length // _bin_size(EnformerConfig(**hparams))
            hparams["target_length"] = n_bins
            trunk = Enformer.from_hparams(**hparams)
        if use_tf_gamma and n_bins != 1536:
            raise ValueError("use_tf_gamma needs 1,536 bins (196,608 bp with 128-bp bins)")
        _set_tf_gamma(trunk, use_tf_gamma)
        return trunk, {"track_head": settings.track_head}

    def trunk_embeddings(self, x: torch.Tensor) -> torch.Tensor:
        """Trunk embeddings ``(B, n_bins, 2 * dim)``; transformer blocks may be checkpointed."""
        trunk = self.trunk
        if not self.gradient_checkpointing:
            return trunk(x, return_only_embeddings=True)
        h = trunk.conv_tower(trunk.stem(x.transpose(1, 2))).transpose(1, 2)
        h = self.run_blocks(trunk.transformer, h)
        return trunk.final_pointwise(trunk.crop_final(h))

    def output_heads(self) -> Iterable[nn.Module]:
        """Enformer's per-species output heads."""
        return [self.trunk.heads]

    def track_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Row ``track_index`` of the ``track_head`` output layer."""
        linear = self.trunk.heads[self.track_head][0]
        i = self.track_index
        return linear.weight[i : i + 1], linear.bias[i : i + 1]
