"""What Evo2's StripedHyena 2 (``vtx`` 1.1.0) needs to import and run without flash-attn or CUDA.

vortex imports two modules a CPU machine cannot have and enters one CUDA-only context;
with ``use_flash_attn: false`` nothing else on the forward path needs a GPU.

1. ``flash_attn_2_cuda``, flash-attn's compiled module: ``vortex.ops`` (the package every
   vortex kernel lives in) imports it unconditionally through ``vortex.ops.attn_interface``.
   Its functions are called only by the flash-attention paths, which ``MHA`` takes only
   with ``use_flash_attn: true``. Stand-in: :data:`FLASH_ATTN_MODULE`, whose functions
   raise :class:`FlashAttentionUnavailable`.
2. ``vortex.ops.embedding.rotary``, a Triton kernel for rotary position embeddings: imported
   unconditionally by ``vortex.model.rotary`` and *called* by every attention block, also
   with ``use_flash_attn: false``. Triton cannot launch on CPU tensors (and is not
   installed with a CPU-only PyTorch). Stand-in, used where Triton or CUDA is absent:
   :func:`apply_rotary`, the same rotation in PyTorch (vortex's own reference,
   ``vortex.model.rotary.apply_rotary_emb_torch``, computes it too, without the kernel's
   signature).
3. ``torch.cuda.device(device)``: entered by ``StripedHyena.__init__`` around each block and
   by every hyena block's ``proj_norm`` in forward, with the block's device, which raises
   for a CPU device. :func:`cuda_device_accepts_cpu` lets it take a CPU device as the
   no-op PyTorch documents for a negative index while entered, and restores it after.
4. Importing ``vortex.logging`` (as every vortex model module does) configures the root
   logger if nothing has (INFO, a rich console handler) and attaches to it a file handler
   that creates ``activations_debug.log`` in the working directory, a pipeline rule's
   included. :func:`import_vortex` imports vortex after :func:`install`, then detaches that
   handler, removes the empty file if the import created it, and restores the root
   logger's level and handlers.

:func:`install` puts (1) and (2) in ``sys.modules`` only where the real module cannot be
used, before vortex is first imported; on a CUDA machine with flash-attn and Triton it
installs nothing.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

__all__ = [
    "FLASH_ATTN_MODULE",
    "ROTARY_MODULE",
    "FlashAttentionUnavailable",
    "apply_rotary",
    "cuda_device_accepts_cpu",
    "has_real",
    "import_vortex",
    "install",
]

FLASH_ATTN_MODULE = "flash_attn_2_cuda"
ROTARY_MODULE = "vortex.ops.embedding.rotary"
#: The functions of ``flash_attn_2_cuda`` that ``vortex.ops.attn_interface`` refers to.
FLASH_ATTN_FUNCTIONS = ("fwd", "varlen_fwd", "bwd", "varlen_bwd", "fwd_kvcache")


class FlashAttentionUnavailable(RuntimeError):
    """A flash-attention kernel was called where only the stand-in module is installed."""


#: Attribute marking the modules :func:`install` puts in ``sys.modules``.
STAND_IN_MARK = "__haplexpr_stand_in__"


def _flash_attn_stand_in() -> ModuleType:
    """``flash_attn_2_cuda`` with the functions vortex names, each raising when called."""
    module = ModuleType(FLASH_ATTN_MODULE, "haplexpr stand-in: flash-attn is not installed")
    setattr(module, STAND_IN_MARK, True)

    def unavailable(name: str):
        def call(*args: Any, **kwargs: Any):
            raise FlashAttentionUnavailable(
                f"{FLASH_ATTN_MODULE}.{name} was called, but flash-attn is not installed"
                " (haplexpr put a stand-in in its place); build Evo2 with use_flash_attn:"
                " false, or install flash-attn on a CUDA machine"
            )

        call.__name__ = name
        return call

    for name in FLASH_ATTN_FUNCTIONS:
        setattr(module, name, unavailable(name))
    return module


def apply_rotary(
    x: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    seqlen_offsets: int | torch.Tensor = 0,
    cu_seqlens: torch.Tensor | None = None,
    max_seqlen: int | None = None,
    interleaved: bool = False,
    inplace: bool = False,
    conjugate: bool = False,
) -> torch.Tensor:
    """Rotary embedding of ``x`` (B, L, heads, head_dim) as vortex's Triton ``apply_rotary``.

    The first ``2 * cos.shape[1]`` features of position ``t + seqlen_offsets`` are rotated
    by the angles whose cosines and sines are row ``t + offset`` of ``cos``/``sin``: halves
    (GPT-NeoX) or, if ``interleaved``, even/odd pairs (GPT-J); ``conjugate`` rotates back.
    Packed variable-length batches (``cu_seqlens``) are not supported: vortex passes them
    only from flash-attention paths.
    """
    if cu_seqlens is not None:
        raise NotImplementedError("packed variable-length batches need vortex's Triton kernel")
    _, length, _, head_dim = x.shape
    rotary_dim = 2 * cos.shape[1]
    if rotary_dim > head_dim:
        raise ValueError(f"rotary_dim {rotary_dim} exceeds head_dim {head_dim}")
    offsets = torch.as_tensor(seqlen_offsets, device=x.device).reshape(-1, 1)  # (B or 1, 1)
    positions = offsets + torch.arange(length, device=x.device)  # (B or 1, L)
    if int(positions.max()) >= cos.shape[0]:
        raise ValueError(f"positions up to {int(positions.max())} exceed the {cos.shape[0]} cached")
    cos_t, sin_t = cos[positions][:, :, None], sin[positions][:, :, None]  # (B|1, L, 1, R/2)
    if conjugate:
        sin_t = -sin_t
    rotated = x[..., :rotary_dim].float()
    if interleaved:
        a, b = rotated[..., 0::2], rotated[..., 1::2]
    else:
        a, b = rotated.chunk(2, dim=-1)
    a_out = a * cos_t.float() - b * sin_t.float()
    b_out = a * sin_t.float() + b * cos_t.float()
    if interleaved:
        pairs = torch.stack((a_out, b_out), dim=-1).flatten(-2)
    else:
        pairs = torch.cat((a_out, b_out), dim=-1)
    out = x if inplace else x.clone()
    out[..., :rotary_dim] = pairs.to(x.dtype)
    return out


def _rotary_stand_in() -> ModuleType:
    """``vortex.ops.embedding.rotary`` with :func:`apply_rotary` in PyTorch."""
    module = ModuleType(ROTARY_MODULE, "haplexpr stand-in: vortex's rotary kernel in PyTorch")
    setattr(module, STAND_IN_MARK, True)
    module.apply_rotary = apply_rotary
    return module


def has_real(name: str) -> bool:
    """Whether the real top-level module ``name`` is there, not a stand-in of :func:`install`."""
    if name in sys.modules:
        return not getattr(sys.modules[name], STAND_IN_MARK, False)
    return importlib.util.find_spec(name) is not None


def install() -> list[str]:
    """Put the stand-ins in ``sys.modules`` where the real modules cannot be used.

    Returns the names installed (empty where flash-attn, Triton and CUDA are all there).
    Call before vortex is first imported: ``vortex.model.rotary`` binds ``apply_rotary``
    when it is imported.
    """
    installed = []
    if FLASH_ATTN_MODULE not in sys.modules and not has_real(FLASH_ATTN_MODULE):
        sys.modules[FLASH_ATTN_MODULE] = _flash_attn_stand_in()
        installed.append(FLASH_ATTN_MODULE)
    rotary_runs = has_real("triton") and torch.cuda.is_available()
    if not rotary_runs and ROTARY_MODULE not in sys.modules:
        sys.modules[ROTARY_MODULE] = _rotary_stand_in()
        installed.append(ROTARY_MODULE)
    return installed


def import_vortex() -> ModuleType:
    """``vortex.model.model`` (StripedHyena 2), stand-ins installed, logging left as it was."""
    install()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    log_file = Path.cwd() / "activations_debug.log"  # vortex.logging's, relative to the cwd
    had_log_file = log_file.exists()
    import vortex.logging
    import vortex.model.model

    file_handler = vortex.logging.activations_file_handler
    root.removeHandler(file_handler)
    file_handler.close()
    created = Path(file_handler.baseFilename)
    if created == log_file and not had_log_file and created.exists() and not created.stat().st_size:
        created.unlink()
    root.setLevel(level)
    root.handlers[:] = handlers
    return vortex.model.model


@contextmanager
def cuda_device_accepts_cpu() -> Iterator[None]:
    """Make ``torch.cuda.device(cpu_device)`` a no-op while entered; CUDA devices unchanged.

    ``torch.cuda.device`` is process-global, so it is replaced only for the ``with`` body
    and restored after, even on error.
    """
    original = torch.cuda.device

    class device(original):
        """``torch.cuda.device`` taking a CPU device as -1 (select nothing)."""

        def __init__(self, device: Any):
            is_cpu = isinstance(device, (str, torch.device)) and torch.device(device).type == "cpu"
            super().__init__(-1 if is_cpu else device)

    torch.cuda.device = device
    try:
        yield
    finally:
        torch.cuda.device = original
