"""Enformer with the seed study's expression head, built on enformer-pytorch.

The seed (StatBiomed/gLM2X-Tower, ``run_models/models.py``, class ``FTEnformer``) fine-tunes
all of Enformer: trunk embeddings (``2 * dim`` = 3,072-d for the full model) of the central
10 bins of 128 bp, attention pooling over those bins, then ``Linear(d, 1)``. Its pooling
(``AttentionPool2``) scores each bin with ``Linear(d, 1)`` and softmaxes over bins, so all
dimensions of a bin share one weight; ``pool_logits="scalar"`` reproduces that and is the
default. ``pool_logits="per_dim"`` gives every dimension its own softmax over bins
(``Linear(d, d)`` logits, as in Enformer's own ``AttentionPool``).

``head="track"`` is the zero-shot readout: ``log1p`` of the mean over the central bins of
one pretrained output track (default human track 5110, CAGE GM12878, as used by Huang et
al. 2023); it adds no parameters.

Facts about enformer-pytorch 0.8.12 this module works around:

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

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from enformer_pytorch import Enformer, EnformerConfig
from enformer_pytorch import from_pretrained as enformer_from_pretrained
from enformer_pytorch.modeling_enformer import Attention, exponential_linspace_int
from torch import nn
from torch.utils.checkpoint import checkpoint

__all__ = ["BinAttentionPool", "EnformerModel", "TINY_ENFORMER", "save_pretrained_tiny"]

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

HEADS = ("attention_pool", "track")
POOL_LOGITS = ("scalar", "per_dim")


class BinAttentionPool(nn.Module):
    """Softmax-weighted sum over bins, so the head learns which bins near the TSS matter."""

    def __init__(self, dim: int, per_dim: bool = False):
        super().__init__()
        self.to_logits = nn.Linear(dim, dim if per_dim else 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pool ``(B, bins, D)`` to ``(B, D)``."""
        weights = self.to_logits(x).softmax(dim=1)
        return (weights * x).sum(dim=1)


def _bin_size(config: EnformerConfig) -> int:
    """Return bp per output bin: the stem and conv tower each halve the length."""
    return 2**config.num_downsamples


def _check_tiny(hparams: Mapping[str, Any]) -> None:
    """Fail early on tiny configs that enformer-pytorch would build into a broken trunk."""
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


