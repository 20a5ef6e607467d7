"""One full-length training step of each S2F model with random weights: time and peak memory.

For the README's resource table and ``profiles/slurm``: builds the full-size architecture
(random weights; no download needed), runs one forward + backward pass through the seed's
head at each input length, and prints seconds per step and peak GPU memory. Run on a GPU
node; ``--tiny`` runs the tiny demo configuration on any device as a smoke test.

    python benchmarks/gpu_s2f_step.py [--lengths 64000 196608] [--batch 1] [--tiny]
"""

from __future__ import annotations

import argparse
import time

import torch

from haplexpr.models.enformer import TINY_ENFORMER, EnformerModel
from haplexpr.training import HaplotypeAverage, combined_loss

# Full-size Enformer hyper-parameters (Avsec et al. 2021; enformer-pytorch defaults).
FULL_ENFORMER = {"dim": 1536, "depth": 11, "heads": 8, "num_downsamples": 7}


def step(model: torch.nn.Module, length: int, batch: int, device: torch.device) -> tuple:
    """Seconds and peak memory (GiB; NaN on CPU) of one forward + backward step."""
    x = torch.zeros(batch, 2, length, 4, device=device)
    x[..., 0] = 1
    y = torch.zeros(batch, device=device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
    started = time.perf_counter()
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        loss = combined_loss(model(x).float(), y, 0.3)
    loss.backward()
    if device.type == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2**30
    else:
        peak = float("nan")
    return time.perf_counter() - started, peak


def main() -> None:
    """Print one line per (model, input length)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[64_000, 196_608])
    parser.add_argument("--batch", type=int, default=1, help="individuals (x 2 haplotypes)")
    parser.add_argument("--tiny", action="store_true", help="tiny configuration (smoke test)")
    parser.add_argument("--checkpointing", action="store_true", help="gradient checkpointing")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print(f"device: {torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'}")
    for length in args.lengths:
        config = {
            "pretrained": None,
            "tiny": TINY_ENFORMER if args.tiny else FULL_ENFORMER,
            "input_length": length,
            "center_bins": 10,
            "gradient_checkpointing": args.checkpointing,
        }
        model = HaplotypeAverage(EnformerModel.from_config(config)).to(device)
        step(model, length, args.batch, device)  # warm-up (kernel selection, allocator)
        seconds, peak = step(model, length, args.batch, device)
        print(
            f"enformer input {length:>7} bp, batch {args.batch} x 2 haplotypes: "
            f"{seconds:.3f} s/step, peak GPU memory {peak:.1f} GiB"
        )
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
