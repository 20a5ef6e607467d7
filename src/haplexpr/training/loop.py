"""One training loop for every model: the seed's recipe plus seeds, checkpoints and resume.

Recipe (seed defaults, StatBiomed/gLM2X-Tower): Adam, linear warm-up over the first 10%
of training then cosine decay to lr/10 (``schedule: per_step`` moves the rate at every
optimiser step; ``schedule: seed`` is the seed's own per-epoch torch schedule), loss
``(1-a)*Huber(pred, y) + a*mean_pairs Huber(|pred_i - pred_j|, |y_i - y_j|)`` with
a = 0.3 for individual training and 0 for the reference. What the seed lacks is added:
fixed seeds (reruns are bit-identical on the same machine, thread count and batch shapes;
other CPUs pick other float kernels), a checkpoint after every epoch from which a killed
job resumes to the same final weights (same machine and threads), and a TSV log of every
epoch. The pieces: :mod:`~haplexpr.training.batches` (what each batch holds),
:mod:`~haplexpr.training.optimisation` (Adam and the schedules) and
:mod:`~haplexpr.training.resume` (the per-epoch checkpoint).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, Subset

from haplexpr.atomic import atomic_path
from haplexpr.devices import resolve_device
from haplexpr.models.precision import mixed_precision_context
from haplexpr.training import resume
from haplexpr.training.batches import epoch_loader
from haplexpr.training.checkpoints import load_weights, save_weights
from haplexpr.training.distributed import (
    Ranks,
    current_ranks,
    gather_objects,
    gather_rows,
    share,
    sync_buffers,
)
from haplexpr.training.optimisation import Optimisation, build_optimisation
from haplexpr.training.resume import Best, Progress
from haplexpr.training.settings import TrainingSettings

log = logging.getLogger(__name__)

LOG_COLUMNS = ["epoch", "steps", "train_loss", "valid_score", "learning_rate", "seconds", "kept"]


@dataclass(frozen=True)
class Validation:
    """Held-out examples scored after every epoch (higher is better); the best epoch wins."""

    dataset: Dataset
    score: Callable[[np.ndarray], float]


def combined_loss(pred: torch.Tensor, target: torch.Tensor, alpha: float) -> torch.Tensor:
    """Huber on values plus, weighted ``alpha``, Huber on within-batch pairwise gaps."""
    loss = nn.functional.huber_loss(pred, target)
    if alpha == 0 or pred.numel() < 2:
        return loss
    i, j = torch.triu_indices(pred.numel(), pred.numel(), offset=1, device=pred.device)
    pairwise = nn.functional.huber_loss((pred[i] - pred[j]).abs(), (target[i] - target[j]).abs())
    return (1 - alpha) * loss + alpha * pairwise


def train(
    model: nn.Module,
    dataset: Dataset,
    settings: TrainingSettings,
    out_dir: str | Path,
    init_weights: str | Path | None = None,
    validation: Validation | None = None,
    architecture: str | None = None,
) -> Path:
    """Train ``model`` (a ``HaplotypeAverage``) and write ``model.pt`` + ``train_log.tsv``.

    With ``validation``, every epoch is scored and the best epoch's weights are written;
    ``settings.early_stopping_patience`` > 0 stops after that many epochs without a better
    score. On CUDA, ``mixed_precision`` runs the forward pass in bfloat16. ``architecture``
    (the config's) is written into ``model.pt`` and checked against ``init_weights``'.

    Inside a torchrun process group (:mod:`haplexpr.training.distributed`) every rank
    trains its share of each global batch under DistributedDataParallel and rank 0 alone
    writes the checkpoint and outputs; each rank draws from its own seed (``seed + rank``).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_path = out_dir / "checkpoint.pt"
    ranks = current_ranks()
    device = resolve_device(settings.device)
    if device.type == "cuda":
        device = torch.device("cuda", torch.cuda.current_device())  # this rank's GPU
    torch.manual_seed(settings.seed + ranks.rank)
    model.to(device)
    if init_weights is not None:
        load_weights(model, init_weights, architecture, device)
        log.info("initialised from %s", init_weights)
    network = _data_parallel(model, device, ranks)
    optimisation = build_optimisation(model, dataset, settings, device, ranks)
    fingerprint = resume.fingerprint(
        settings, len(dataset), init_weights, optimisation.optimizer.defaults["lr"], ranks
    )
    progress = resume.restore(checkpoint_path, fingerprint, model, optimisation, device, ranks)
    autocast = mixed_precision_context(device, settings.mixed_precision)
    started = time.monotonic()
    for epoch in range(progress.epoch, settings.epochs):
        if _patience_exhausted(settings, progress.best, epoch):
            log.info("early stop: no better validation score since epoch %d", progress.best.epoch)
            break
        epoch_started = time.monotonic()
        loss = _train_epoch(network, dataset, settings, epoch, optimisation, device, autocast)
        if optimisation.per_epoch:  # the seed's schedule: once, after each epoch
            optimisation.scheduler.step()
        score = math.nan
        if validation is not None:
            score = _validation_score(model, validation, settings, ranks)
            progress.best = _better(progress.best, score, epoch, model)
        progress.epoch = epoch + 1
        progress.history.append(
            [epoch + 1, (epoch + 1) * optimisation.steps_per_epoch, loss, score,
             optimisation.scheduler.get_last_lr()[0], round(time.monotonic() - epoch_started, 2)]
        )  # fmt: skip
        log.info(
            "epoch %d/%d: loss %.4f, validation score %.4f (%.1f s)",
            epoch + 1,
            settings.epochs,
            loss,
            score,
            progress.history[-1][5],
        )
        resume.save_checkpoint(
            checkpoint_path, fingerprint, progress, model, optimisation, device, ranks
        )
    final = out_dir / "model.pt"
    if ranks.leader:
        _write_outputs(final, model, settings, progress, architecture)
        checkpoint_path.unlink(missing_ok=True)  # only a killed run resumes; a finished reruns
    log.info(
        "trained %d examples x %d epochs in %.1f s -> %s",
        len(dataset),
        settings.epochs,
        time.monotonic() - started,
        final,
    )
    return final


def _data_parallel(model: nn.Module, device: torch.device, ranks: Ranks) -> nn.Module:
    """``model`` itself for one process; else wrapped in DistributedDataParallel.

    On GPUs BatchNorm layers become SyncBatchNorm, so their statistics span the global
    batch as in one process (torch offers it on GPUs only: CPU ranks normalise their own
    share). The wrapper shares ``model``'s parameters, so checkpoints save ``model``.
    """
    if not ranks.distributed:
        return model
    if device.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        return DistributedDataParallel(model, device_ids=[device.index])
    return DistributedDataParallel(model)


def _train_epoch(
    model: nn.Module,
    dataset: Dataset,
    settings: TrainingSettings,
    epoch: int,
    optimisation: Optimisation,
    device: torch.device,
    autocast: torch.autocast,
) -> float:
    """One pass over ``dataset``, stepping every ``gradient_accumulation`` batches; mean loss.

    The epoch's last batch always steps, so no gradient carries over into the next epoch.
    Under DistributedDataParallel each rank runs its share of every global batch and the
    loss is the global batch's (:func:`distributed.gather_rows`); gradients are averaged
    over the ranks only at the batches that step.
    """
    ranks = current_ranks()
    loader = epoch_loader(dataset, settings, epoch, ranks.world_size)
    model.train()
    losses = []
    for batch, indices in enumerate(loader.batch_sampler, start=1):
        mine, sizes = share(indices, ranks)
        x, y = loader.collate_fn([dataset[i] for i in mine])
        x, y = x.to(device), y.to(device, dtype=torch.float32)
        steps = batch % settings.gradient_accumulation == 0
        steps = steps or batch == optimisation.batches_per_epoch
        local_only = model.no_sync() if ranks.distributed and not steps else nullcontext()
        with local_only:
            with autocast:
                prediction = gather_rows(model(x).float(), sizes, ranks)
                loss = combined_loss(
                    prediction, gather_rows(y, sizes, ranks), settings.pairwise_alpha
                )
            (loss / settings.gradient_accumulation).backward()
        if steps:
            optimisation.optimizer.step()
            optimisation.optimizer.zero_grad(set_to_none=True)
            if not optimisation.per_epoch:
                optimisation.scheduler.step()
        losses.append(loss.item())
    return float(np.mean(losses))


def _validation_score(
    model: nn.Module, validation: Validation, settings: TrainingSettings, ranks: Ranks
) -> float:
    """Score the current weights on the held-out examples, batched and cast as in training.

    Ranks predict every ``world_size``-th example with rank 0's BatchNorm statistics and
    share them, so each computes the one score from the same predictions.
    """
    sync_buffers(model, ranks)
    examples = len(validation.dataset)
    mine = Subset(validation.dataset, range(ranks.rank, examples, ranks.world_size))
    predictions = np.empty(examples)
    for rank, values in enumerate(gather_objects(_predict_on(model, mine, settings), ranks)):
        predictions[rank :: ranks.world_size] = values
    return validation.score(predictions)


def _predict_on(model: nn.Module, dataset: Dataset, settings: TrainingSettings) -> np.ndarray:
    """:func:`predict` as training runs it; nothing for a rank with no validation example."""
    if len(dataset) == 0:
        return np.empty(0)
    return predict(model, dataset, settings.batch_size, settings.device, settings.mixed_precision)


def _better(best: Best, score: float, epoch: int, model: nn.Module) -> Best:
    """``best``, or epoch ``epoch`` (0-based) when it scores higher or is the first scored.

    A NaN score never beats a real one but still fills an empty ``best``, so a validated
    run always ends with some validated epoch's weights.
    """
    if score > best.score or best.state is None:
        state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        return Best(score, epoch + 1, state)
    return best


def _write_outputs(
    final: Path,
    model: nn.Module,
    settings: TrainingSettings,
    progress: Progress,
    architecture: str | None,
) -> None:
    """Load the best validated weights (else keep the last); write the log and ``final``."""
    kept_epoch = progress.history[-1][0] if progress.history else 0  # without validation
    best = progress.best
    if best.state is not None:
        model.load_state_dict(best.state)
        kept_epoch = best.epoch
        log.info("keeping epoch %d (validation score %.4f)", best.epoch, best.score)
    with atomic_path(final.parent / "train_log.tsv") as tmp:
        frame = pd.DataFrame(progress.history, columns=LOG_COLUMNS[:-1])
        frame["kept"] = frame["epoch"] == kept_epoch  # whose weights model.pt holds
        frame.to_csv(tmp, sep="\t", index=False)
    save_weights(final, model, asdict(settings), architecture)


def _patience_exhausted(settings: TrainingSettings, best: Best, epoch: int) -> bool:
    """Whether early stopping ends training before ``epoch`` (0-based)."""
    patience = settings.early_stopping_patience
    return patience > 0 and best.state is not None and epoch - best.epoch >= patience


@torch.inference_mode()
def predict(
    model: nn.Module,
    dataset: Dataset,
    batch_size: int,
    device: str = "auto",
    mixed_precision: bool = False,
) -> np.ndarray:
    """Predictions for every item of ``dataset``, in order.

    On CUDA, ``mixed_precision`` runs the forward pass in bfloat16, as training does.
    """
    target = resolve_device(device)
    model.to(target).eval()
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False)
    with mixed_precision_context(target, mixed_precision):
        return np.concatenate([model(x.to(target)).float().cpu().numpy() for x, _ in loader])
