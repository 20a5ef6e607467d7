"""What of an S2F model trains: ``finetune: full | heads | lora`` (config ``models.<name>``).

* ``full`` (default; the seed's): every trunk weight and the head train.
* ``heads``: the trunk is a fixed feature extractor (frozen, in eval mode, run without
  gradients); only the attention pool and the final linear layer train.
* ``lora``: the trunk is frozen and low-rank adapters (the ``peft`` library's LoRA) are
  added to its attention projections and convolutions; adapters and head train. The
  trunk's BatchNorm layers keep their pretrained running statistics (eval mode), so the
  base weights stay exactly as loaded; dropout acts as in full fine-tuning.

Under ``heads`` and ``lora`` a checkpoint holds only what trains, so it is small, but it
is only meaningful on top of the same base weights: :class:`FineTuning` records the base's
identity (hub ID or path, or the tiny configuration and seed of a random one) and a
SHA-256 of its weights, which loading checks.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from haplexpr.models.settings import LORA_DEFAULTS, S2FSettings

__all__ = [
    "FINETUNE_MODES",
    "LORA_DEFAULTS",
    "FineTuning",
    "base_weights_digest",
    "lora_target_names",
    "parameter_counts",
]

FINETUNE_MODES = ("full", "heads", "lora")
#: Layer types LoRA adapts (peft's LoRA supports both; grouped convolutions are skipped).
ADAPTABLE = (nn.Linear, nn.Conv1d)


def lora_target_names(trunk: nn.Module, patterns: Sequence[str], exclude: Sequence[nn.Module]):
    """Names of the trunk's linear and ungrouped Conv1d layers matching any glob pattern.

    Patterns are matched (``fnmatch``, ``*`` spans dots) against dotted module names such
    as ``transformer.0.0.fn.1.to_q``. Layers inside ``exclude`` (the pretrained output
    heads) and depthwise convolutions (peft needs the rank divisible by ``groups``) are
    never adapted. A pattern that matches nothing is an error naming the candidates.
    """
    excluded = {id(m) for module in exclude for m in module.modules()}
    candidates = [
        name
        for name, module in trunk.named_modules()
        if isinstance(module, ADAPTABLE)
        and id(module) not in excluded
        and getattr(module, "groups", 1) == 1
    ]
    chosen = set()
    for pattern in patterns:
        hits = fnmatch.filter(candidates, pattern)
        if not hits:
            shown = ", ".join(candidates[:8]) + (", ..." if len(candidates) > 8 else "")
            raise ValueError(
                f"lora.target_modules pattern {pattern!r} matches no linear or convolution "
                f"layer of the trunk; its layers are named like: {shown}"
            )
        chosen.update(hits)
    return sorted(chosen)


def base_weights_digest(trunk: nn.Module) -> str:
    """SHA-256 of the trunk's pretrained tensors (names and bytes), adapters left out.

    peft moves an adapted layer's weight to ``<layer>.base_layer.weight``; the name is
    read back without ``base_layer`` so the digest is the same before and after LoRA.
    """
    digest = hashlib.sha256()
    for name, tensor in sorted(trunk.state_dict().items()):
        if ".lora_" in name:
            continue
        digest.update(name.replace(".base_layer", "").encode())
        digest.update(tensor.detach().cpu().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def parameter_counts(model: nn.Module) -> tuple[int, int]:
    """``(trainable, total)`` parameter counts (shared tensors counted once)."""
    params = list(model.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


@dataclass(frozen=True)
class FineTuning:
    """A fine-tuning mode with its LoRA settings and the base model it starts from."""

    mode: str = "full"
    #: rank, alpha, dropout and the resolved target layer names (``lora`` only).
    lora: dict[str, Any] | None = None
    #: Where the base weights come from: ``pretrained`` (hub ID or path) or, when None,
    #: ``tiny`` (the random configuration) and ``seed`` (torch's seed when it was built).
    base: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: S2FSettings) -> FineTuning:
        """Mode and LoRA keys of a model's settings (``finetune``, ``lora``), checked."""
        mode = settings.finetune
        if mode not in FINETUNE_MODES:
            raise ValueError(f"finetune must be one of {FINETUNE_MODES}, got {mode!r}")
        lora = settings.lora_settings
        unknown = sorted(set(lora) - set(LORA_DEFAULTS))
        if unknown:
            raise ValueError(f"lora: unknown key(s) {unknown}; allowed: {sorted(LORA_DEFAULTS)}")
        base = (
            {"pretrained": settings.pretrained}
            if settings.pretrained is not None
            else {"tiny": dict(settings.tiny or {}), "seed": torch.initial_seed()}
        )
        return cls(mode, lora if mode == "lora" else None, base)

    def apply(self, trunk: nn.Module, default_targets: Sequence[str], output_heads) -> FineTuning:
        """Freeze the trunk (``heads``, ``lora``) and add adapters (``lora``), in place.

        Returns the record with LoRA's target patterns resolved to layer names.
        """
        if self.mode == "full":
            return self
        trunk.requires_grad_(False)
        if self.mode == "heads":
            return self
        from peft import LoraConfig, inject_adapter_in_model

        lora = dict(self.lora)
        patterns = lora["target_modules"] or default_targets
        lora["target_modules"] = lora_target_names(trunk, patterns, output_heads)
        config = LoraConfig(
            r=int(lora["rank"]),
            lora_alpha=float(lora["alpha"]),
            lora_dropout=float(lora["dropout"]),
            target_modules=lora["target_modules"],
            bias="none",
        )
        inject_adapter_in_model(config, trunk)  # adapters train, the rest stays frozen
        return FineTuning(self.mode, lora, self.base)

    def record(self, trunk: nn.Module) -> dict[str, Any]:
        """What a checkpoint stores: the mode, LoRA settings, base identity and digest."""
        saved = asdict(self)
        if self.mode != "full":  # a full checkpoint holds the base weights themselves
            saved["base"] = {**self.base, "sha256": base_weights_digest(trunk)}
        return saved
