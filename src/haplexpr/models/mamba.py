"""Mamba (v1) in plain PyTorch: the selective scan, one direction's mixer, and RMSNorm.

``mamba_ssm`` imports Triton and its CUDA kernels unconditionally, so Caduceus's hub code
cannot run on a CPU (or on a GPU without a matching build). This module computes the same
functions with ordinary tensor operations, under ``mamba_ssm``'s parameter names
(``in_proj``, ``conv1d``, ``x_proj``, ``dt_proj``, ``A_log``, ``D``, ``out_proj``; RMSNorm
``weight`` only), so published checkpoints load without renaming. transformers'
``MambaMixer`` slow path computes the same mixer and is the tests' oracle.

The scan ``h_t = exp(dt_t A) h_{t-1} + dt_t B_t x_t``, ``y_t = C_t h_t + D x_t`` runs over
the sequence in chunks: inside a chunk a log-depth (Hillis-Steele) scan, which multiplies
only decays <= 1 and so cannot overflow; across chunks the last state is carried. Memory is
bounded by one chunk's ``(batch, chunk, d_inner, d_state)`` tensor however long the input.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from haplexpr.models.settings import DEFAULT_SCAN_CHUNK


def _scan_chunk(decay: torch.Tensor, drive: torch.Tensor) -> torch.Tensor:
    """All states of ``h_t = decay_t * h_{t-1} + drive_t`` (h_{-1} = 0) along dim 1, in place.

    A work-efficient (Blelloch) scan on strided views, so nothing is copied: the up-sweep
    leaves at each position p the recurrence over its last ``lowbit(p + 1)`` steps (at the
    last position, over all of them); the down-sweep then chains each block onto the
    prefix ending just before it, larger blocks first. The length must be a power of two.
    """
    length = drive.shape[1]

    def every(t: torch.Tensor, stride: int) -> torch.Tensor:
        """Positions stride - 1, 2 * stride - 1, ... along dim 1, as a view."""
        return t.view(t.shape[0], length // stride, stride, *t.shape[2:])[:, :, stride - 1]

    stride = 1
    while stride < length:  # up-sweep: pair (left, right) blocks of size stride
        a, x = every(decay, stride), every(drive, stride)
        x[:, 1::2].addcmul_(a[:, 1::2], x[:, 0::2])
        a[:, 1::2].mul_(a[:, 0::2])
        stride *= 2
    stride = length // 4
    while stride >= 1:  # down-sweep: block ending at (2m + 1) * stride - 1, m >= 1
        a, x = every(decay, stride), every(drive, stride)
        x[:, 2::2].addcmul_(a[:, 2::2], x[:, 1:-1:2])
        stride //= 2
    return drive


def selective_scan(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor,
    z: torch.Tensor,
    chunk: int = DEFAULT_SCAN_CHUNK,
) -> torch.Tensor:
    """Mamba's gated selective scan, ``(y + D u) * silu(z)``, chunk by chunk in float32.

    ``u``, ``delta`` (after softplus), ``z``: ``(batch, length, d_inner)``; ``A``:
    ``(d_inner, d_state)``; ``B``, ``C``: ``(batch, length, d_state)``; ``D``: ``(d_inner,)``.
    """
    if chunk < 1:
        raise ValueError(f"scan chunk must be >= 1, got {chunk}")
    batch, length, d_inner = u.shape
    u, delta, A, B, C = (t.float() for t in (u, delta, A, B, C))
    state = u.new_zeros(batch, d_inner, A.shape[1])
    y = torch.empty_like(u)
    for lo in range(0, length, chunk):
        hi = min(lo + chunk, length)
        # Pad to a power of two with dt = 0 (decay 1, drive 0): later steps never change
        # earlier states, so the padding leaves them as they are.
        pad = (0, 0, 0, (1 << (hi - lo - 1).bit_length()) - (hi - lo))
        dt = F.pad(delta[:, lo:hi], pad)
        decay = torch.exp_(dt[..., None] * A)  # (batch, padded chunk, d_inner, d_state)
        drive = (dt * F.pad(u[:, lo:hi], pad))[..., None] * F.pad(B[:, lo:hi], pad)[:, :, None]
        drive[:, 0].addcmul_(decay[:, 0], state)  # carry the previous chunk's state in
        states = _scan_chunk(decay, drive)[:, : hi - lo]
        y[:, lo:hi] = torch.matmul(states, C[:, lo:hi, :, None]).squeeze(-1)
        state = states[:, -1].clone()  # let the chunk's states go
    return (y + u * D.float()) * F.silu(z.float())


class RMSNorm(nn.Module):
    """``x / sqrt(mean(x^2) + eps) * weight``: mamba_ssm's RMSNorm (weight, no bias)."""

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise over the last dimension."""
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class Mamba(nn.Module):
    """One direction of a Mamba mixer, ``(batch, length, d_model)`` in and out.

    ``projections=False`` leaves out ``in_proj`` and ``out_proj``: Caduceus's reverse
    direction borrows its forward twin's (``shared`` in :meth:`forward`), so they exist,
    and are stored, once.
    """

    def __init__(
        self,
        d_model: int,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        dt_rank: int | str = "auto",
        conv_bias: bool = True,
        bias: bool = False,
        projections: bool = True,
    ):
        super().__init__()
        self.d_inner = expand * d_model
        self.d_state = d_state
        self.dt_rank = math.ceil(d_model / 16) if dt_rank == "auto" else int(dt_rank)
        if projections:
            self.in_proj = nn.Linear(d_model, 2 * self.d_inner, bias=bias)
        self.conv1d = nn.Conv1d(
            self.d_inner,
            self.d_inner,
            kernel_size=d_conv,
            groups=self.d_inner,
            padding=d_conv - 1,
            bias=conv_bias,
        )
        self.x_proj = nn.Linear(self.d_inner, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, self.d_inner, bias=True)
        # Mamba's initialisation (S4D-real A, dt log-uniform in [1e-3, 0.1]): random tiny
        # models then behave like untrained Mamba rather than like noise.
        self.A_log = nn.Parameter(
            torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(self.d_inner, 1)
        )
        self.D = nn.Parameter(torch.ones(self.d_inner))
        with torch.no_grad():
            nn.init.uniform_(self.dt_proj.weight, -(self.dt_rank**-0.5), self.dt_rank**-0.5)
            dt = torch.exp(torch.rand(self.d_inner) * math.log(100) + math.log(1e-3))
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # softplus^-1(dt)
        if projections:
            self.out_proj = nn.Linear(self.d_inner, d_model, bias=bias)

    def forward(
        self,
        hidden: torch.Tensor,
        shared: Mamba | None = None,
        scan_chunk: int = DEFAULT_SCAN_CHUNK,
    ) -> torch.Tensor:
        """Mix along the sequence, left to right; ``shared`` lends ``in_proj``/``out_proj``."""
        owner = self if shared is None else shared
        length = hidden.shape[1]
        x, z = owner.in_proj(hidden).chunk(2, dim=-1)
        x = F.silu(self.conv1d(x.transpose(1, 2))[..., :length]).transpose(1, 2)
        dt, B, C = self.x_proj(x).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.softplus(self.dt_proj(dt))
        A = -torch.exp(self.A_log.float())
        y = selective_scan(x, delta, A, B, C, self.D, z, chunk=scan_chunk)
        return owner.out_proj(y.to(hidden.dtype))


class BiMamba(nn.Module):
    """Caduceus's bidirectional mixer: forward Mamba plus the reverse one on the flipped input.

    The reverse direction's output is flipped back and added (``bidirectional_strategy:
    add``); both share ``mamba_fwd``'s ``in_proj`` and ``out_proj``
    (``bidirectional_weight_tie``).
    """

    def __init__(self, d_model: int, **mamba_kwargs):
        super().__init__()
        self.mamba_fwd = Mamba(d_model, **mamba_kwargs)
        self.mamba_rev = Mamba(d_model, projections=False, **mamba_kwargs)

    def forward(self, hidden: torch.Tensor, scan_chunk: int = DEFAULT_SCAN_CHUNK) -> torch.Tensor:
        """``(batch, length, d_model)`` -> same shape."""
        forward = self.mamba_fwd(hidden, scan_chunk=scan_chunk)
        reverse = self.mamba_rev(hidden.flip(1), shared=self.mamba_fwd, scan_chunk=scan_chunk)
        return forward + reverse.flip(1)
