"""Evo2's network (Arc Institute): StripedHyena 2 built from a config, and its checkpoints.

The network is the ``vtx`` package's (vortex) StripedHyena 2, which ``evo2`` 0.6.0 runs:
hyena blocks with short (hcs), medium (hcm) and long (hcl) convolutions interleaved with
attention blocks. It is built here from a config dict with ``use_flash_attn: false``
(PyTorch attention), so it also runs on a CPU: :mod:`haplexpr.models.evo2_cpu_shims` holds
what vortex imports or enters that a CPU machine lacks, and why.

A model's ``pretrained`` (:func:`load_pretrained`) is one of

- an Evo2 model name (``evo2_7b``): with flash-attn and CUDA, ``evo2.Evo2(name)`` downloads
  the weights and builds the model from evo2's own config (flash attention on); without
  them (the evo2 env installs no flash-attn), the same weights are fetched from Hugging
  Face as evo2 fetches them (:func:`published_weights`) and loaded as a local checkpoint,
  with PyTorch attention;
- a local checkpoint ``<name>.pt`` in the published layout, with its config ``<name>.yml``
  next to it (or, if there is none and ``<name>`` is an Evo2 model name, evo2's config for
  it), loaded through vortex's ``load_checkpoint``;
- null: a tiny random-initialised StripedHyena 2 (:data:`TINY_EVO2` over the 7B config),
  written as such a checkpoint first and loaded back the same way.

``load_checkpoint`` casts weights to bfloat16 (poles and residues stay float32) and
reorders each attention block's ``Wqkv`` rows from the training code's (savanna) layout,
per head ``[q; k; v]``, to vortex's ``[all q; all k; all v]``; :func:`save_checkpoint`
writes the savanna layout.
"""

from __future__ import annotations

import functools
import pkgutil
import shutil
from collections.abc import Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn

from haplexpr.atomic import atomic_path
from haplexpr.errors import ConfigError, reject_unknown_keys
from haplexpr.models import evo2_cpu_shims

__all__ = [
    "BASE_CONFIG",
    "TINY_EVO2",
    "build_model",
    "build_tiny",
    "cuda_device_context",
    "load_checkpoint",
    "load_pretrained",
    "packaged_config",
    "published_weights",
    "runnable_config",
    "save_checkpoint",
    "save_pretrained_tiny",
    "tiny_config",
    "vortex",
]

#: evo2's config of ``evo2_7b`` (evo2.utils.CONFIG_MAP), which the tiny model shrinks.
BASE_CONFIG = "configs/evo2-7b-1m.yml"
#: Tiny sizes for CPU demos and tests: the 7B model's last four blocks (28-31) in small,
#: each kind of block once, flash attention and FP8 projections off.
TINY_EVO2: dict[str, Any] = {
    "hidden_size": 32,
    "num_filters": 32,
    "num_layers": 4,
    "hcs_layer_idxs": [0],
    "hcm_layer_idxs": [1],
    "hcl_layer_idxs": [2],
    "attn_layer_idxs": [3],
    "hcl_filter_groups": 32,
    "hcm_filter_groups": 2,
    "hcs_filter_groups": 2,
    "num_attention_heads": 2,
    "inner_mlp_size": 64,
    "use_flash_attn": False,
    "use_fp8_input_projections": False,
}
#: The block kinds of a StripedHyena 2, by the config key listing their indices.
BLOCK_KINDS = ("hcs_layer_idxs", "hcm_layer_idxs", "hcl_layer_idxs", "attn_layer_idxs")
CHECKPOINT_NAME = "evo2_tiny"


@functools.cache
def vortex():
    """``vortex.model.model``, imported once, after the CPU stand-ins are installed."""
    return evo2_cpu_shims.import_vortex()


def packaged_config(path: str) -> dict[str, Any]:
    """A config yml shipped inside the ``evo2`` package (importing it imports vortex)."""
    vortex()
    return yaml.safe_load(pkgutil.get_data("evo2", path))


