"""Data-parallel training on the GPUs of one node: torchrun's ranks, each a share of a batch.

A model with ``gpus: N`` > 1 trains under ``torch.distributed.run`` (torchrun) with
DistributedDataParallel: NCCL between GPUs, gloo between CPU processes (the tests). Every
rank draws the same global batches (the one-process loop's, seeded by epoch) and runs its
contiguous share of each; the predictions and targets are gathered so that every rank
computes the loss of the whole global batch, pairwise term included, as one process
would. Every rank thus takes the same number of steps, ``batches: by_gene`` batches stay
one gene's, and the weights follow the one-process run's within float rounding.

Starting the ranks is :mod:`haplexpr.training.torchrun`'s.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ranks:
    """The rank of a process among ``world_size`` training processes (one process: 0 of 1)."""

    rank: int = 0
    world_size: int = 1

    @property
    def distributed(self) -> bool:
        """Whether several processes train together."""
        return self.world_size > 1

    @property
    def leader(self) -> bool:
        """Rank 0 writes the checkpoint, the log and ``model.pt``."""
        return self.rank == 0


def current_ranks() -> Ranks:
    """The ranks of the running process group, or one process when there is none."""
    if dist.is_available() and dist.is_initialized():
        return Ranks(dist.get_rank(), dist.get_world_size())
    return Ranks()


def start(device: str) -> Ranks:
    """Join torchrun's process group: NCCL with one GPU per rank, gloo on the CPU."""
    cuda = device != "cpu" and torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    dist.init_process_group("nccl" if cuda else "gloo")
    return current_ranks()


def share(batch: list[int], ranks: Ranks) -> tuple[list[int], list[int]]:
    """A rank's contiguous part of a global batch, and every rank's part size.

    Parts differ by at most one example. A rank whose part is empty (a batch smaller than
    the world) runs the batch's last example so that it still joins the gradient
    all-reduce; :func:`gather_rows` drops that prediction, so the loss never sees it.
    """
    sizes = [len(part) for part in np.array_split(np.arange(len(batch)), ranks.world_size)]
    first = sum(sizes[: ranks.rank])
    mine = batch[first : first + sizes[ranks.rank]]
    return (mine or batch[-1:]), sizes


class _AllGather(torch.autograd.Function):
    """All ranks' equal-sized tensors, concatenated; the gradient returns to each its rows."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        ctx.rank, ctx.rows = dist.get_rank(), tensor.shape[0]
        parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, tensor.contiguous())
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        # every rank's loss depends on every rank's rows: sum their gradients
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        return grad[ctx.rank * ctx.rows : (ctx.rank + 1) * ctx.rows]


def gather_rows(local: torch.Tensor, sizes: list[int], ranks: Ranks) -> torch.Tensor:
    """Every rank's rows of a global batch, in its order; gradients flow back to each rank.

    Each rank computes the same loss from the gathered rows, so the gradient its own rows
    receive is the world's sum; DistributedDataParallel's average over ranks then leaves
    exactly the one-process gradient of the global batch.
    """
    if not ranks.distributed:
        return local
    width = max(sizes)
    own = local[: sizes[ranks.rank]]
    padding = own.new_zeros((width - own.shape[0], *own.shape[1:]))
    gathered = _AllGather.apply(torch.cat([own, padding]))
    return torch.cat([gathered[i * width : i * width + n] for i, n in enumerate(sizes)])


def gather_objects(value, ranks: Ranks) -> list:
    """``value`` from every rank, in rank order (one process: ``[value]``)."""
    if not ranks.distributed:
        return [value]
    values = [None] * ranks.world_size
    dist.all_gather_object(values, value)
    return values


def sync_buffers(model: torch.nn.Module, ranks: Ranks) -> None:
    """Give every rank rank 0's buffers (BatchNorm running statistics), which it saves."""
    if ranks.distributed:
        for buffer in model.buffers():
            dist.broadcast(buffer, 0)
