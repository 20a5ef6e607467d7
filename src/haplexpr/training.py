"""One training loop for every model: the seed's recipe plus seeds, checkpoints and resume.

Recipe (seed defaults, StatBiomed/gLM2X-Tower): Adam, linear warm-up over the first 10%
of steps then cosine decay to lr/10, loss ``(1-a)*Huber(pred, y) + a*mean_pairs
Huber(|pred_i - pred_j|, |y_i - y_j|)`` with a = 0.3 for individual training and 0 for the
reference. What the seed lacks is added: fixed seeds (CPU reruns are bit-identical), a
checkpoint after every epoch from which a killed job resumes to the same final weights,
and a TSV log of every epoch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from haplexpr.atomic import atomic_path

log = logging.getLogger(__name__)

LOG_COLUMNS = ["epoch", "steps", "train_loss", "learning_rate", "seconds"]


@dataclass(frozen=True)
class TrainingSettings:
    """Optimiser and schedule knobs (config ``training.<family>``) plus seed and device."""

    learning_rate: float
    batch_size: int
    epochs: int
    warmup_fraction: float
    final_lr_ratio: float
    pairwise_alpha: float
    seed: int = 0
    device: str = "auto"

    @classmethod
    def from_config(cls, config: dict, family_key: str, strategy: str) -> TrainingSettings:
        """Settings for a model family and strategy (reference training uses alpha 0)."""
        knobs = dict(config["training"][family_key])
        if strategy == "r":
            knobs["pairwise_alpha"] = 0.0
        return cls(**knobs, seed=config["training"]["seed"], device=config["training"]["device"])


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present, else the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


class HaplotypeAverage(nn.Module):
    """Runs a per-sequence model on each haplotype separately and averages the predictions."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: (batch, haplotypes, ...) -> (batch,)."""
        batch, haplotypes = x.shape[:2]
        return self.model(x.flatten(0, 1)).view(batch, haplotypes).mean(dim=1)


def combined_loss(pred: torch.Tensor, target: torch.Tensor, alpha: float) -> torch.Tensor:
    """Huber on values plus, weighted ``alpha``, Huber on within-batch pairwise gaps."""
    loss = nn.functional.huber_loss(pred, target)
    if alpha == 0 or pred.numel() < 2:
        return loss
    i, j = torch.triu_indices(pred.numel(), pred.numel(), offset=1, device=pred.device)
    pairwise = nn.functional.huber_loss((pred[i] - pred[j]).abs(), (target[i] - target[j]).abs())
    return (1 - alpha) * loss + alpha * pairwise


def warmup_cosine(step: int, total: int, warmup_fraction: float, final_ratio: float) -> float:
    """Learning-rate multiplier: linear warm-up, then cosine decay to ``final_ratio``."""
    warmup = max(1, int(total * warmup_fraction))
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return final_ratio + (1 - final_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def train(
    model: nn.Module,
    dataset: Dataset,
    settings: TrainingSettings,
    out_dir: str | Path,
    init_weights: str | Path | None = None,
) -> Path:
    """Train ``model`` (a ``HaplotypeAverage``) and write ``model.pt`` + ``train_log.tsv``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_path = out_dir / "checkpoint.pt"
    device = resolve_device(settings.device)
    torch.manual_seed(settings.seed)
    model.to(device)
    if init_weights is not None:
        state = torch.load(init_weights, map_location=device, weights_only=True)
        model.load_state_dict(state["state_dict"])
        log.info("initialised from %s", init_weights)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    steps_per_epoch = math.ceil(len(dataset) / settings.batch_size)
    total_steps = steps_per_epoch * settings.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: warmup_cosine(
            step, total_steps, settings.warmup_fraction, settings.final_lr_ratio
        ),
    )
    fingerprint = _fingerprint(settings, len(dataset), init_weights)
    start_epoch, history = 0, []
    if checkpoint_path.exists():
        checkpoint = torch.load(checkpoint_path, map_location=device, weights_only=False)
        if checkpoint["fingerprint"] == fingerprint:
            model.load_state_dict(checkpoint["state_dict"])
            optimizer.load_state_dict(checkpoint["optimizer"])
            scheduler.load_state_dict(checkpoint["scheduler"])
            torch.set_rng_state(checkpoint["rng"])
            start_epoch, history = checkpoint["epoch"], checkpoint["history"]
            log.info("resuming after epoch %d from %s", start_epoch, checkpoint_path)
        else:
            log.info("ignoring %s: written with other settings or data", checkpoint_path)
    started = time.monotonic()
    for epoch in range(start_epoch, settings.epochs):
        epoch_started = time.monotonic()
        order = torch.Generator().manual_seed(settings.seed * 100_003 + epoch)
        loader = DataLoader(dataset, batch_size=settings.batch_size, shuffle=True, generator=order)
        model.train()
        losses = []
        for x, y in loader:
            x, y = x.to(device), y.to(device, dtype=torch.float32)
            loss = combined_loss(model(x), y, settings.pairwise_alpha)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
        history.append(
            [epoch + 1, (epoch + 1) * steps_per_epoch, float(np.mean(losses)),
             scheduler.get_last_lr()[0], round(time.monotonic() - epoch_started, 2)]
        )  # fmt: skip
        log.info(
            "epoch %d/%d: loss %.4f (%.1f s)",
            epoch + 1,
            settings.epochs,
            history[-1][2],
            history[-1][4],
        )
        checkpoint = {
            "fingerprint": fingerprint,
            "epoch": epoch + 1,
            "history": history,
            "state_dict": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": torch.get_rng_state(),
        }
        with atomic_path(checkpoint_path) as tmp:
            torch.save(checkpoint, tmp)
    with atomic_path(out_dir / "train_log.tsv") as tmp:
        pd.DataFrame(history, columns=LOG_COLUMNS).to_csv(tmp, sep="\t", index=False)
    final = out_dir / "model.pt"
    with atomic_path(final) as tmp:
        torch.save({"state_dict": model.state_dict(), "settings": asdict(settings)}, tmp)
    checkpoint_path.unlink(missing_ok=True)  # only a killed run resumes; a finished one reruns
    log.info(
        "trained %d examples x %d epochs in %.1f s -> %s",
        len(dataset),
        settings.epochs,
        time.monotonic() - started,
        final,
    )
    return final


def _fingerprint(settings: TrainingSettings, n_examples: int, init: str | Path | None) -> str:
    blob = json.dumps([asdict(settings), n_examples, str(init)], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


@torch.inference_mode()
def predict(
    model: nn.Module, dataset: Dataset, batch_size: int, device: str = "auto"
) -> np.ndarray:
    """Predictions for every item of ``dataset``, in order."""
    target = resolve_device(device)
    model.to(target).eval()
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False)
    return np.concatenate([model(x.to(target)).float().cpu().numpy() for x, _ in loader])
