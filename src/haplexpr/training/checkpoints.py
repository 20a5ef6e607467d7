"""Trained weights on disk (``model.pt``): written with their architecture, read back checked.

An rp run starts from its r model and every prediction job loads one, so a damaged file
(a full disk, a copy cut short) or another model's weights must stop the job naming the
file and the fix, not with torch's unpickling or key-mismatch traceback.

An S2F model fine-tuned with ``finetune: heads`` or ``lora`` saves only what trains (the
head, and LoRA's adapters) with its fine-tuning record: the mode, LoRA settings and the
base model's identity and weight digest (:mod:`haplexpr.models.finetune`). Loading checks
the record against the model built from the config, then the saved tensors against the
model's trainable ones, strictly.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch
from torch import nn

from haplexpr.atomic import atomic_path
from haplexpr.models.finetune import FineTuning
from haplexpr.models.s2f import S2FModel

RETRAIN = "delete it and rerun: Snakemake retrains it"


class CheckpointError(ValueError):
    """A ``model.pt`` that is damaged or holds weights of another model."""


def _s2f_of(model: nn.Module) -> S2FModel | None:
    """The S2F model inside ``model``'s wrappers, if it is one with a trainable head."""
    return next(
        (m for m in model.modules() if isinstance(m, S2FModel) and m.finetuning is not None),
        None,
    )


def _partial(s2f: S2FModel | None) -> bool:
    """Whether only the trainable tensors are saved (``heads``, ``lora``)."""
    return s2f is not None and s2f.finetuning.mode != "full"


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The parameters that train, by their ``state_dict`` names."""
    return {name: p.detach() for name, p in model.named_parameters() if p.requires_grad}


def save_weights(path: str | Path, model: nn.Module, settings: dict, architecture: str | None):
    """Write what of ``model`` trained, its settings, architecture and fine-tuning, atomically."""
    s2f = _s2f_of(model)
    weights = trainable_state(model) if _partial(s2f) else model.state_dict()
    finetune = s2f.finetuning.record(s2f.trunk) if s2f is not None else None
    with atomic_path(path) as tmp:
        state = {"state_dict": weights, "settings": settings, "finetune": finetune}
        torch.save({**state, "architecture": architecture}, tmp)


def read_weights(path: str | Path, device: str | torch.device = "cpu") -> dict:
    """The checkpoint's contents (tensors only, nothing executed), or :class:`CheckpointError`."""
    try:
        checkpoint = torch.load(path, map_location=device, weights_only=True)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile) as error:
        reason = str(error).splitlines()[0][:200]
        raise CheckpointError(
            f"{path} is damaged or not a PyTorch checkpoint ({reason}); {RETRAIN}"
        ) from error
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(
            f"{path} holds no 'state_dict', so it is no haplexpr model.pt; {RETRAIN}"
        )
    return checkpoint


def check_architecture(checkpoint: dict, path: str | Path, architecture: str | None) -> None:
    """Fail if ``checkpoint`` records an architecture other than ``architecture``."""
    saved = checkpoint.get("architecture")
    if saved is not None and architecture is not None and saved != architecture:
        raise CheckpointError(
            f"{path} holds the weights of a {saved} model, not of {architecture}: is it another"
            f" model's file? {RETRAIN}"
        )


def load_weights(
    model: nn.Module,
    path: str | Path,
    architecture: str | None,
    device: str | torch.device = "cpu",
) -> dict:
    """Load ``path`` into ``model`` (a ``architecture`` model); return the checkpoint.

    Checkpoints written before the architecture was recorded are checked by their keys
    and shapes alone.
    """
    checkpoint = read_weights(path, device)
    check_architecture(checkpoint, path, architecture)
    s2f = _s2f_of(model)
    if s2f is not None:
        check_finetuning(checkpoint, path, s2f)
    try:
        if _partial(s2f):
            _load_trainable(model, checkpoint["state_dict"], path)
        else:
            model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as error:
        reason = " ".join(str(error).split())[:300]
        raise CheckpointError(
            f"{path}: its weights do not fit this {architecture or 'model'} (another "
            f"architecture or size: {reason}); {RETRAIN}"
        ) from error
    return checkpoint


def check_finetuning(checkpoint: dict, path: str | Path, s2f: S2FModel) -> None:
    """Fail unless ``checkpoint`` was fine-tuned as ``s2f`` is, on the same base weights.

    Checkpoints written before the mode was recorded hold every weight: ``full``.
    """
    saved = checkpoint.get("finetune") or {"mode": "full"}
    tuning: FineTuning = s2f.finetuning
    if saved["mode"] != tuning.mode:
        raise CheckpointError(
            f"{path} was trained with finetune: {saved['mode']}, but this model's config says"
            f" finetune: {tuning.mode}; set the model's finetune back to {saved['mode']}, or"
            f" {RETRAIN}"
        )
    if tuning.mode == "full":
        return
    if saved.get("lora") != tuning.lora:
        raise CheckpointError(
            f"{path} holds LoRA adapters with settings {saved.get('lora')}, but this model's"
            f" config gives {tuning.lora}; restore the model's lora keys, or {RETRAIN}"
        )
    base = tuning.record(s2f.trunk)["base"]
    if saved["base"]["sha256"] != base["sha256"]:
        raise CheckpointError(
            f"{path} was fine-tuned on other base weights ({_describe(saved['base'])}) than"
            f" this model has ({_describe(base)}); restore the model's pretrained (or tiny"
            f" and training seed) setting, or {RETRAIN}"
        )


def _describe(base: dict) -> str:
    """A base model's identity in words."""
    where = (
        base["pretrained"]
        if base.get("pretrained")
        else f"random tiny {base.get('tiny')} seed {base.get('seed')}"
    )
    return f"{where}, weights sha256 {base['sha256'][:12]}"


def _load_trainable(model: nn.Module, weights: dict, path: str | Path) -> None:
    """Load the trainable tensors strictly: exactly the model's trainable names, same shapes."""
    expected = trainable_state(model)
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{path}: its trainable weights do not fit this model (missing: "
            f"{missing[:5] or 'none'}; unexpected: {unexpected[:5] or 'none'}); is it another"
            f" model's file? {RETRAIN}"
        )
    model.load_state_dict(weights, strict=False)  # the frozen rest is the base, checked