class EnformerModel(nn.Module):
    """Enformer trunk plus an expression head mapping one-hot ``(B, L, 4)`` to ``(B,)``."""

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
        super().__init__()
        bin_size = _bin_size(trunk.config)
        if input_length <= 0 or input_length % bin_size:
            raise ValueError(f"input_length {input_length} must be a multiple of {bin_size} bp")
        n_bins = input_length // bin_size
        if not 0 < center_bins <= n_bins:
            raise ValueError(f"center_bins must be in 1..{n_bins}, got {center_bins}")
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {head!r}")
        if pool_logits not in POOL_LOGITS:
            raise ValueError(f"pool_logits must be one of {POOL_LOGITS}, got {pool_logits!r}")
        self.trunk = trunk
        self.trunk.set_target_length(n_bins)
        self.trunk.use_checkpointing = False  # we checkpoint ourselves, see forward
        self.input_length = input_length
        self.bin_size = bin_size
        self.n_bins = n_bins
        self.center_bins = center_bins
        self.head = head
        self.gradient_checkpointing = gradient_checkpointing
        self.embedding_dim = 2 * trunk.config.dim
        if head == "track":
            n_tracks = trunk.output_heads.get(track_head)
            if n_tracks is None:
                raise ValueError(f"trunk has no output head {track_head!r}")
            if not 0 <= track_index < n_tracks:
                raise ValueError(f"track_index {track_index} outside 0..{n_tracks - 1}")
            self.track_head, self.track_index = track_head, track_index
            self.pool = None
            self.linear = None
        else:
            self.track_head, self.track_index = None, None
            self.pool = BinAttentionPool(self.embedding_dim, per_dim=pool_logits == "per_dim")
            self.linear = nn.Linear(self.embedding_dim, 1)
            # The pretrained output heads are never used here: freeze them so optimisers
            # and DDP (find_unused_parameters=False) see only parameters that get gradients.
            self.trunk.heads.requires_grad_(False)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> EnformerModel:
        """Build from a config mapping (keys documented in the module and the README).

        ``pretrained``: hub ID or local directory (loaded with enformer-pytorch's
        ``from_pretrained``), or ``None`` to build ``tiny`` (``Enformer.from_hparams``
        keyword arguments, default :data:`TINY_ENFORMER`) with random weights.
        ``input_length`` (bp, a multiple of the bin size), ``center_bins`` (10),
        ``head`` (``attention_pool``/``track``), ``track_index`` (5110), ``track_head``
        (``human``), ``pool_logits`` (``scalar``/``per_dim``), ``gradient_checkpointing``
        (False), ``use_tf_gamma`` (False; True needs 196,608-bp inputs).
        """
        input_length = int(cfg["input_length"])
        use_tf_gamma = bool(cfg.get("use_tf_gamma", False))
        pretrained = cfg.get("pretrained")
        if pretrained is not None:
            config = EnformerConfig.from_pretrained(str(pretrained))
            n_bins = input_length // _bin_size(config)
            trunk = enformer_from_pretrained(
                str(pretrained), use_tf_gamma=use_tf_gamma, target_length=n_bins
            )
        else:
            hparams = dict(cfg.get("tiny") or TINY_ENFORMER)
            _check_tiny(hparams)
            n_bins = input_length // _bin_size(EnformerConfig(**hparams))
            hparams["target_length"] = n_bins
            trunk = Enformer.from_hparams(**hparams)
        if use_tf_gamma and n_bins != 1536:
            raise ValueError("use_tf_gamma needs 1,536 bins (196,608 bp with 128-bp bins)")
        _set_tf_gamma(trunk, use_tf_gamma)
        return cls(
            trunk,
            input_length=input_length,
            center_bins=int(cfg.get("center_bins", 10)),
            head=str(cfg.get("head", "attention_pool")),
            track_index=int(cfg.get("track_index", 5110)),
            track_head=str(cfg.get("track_head", "human")),
            pool_logits=str(cfg.get("pool_logits", "scalar")),
            gradient_checkpointing=bool(cfg.get("gradient_checkpointing", False)),
        )

    def embeddings(self, x: torch.Tensor) -> torch.Tensor:
        """Trunk embeddings ``(B, n_bins, 2 * dim)`` of one-hot input ``(B, L, 4)``."""
        if x.ndim != 3 or x.shape[1] != self.input_length or x.shape[2] != 4:
            raise ValueError(
                f"expected one-hot input (B, {self.input_length}, 4), got {tuple(x.shape)}"
            )
        if not (self.gradient_checkpointing and self.training and torch.is_grad_enabled()):
            return self.trunk(x, return_only_embeddings=True)
        trunk = self.trunk
        h = trunk.conv_tower(trunk.stem(x.transpose(1, 2))).transpose(1, 2)
        for block in trunk.transformer:
            h = checkpoint(block, h, use_reentrant=False)
        return trunk.final_pointwise(trunk.crop_final(h))

    def central(self, emb: torch.Tensor) -> torch.Tensor:
        """Keep the ``center_bins`` bins around the window centre (TSS bin: ``n_bins // 2``)."""
        start = (self.n_bins - self.center_bins) // 2
        return emb[:, start : start + self.center_bins]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict one scalar per sequence: ``(B, L, 4)`` → ``(B,)``."""
        emb = self.central(self.embeddings(x))
        if self.head == "track":
            linear = self.trunk.heads[self.track_head][0]
            i = self.track_index
            track = F.softplus(F.linear(emb, linear.weight[i : i + 1], linear.bias[i : i + 1]))
            return torch.log1p(track.mean(dim=(1, 2)))
        return self.linear(self.pool(emb)).squeeze(-1)
