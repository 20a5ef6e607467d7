"""Trained weights on disk (``model.pt``): written with their architecture, read back checked.

An rp run starts from its r model and every prediction job loads one, so a damaged file
(a full disk, a copy cut short) or another model's weights must stop the job naming the
file and the fix, not with torch's unpickling or key-mismatch traceback.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch
from torch import nn

from haplexpr.atomic import atomic_path

RETRAIN = "delete it and rerun: Snakemake retrains it"


class CheckpointError(ValueError):
    """A ``model.pt`` that is damaged or holds weights of another model."""


def save_weights(path: str | Path, model: nn.Module, settings: dict, architecture: str | None):
    """Write ``model``'s weights, its training settings and architecture, atomically."""
    with atomic_path(path) as tmp:
        state = {"state_dict": model.state_dict(), "settings": settings}
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
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as error:
        reason = " ".join(str(error).split())[:300]
        raise CheckpointError(
            f"{path}: its weights do not fit this {architecture or 'model'} (another "
            f"architecture or size: {reason}); {RETRAIN}"
        ) from error
    return checkpoint
