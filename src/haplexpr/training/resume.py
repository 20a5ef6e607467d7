"""What lets a killed training job resume to the same weights: a checkpoint after every epoch.

The checkpoint holds weights, optimiser, schedule, random generators and progress (epochs
done, log rows, best epoch), and a fingerprint of the settings and data it was written
with, so a rerun with other settings starts afresh instead of resuming.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import torch
from torch import nn

from haplexpr.atomic import atomic_path
from haplexpr.training.distributed import Ranks, gather_objects
from haplexpr.training.optimisation import Optimisation

if TYPE_CHECKING:
    from haplexpr.training.settings import TrainingSettings

log = logging.getLogger(__name__)


class Best(NamedTuple):
    """The best validated epoch so far (1-based) with a CPU copy of its weights."""

    score: float = -math.inf
    epoch: int = 0
    state: dict[str, torch.Tensor] | None = None


@dataclass
class Progress:
    """What a checkpoint carries from epoch to epoch: epochs done, log rows, best epoch."""

    epoch: int = 0
    history: list[list] = field(default_factory=list)
    best: Best = Best()


def fingerprint(
    settings: TrainingSettings,
    n_examples: int,
    init: str | Path | None,
    learning_rate: float,
    ranks: Ranks,
) -> str:
    """What a checkpoint must match to be resumed: settings, data, initial weights and lr.

    The learning rate in use is included because ``scale_lr_by_gpus`` makes it the job's,
    and the world size when several ranks train (their generators are in the checkpoint);
    one process's fingerprint stays what it was before ranks existed.
    """
    facts = [asdict(settings), n_examples, str(init), learning_rate]
    if ranks.distributed:
        facts.append(ranks.world_size)
    blob = json.dumps(facts, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def restore(
    path: Path,
    fingerprint: str,
    model: nn.Module,
    optimisation: Optimisation,
    device: torch.device,
    ranks: Ranks,
) -> Progress:
    """Restore a killed run from its checkpoint, if one was written with these settings and data.

    Weights, optimiser, schedule and random generators all come back, so the resumed run
    ends at the weights an uninterrupted one would have. Every rank reads the one file.
    """
    if not path.exists():
        return Progress()
    checkpoint = torch.load(path, map_location=device, weights_only=False)
    if checkpoint["fingerprint"] != fingerprint:
        log.info("ignoring %s: written with other settings or data", path)
        return Progress()
    model.load_state_dict(checkpoint["state_dict"])
    optimisation.optimizer.load_state_dict(checkpoint["optimizer"])
    optimisation.scheduler.load_state_dict(checkpoint["scheduler"])
    # map_location moved the saved generator states too; they are set from the CPU
    rng, cuda_rng = (checkpoint["rng"], checkpoint["cuda_rng"])
    if ranks.rank > 0:
        rng, cuda_rng = checkpoint["other_ranks_rng"][ranks.rank - 1]
    torch.set_rng_state(rng.cpu())
    if device.type == "cuda":  # dropout on the GPU draws from the CUDA generator
        torch.cuda.set_rng_state(cuda_rng.cpu(), device)
    log.info("resuming after epoch %d from %s", checkpoint["epoch"], path)
    return Progress(checkpoint["epoch"], checkpoint["history"], Best(**checkpoint["best"]))


def save_checkpoint(
    path: Path,
    fingerprint: str,
    progress: Progress,
    model: nn.Module,
    optimisation: Optimisation,
    device: torch.device,
    ranks: Ranks,
) -> None:
    """Write all a killed run needs to resume exactly (atomically: a kill leaves the last one).

    Rank 0 writes it, with every other rank's random generators.
    """
    rng = gather_objects(rng_states(device), ranks)
    if not ranks.leader:
        return
    checkpoint = {
        "fingerprint": fingerprint,
        "epoch": progress.epoch,
        "history": progress.history,
        "best": progress.best._asdict(),  # a plain dict, as checkpoints have always held
        "state_dict": model.state_dict(),
        "optimizer": optimisation.optimizer.state_dict(),
        "scheduler": optimisation.scheduler.state_dict(),
        "rng": rng[0][0],
        "cuda_rng": rng[0][1],
    }
    if ranks.distributed:
        checkpoint["other_ranks_rng"] = rng[1:]
    with atomic_path(path) as tmp:
        torch.save(checkpoint, tmp)


def rng_states(device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The CPU generator of this process and, on a GPU, its CUDA generator."""
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return torch.get_rng_state(), cuda