def tiny_config(tiny_cfg: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The 7B config with :data:`TINY_EVO2` and then ``tiny_cfg`` laid over it.

    Only keys of the 7B config may be set; every block index must be listed exactly once.
    """
    config = packaged_config(BASE_CONFIG)
    tiny_cfg = dict(tiny_cfg or {})
    reject_unknown_keys("tiny Evo2", tiny_cfg, config)
    config.update(TINY_EVO2, **tiny_cfg)
    listed = sorted(i for kind in BLOCK_KINDS for i in config[kind])
    if listed != list(range(config["num_layers"])):
        raise ConfigError(
            f"tiny Evo2: {', '.join(BLOCK_KINDS)} must list each of the"
            f" {config['num_layers']} blocks once, got {listed}"
        )
    return config


def runnable_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with the accelerators this machine lacks switched off.

    Flash attention without flash-attn or CUDA becomes PyTorch attention (the same
    computation), and FP8 projections without Transformer Engine become bfloat16, as
    ``evo2`` itself does for the 7B models.
    """
    config = dict(config)
    flash_attn = evo2_cpu_shims.has_real(evo2_cpu_shims.FLASH_ATTN_MODULE)
    if not (flash_attn and torch.cuda.is_available()):
        config["use_flash_attn"] = False
    if not evo2_cpu_shims.has_real("transformer_engine"):
        config["use_fp8_input_projections"] = False
    return config


def build_model(config: Mapping[str, Any]) -> nn.Module:
    """A StripedHyena 2 with vortex's initial weights (CPU stand-ins where needed)."""
    model_module = vortex()
    from vortex.model.utils import dotdict

    with cuda_device_context(on_cpu=not torch.cuda.is_available()):  # vortex builds there
        return model_module.StripedHyena(dotdict(config))


def cuda_device_context(on_cpu: bool):
    """:func:`~haplexpr.models.evo2_cpu_shims.cuda_device_accepts_cpu` where vortex runs on CPU."""
    return evo2_cpu_shims.cuda_device_accepts_cpu() if on_cpu else nullcontext()


def _attention_blocks(model: nn.Module):
    """``(index, block)`` of every attention block."""
    attention = vortex().AttentionBlock
    return [(i, b) for i, b in enumerate(model.blocks) if isinstance(b, attention)]


def save_checkpoint(model: nn.Module, path: str | Path) -> Path:
    """Write ``model`` as the published checkpoints are: ``<path>.pt`` and ``<path>.yml``.

    ``Wqkv`` rows go back to the savanna layout (per head ``[q; k; v]``), the inverse of
    the reorder ``load_checkpoint`` applies when the config has ``column_split``.
    """
    path = Path(path).with_suffix(".pt")
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if model.config.get("column_split", True):  # vortex's own reading of its config
        for i, block in _attention_blocks(model):
            heads, head_size = block.num_attention_heads, block.hidden_size_per_attention_head
            for kind in ("weight", "bias"):
                key = f"blocks.{i}.inner_mha_cls.Wqkv.{kind}"
                if key in state:
                    rows = state[key].reshape(3, heads, head_size, *state[key].shape[1:])
                    state[key] = rows.transpose(0, 1).reshape(state[key].shape).contiguous()
    torch.save(state, path)
    path.with_suffix(".yml").write_text(yaml.safe_dump(dict(model.config), sort_keys=False))
    return path


def build_tiny(tiny_cfg: Mapping[str, Any] | None = None, seed: int = 0) -> nn.Module:
    """A random-initialised tiny StripedHyena 2 (:func:`tiny_config`), the same for a seed.

    vortex draws each hyena block's ``log_poles`` from a standard normal, and a positive
    log-pole grows its long filter as ``exp(pole * t)``: the tiny model uses their negated
    magnitudes, decaying filters as trained models have.
    """
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = build_model(tiny_config(tiny_cfg))
    for block in model.blocks:
        poles = getattr(getattr(block, "filter", None), "log_poles", None)
        if poles is not None:
            poles.data = -poles.data.abs()
    return model


def save_pretrained_tiny(
    directory: str | Path, tiny_cfg: Mapping[str, Any] | None = None, seed: int = 0
) -> Path:
    """Write :func:`build_tiny`'s model in the published layout; the path of its ``.pt``."""
    return save_checkpoint(build_tiny(tiny_cfg, seed), Path(directory) / CHECKPOINT_NAME)


def _checkpoint_config(checkpoint: Path) -> dict[str, Any]:
    """The config ``<name>.yml`` next to ``<name>.pt``, else evo2's for model ``<name>``."""
    config_file = checkpoint.with_suffix(".yml")
    if config_file.exists():
        return yaml.safe_load(config_file.read_text())
    vortex()  # before evo2, which imports vortex
    from evo2.utils import CONFIG_MAP

    if checkpoint.stem in CONFIG_MAP:
        return packaged_config(CONFIG_MAP[checkpoint.stem])
    raise FileNotFoundError(
        f"{checkpoint}: no {config_file.name} next to it; copy the config of its model from"
        f" the evo2 package (evo2/configs/), or name the file after an Evo2 model"
        f" ({', '.join(CONFIG_MAP)})"
    )


def load_checkpoint(checkpoint: str | Path) -> nn.Module:
    """Build the StripedHyena 2 a local checkpoint's config describes and load its weights.

    Loading is strict: vortex itself refuses missing and mis-shaped tensors, and here a
    tensor the model has no place for (which vortex drops with a print) is refused too.
    """
    checkpoint = Path(checkpoint)
    model = build_model(runnable_config(_checkpoint_config(checkpoint)))
    from vortex.model.utils import load_checkpoint as vortex_load_checkpoint

    try:
        with cuda_device_context(on_cpu=not torch.cuda.is_available()):
            vortex_load_checkpoint(model, str(checkpoint))
    except RuntimeError as error:  # load_state_dict's missing / mis-shaped tensors
        raise ValueError(
            f"{checkpoint} does not fit its config's StripedHyena 2: {error}"
        ) from None
    # vortex's own loader has registered the globals its checkpoints need (io.BytesIO).
    stored = torch.load(checkpoint, map_location="cpu", mmap=True, weights_only=True)
    extra = sorted(set(stored) - set(model.state_dict()))
    extra = [key for key in extra if not key.endswith("._extra_state")]  # TE's FP8 metadata
    if extra:
        raise ValueError(
            f"{checkpoint} holds tensors its config's StripedHyena 2 has no place for:"
            f" {', '.join(extra[:4])}{f' and {len(extra) - 4} more' if len(extra) > 4 else ''}"
        )
    return model


def load_pretrained(pretrained: str | Path) -> nn.Module:
    """The StripedHyena 2 of an Evo2 model name (downloaded by evo2) or a local ``.pt``."""
    if Path(pretrained).suffix == ".pt":
        return load_checkpoint(pretrained)
    vortex()  # before evo2, which imports vortex
    from evo2.utils import MODEL_NAMES

    if pretrained not in MODEL_NAMES:
        raise ValueError(
            f"Evo2 pretrained {pretrained!r} is neither a local checkpoint (<name>.pt) nor"
            f" an Evo2 model name ({', '.join(MODEL_NAMES)})"
        )
    if torch.cuda.is_available() and evo2_cpu_shims.has_real(evo2_cpu_shims.FLASH_ATTN_MODULE):
        from evo2 import Evo2

        return Evo2(str(pretrained)).model
    return load_checkpoint(published_weights(str(pretrained)))


def published_weights(name: str) -> Path:
    """The merged ``<name>.pt`` of an Evo2 model, downloaded where ``evo2.Evo2`` keeps it.

    Its Hugging Face repository holds ``<name>.pt`` or its parts ``<name>.pt.part0, 1, ...``;
    parts are joined once into ``<name>.pt`` beside the hub cache (evo2's own place, so
    either loader finds the other's download). Named ``<name>.pt``, the file is built
    with evo2's config for ``name`` (:func:`_checkpoint_config`).
    """
    from evo2.utils import HF_MODEL_NAME_MAP
    from huggingface_hub import constants, snapshot_download

    merged = Path(constants.HF_HUB_CACHE).parent / f"{name}.pt"
    if merged.exists():
        return merged
    repo = Path(snapshot_download(repo_id=HF_MODEL_NAME_MAP[name]))
    if (repo / f"{name}.pt").exists():
        return repo / f"{name}.pt"
    parts = sorted(repo.glob(f"{name}.pt.part*"), key=lambda p: int(p.name.rsplit("part", 1)[1]))
    if not parts:
        raise FileNotFoundError(f"{repo}: neither {name}.pt nor its parts {name}.pt.part0, ...")
    with atomic_path(merged) as tmp, tmp.open("wb") as out:
        for part in parts:
            with part.open("rb") as chunk:
                shutil.copyfileobj(chunk, out, 1 << 24)
    return merged
