"""Mixed precision: bfloat16 for the heavy trunk, float32 for the regression output.

Expression targets sit on a large per-gene mean (log TPM around 5) while individuals
differ by a few hundredths; bfloat16 keeps 8 significant bits, a step of 0.02-0.03 at
that scale, so a head computed in bfloat16 rounds away the very differences the study
asks about. Models therefore compute their output head in float32 inside autocast.
"""

from __future__ import annotations

import torch


def mixed_precision_context(device: torch.device, enabled: bool) -> torch.autocast:
    """bfloat16 autocast on CUDA when ``enabled``; a no-op on other devices."""
    return torch.autocast(
        device.type, dtype=torch.bfloat16, enabled=device.type == "cuda" and enabled
    )


def float32_head(features: torch.Tensor) -> torch.autocast:
    """Autocast switched off on ``features``' device: the output head runs in float32."""
    return torch.autocast(features.device.type, enabled=False)


def at_least_float32(features: torch.Tensor) -> torch.Tensor:
    """Half-precision features as float32 for the head; float32 and float64 stay as they are."""
    return features.float() if features.dtype in (torch.float16, torch.bfloat16) else features
