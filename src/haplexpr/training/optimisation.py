"""Adam and its learning-rate schedule: per optimiser step, or the seed's per epoch."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, NamedTuple

import torch
from torch import nn
from torch.utils.data import Dataset

from haplexpr.training.batches import epoch_loader
from haplexpr.training.distributed import Ranks

if TYPE_CHECKING:
    from haplexpr.training.settings import TrainingSettings

log = logging.getLogger(__name__)


def warmup_cosine(step: int, total: int, warmup_fraction: float, final_ratio: float) -> float:
    """Learning-rate multiplier: linear warm-up, then cosine decay to ``final_ratio``."""
    warmup = max(1, int(total * warmup_fraction))
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return final_ratio + (1 - final_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


class Optimisation(NamedTuple):
    """Adam and its schedule, built for this many batches and steps per epoch."""

    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    batches_per_epoch: int
    steps_per_epoch: int
    #: The scheduler steps once per epoch (the seed's), not after every optimiser step.
    per_epoch: bool


def seed_schedule(
    optimizer: torch.optim.Optimizer, epochs: int, warmup_fraction: float, final_ratio: float
) -> torch.optim.lr_scheduler.SequentialLR:
    """The seed's schedule, built as the seed builds it; step it once per epoch.

    ``LinearLR`` from 0.01 x lr over ``int(warmup_fraction * epochs)`` epochs, then
    ``CosineAnnealingLR`` to ``final_ratio`` x lr over the rest (seed: 0.1 and 0.1). With
    fewer than 1 / ``warmup_fraction`` epochs there is no warm-up, as in the seed.
    """
    warmup = int(warmup_fraction * epochs)
    if epochs - warmup < 1:
        raise ValueError(
            f"schedule: seed needs at least one epoch after warm-up; warmup_fraction"
            f" {warmup_fraction} of {epochs} epochs leaves none (lower warmup_fraction)"
        )
    peak = optimizer.param_groups[0]["lr"]
    schedulers = torch.optim.lr_scheduler
    return schedulers.SequentialLR(
        optimizer,
        [
            schedulers.LinearLR(optimizer, start_factor=0.01, end_factor=1.0, total_iters=warmup),
            schedulers.CosineAnnealingLR(
                optimizer, T_max=epochs - warmup, eta_min=peak * final_ratio
            ),
        ],
        milestones=[warmup],
    )


def lr_gpu_factor(settings: TrainingSettings, device: torch.device, world_size: int = 1) -> int:
    """What ``learning_rate`` is multiplied by: the seed's GPU count, when asked for.

    The seed multiplies by ``torch.cuda.device_count()``, the GPUs it trains on with DDP.
    Here that is the world size when several ranks train (on GPUs or, in tests, CPUs);
    one process counts the GPUs visible to the job (1 under the SLURM profile; 1 on a CPU,
    where the seed cannot run).
    """
    if not settings.scale_lr_by_gpus:
        return 1
    if world_size > 1:
        return world_size
    return max(1, torch.cuda.device_count()) if device.type == "cuda" else 1


def build_optimisation(
    model: nn.Module,
    dataset: Dataset,
    settings: TrainingSettings,
    device: torch.device,
    ranks: Ranks,
) -> Optimisation:
    """Adam plus the configured schedule (``per_step`` spans every step of every epoch)."""
    learning_rate = settings.learning_rate * lr_gpu_factor(settings, device, ranks.world_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    batches_per_epoch = len(epoch_loader(dataset, settings, 0, ranks.world_size))
    steps_per_epoch = math.ceil(batches_per_epoch / settings.gradient_accumulation)
    if settings.schedule == "seed":
        scheduler = seed_schedule(
            optimizer, settings.epochs, settings.warmup_fraction, settings.final_lr_ratio
        )
    elif settings.schedule == "per_step":
        total_steps = steps_per_epoch * settings.epochs
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer,
            lambda step: warmup_cosine(
                step, total_steps, settings.warmup_fraction, settings.final_lr_ratio
            ),
        )
    else:
        raise ValueError(f"schedule must be per_step or seed, not {settings.schedule!r}")
    per_epoch = settings.schedule == "seed"
    log.info(
        "%d rank(s); global batch %d examples (%d per rank); learning rate %g",
        ranks.world_size,
        settings.global_batch(ranks.world_size),
        math.ceil(settings.global_batch(ranks.world_size) / ranks.world_size),
        learning_rate,
    )
    return Optimisation(optimizer, scheduler, batches_per_epoch, steps_per_epoch, per_epoch)
