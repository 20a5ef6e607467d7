"""One full-length training step of each S2F model with random weights: time and peak memory.

For docs/measurements.md's resource tables and ``profiles/slurm``: builds the full-size architecture
(random weights; no download needed), runs one forward + backward pass through the seed's
head at each input length, then one prediction (forward only), and prints seconds and peak
GPU memory of each. Run on a GPU node; ``--tiny`` runs the tiny demo configuration on any
device as a smoke test.

    python benchmarks/gpu_s2f_step.py [--models enformer borzoi] [--lengths 64000 ...]
                                      [--finetune full heads lora]
                                      [--batch 1] [--checkpointing] [--tiny]

Default lengths: the seed's 64,000 bp and each model's native input (Enformer 196,608,
Borzoi 524,288), each in every ``finetune`` mode (default: full, heads and lora with the
default LoRA settings; docs/models.md). A length that does not fit the GPU prints "out of
memory" and the benchmark goes on. The optimiser's state is not included: Adam adds two
float32 copies of what trains (for full fine-tuning, of every trunk weight).
"""

from __future__ import annotations

import argparse
import time

import torch

from haplexpr.models import registry
from haplexpr.models.borzoi import TINY_BORZOI
from haplexpr.models.enformer import TINY_ENFORMER
from haplexpr.models.finetune import FINETUNE_MODES, parameter_counts
from haplexpr.models.precision import mixed_precision_context
from haplexpr.models.wrappers import HaplotypeAverage
from haplexpr.training.loop import combined_loss

# Full-size hyper-parameters: Enformer (Avsec et al. 2021; enformer-pytorch defaults) and
# Borzoi (Linder et al. 2025; borzoi-pytorch's BorzoiConfig defaults, human head only).
FULL = {
    "enformer": {"dim": 1536, "depth": 11, "heads": 8, "num_downsamples": 7},
    "borzoi": {"dim": 1536, "depth": 8, "heads": 8, "attn_dim_key": 64, "attn_dim_value": 192},
}
TINY = {"enformer": TINY_ENFORMER, "borzoi": TINY_BORZOI}
NATIVE_LENGTH = {"enformer": 196_608, "borzoi": 524_288}


def measure(model: torch.nn.Module, length: int, batch: int, device: torch.device, train: bool):
    """Seconds and peak GPU memory (GiB; NaN on CPU) of one training step or one prediction.

    A training step is forward + loss + backward; a prediction is a forward pass without
    gradients. Both run in bfloat16 autocast on CUDA, as training and prediction do.
    """
    x = torch.zeros(batch, 2, length, 4, device=device)
    x[..., 0] = 1
    y = torch.zeros(batch, device=device)
    model.train(train)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
    started = time.perf_counter()
    with mixed_precision_context(device, True), torch.set_grad_enabled(train):
        output = model(x).float()
    if train:
        combined_loss(output, y, 0.3).backward()
        model.zero_grad(set_to_none=True)
    if device.type == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2**30
    else:
        peak = float("nan")
    return time.perf_counter() - started, peak


def timed(model: torch.nn.Module, length: int, batch: int, device, train: bool) -> str:
    """One warm-up (kernels, allocator) then one timed call, or "out of memory"."""
    try:
        measure(model, length, batch, device, train)
        seconds, peak = measure(model, length, batch, device, train)
    except torch.OutOfMemoryError:
        return "out of memory"
    finally:
        model.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return f"{seconds:.3f} s, peak {peak:.1f} GiB"


def main() -> None:
    """Print one line per (model, input length)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=sorted(FULL), default=sorted(FULL))
    parser.add_argument("--lengths", type=int, nargs="+", help="default: 64,000 + native")
    parser.add_argument("--batch", type=int, default=1, help="individuals (x 2 haplotypes)")
    parser.add_argument("--tiny", action="store_true", help="tiny configuration (smoke test)")
    parser.add_argument("--checkpointing", action="store_true", help="gradient checkpointing")
    parser.add_argument(
        "--finetune", nargs="+", choices=FINETUNE_MODES, default=list(FINETUNE_MODES)
    )
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print(f"device: {torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'}")
    for name in args.models:
        for length in args.lengths or [64_000, NATIVE_LENGTH[name]]:
            for mode in args.finetune:
                config = {
                    "architecture": name,
                    "pretrained": None,
                    "tiny": (TINY if args.tiny else FULL)[name],
                    "input_length": length,
                    "center_bins": 10,
                    "gradient_checkpointing": args.checkpointing,
                    "finetune": mode,
                }
                model = HaplotypeAverage(registry.build(config)).to(device)
                trainable, total = parameter_counts(model)
                print(
                    f"{name} ({total / 1e6:.0f} M parameters, {trainable:,} train: finetune"
                    f" {mode}) input {length:>7} bp, batch {args.batch} x 2 haplotypes"
                    f"{', checkpointing' if args.checkpointing else ''}: training step"
                    f" {timed(model, length, args.batch, device, train=True)}; prediction"
                    f" {timed(model, length, args.batch, device, train=False)}",
                    flush=True,
                )
                del model
                if device.type == "cuda":
                    torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
