"""Seconds per window and peak GPU memory of each full-size gLM embedder, random weights.

For docs/measurements.md's resource tables and ``profiles/slurm``: builds each gLM at its published
size with random weights (no download needed) through the same ``from_config`` the
pipeline calls, embeds a few random windows at the seed's lengths and prints seconds per
window and peak GPU memory, then the rows of ``haplexpr.plan.GLM_SECONDS_PER_WINDOW``
that replace its estimates. Run on a GPU node (one short run); ``--tiny`` runs the demo's
tiny configurations at short lengths on any device as a smoke test.

    python benchmarks/gpu_glm_embed.py [--models nt caduceus evo2] [--windows 3]
        [--lengths nt=11000 caduceus=64000 evo2=64000] [--tiny]

Full sizes: NT v2 500M multi-species (1,024-d, 29 layers; the seed reads layer 20),
Caduceus-ph 131k (256-d, 16 layers, both strands), Evo2 7B (StripedHyena 2, 32 blocks,
PyTorch attention instead of flash-attn, no FP8; layer ``blocks.28.mlp.l3``). A model or
length that does not fit prints "out of memory" and the benchmark goes on.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from haplexpr.models import registry

#: Each gLM's config entry at full size (random weights) and the seed's input length.
FULL = {
    "nt": (
        {
            "architecture": "nucleotide_transformer",
            "tiny": {
                "hidden_size": 1024,
                "num_hidden_layers": 29,
                "num_attention_heads": 16,
                "intermediate_size": 4096,
            },
            "layer": 20,
            "dtype": "bfloat16",
            "batch_size": 1,
        },
        11_000,
    ),
    "caduceus": (
        {
            "architecture": "caduceus",
            "tiny": {"d_model": 256, "n_layer": 16, "d_state": 16, "d_conv": 4, "expand": 2},
            "layer": -1,
            "batch_size": 1,
            "scan_chunk": 2048,
        },
        64_000,
    ),
    # No tiny keys: evo2's 7B config itself (see full_evo2).
    "evo2": ({"architecture": "evo2", "layer": "blocks.28.mlp.l3", "batch_size": 1}, 64_000),
}
#: The demo's tiny configurations (config.yaml) at a short length, for ``--tiny``.
TINY = {
    "nt": ({"architecture": "nucleotide_transformer", "batch_size": 1}, 600),
    "caduceus": (
        {"architecture": "caduceus", "tiny": {"d_model": 16, "n_layer": 2}, "batch_size": 1},
        600,
    ),
    "evo2": ({"architecture": "evo2", "layer": "blocks.3.mlp.l3", "batch_size": 1}, 600),
}


def full_evo2(entry: dict, device: torch.device):
    """Evo2-7B's StripedHyena 2 with random weights, at the precision its checkpoint loads in.

    ``from_config`` builds checkpoints only (a name downloads, null is the tiny model), so
    the 7B network is built here from evo2's own config, as ``load_checkpoint`` builds it.
    """
    from haplexpr.models import evo2, evo2_model
    from haplexpr.models.settings import Evo2Settings

    config = evo2_model.runnable_config(evo2_model.packaged_config(evo2_model.BASE_CONFIG))
    model = evo2_model.build_model(config)
    for name, parameter in model.named_parameters():  # bfloat16 but poles and residues
        if "poles" not in name and "residues" not in name:
            parameter.data = parameter.data.to(torch.bfloat16)
    return evo2.Evo2Embedder(model, Evo2Settings.from_config(entry), device)


def measure(
    entry: dict, length: int, windows: int, device: torch.device, tiny: bool
) -> tuple[float, float]:
    """Seconds per window (after one warm-up window) and peak GPU memory in GiB (NaN on CPU)."""
    if entry["architecture"] == "evo2" and not tiny:
        embedder = full_evo2(entry, device)
    else:
        embedder = registry.build({**entry, "pretrained": None}, device=str(device))
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), length)) for _ in range(windows + 1)]
    embedder.embed(seqs[:1])
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    for seq in seqs[1:]:
        out = embedder.embed([seq])
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - started) / windows
    assert np.isfinite(out).all(), "non-finite embeddings"
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else float("nan")
    del embedder
    return seconds, peak


def main() -> None:
    """Measure every requested model and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(FULL))
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--lengths", nargs="*", default=[], help="model=bases overrides")
    parser.add_argument("--tiny", action="store_true")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    table = TINY if args.tiny else FULL
    lengths = {name: length for name, (_, length) in table.items()}
    lengths.update({k: int(v) for k, v in (item.split("=") for item in args.lengths)})
    name_of = torch.cuda.get_device_name() if device.type == "cuda" else "CPU"
    print(f"{name_of}, torch {torch.__version__}; {'tiny' if args.tiny else 'full-size'} models")
    rows = []
    for name in args.models:
        entry, _ = table[name]
        try:
            seconds, peak = measure(entry, lengths[name], args.windows, device, args.tiny)
        except torch.OutOfMemoryError:
            print(f"{name:<9} {lengths[name]:>7,} bp: out of memory")
            torch.cuda.empty_cache()
            continue
        print(f"{name:<9} {lengths[name]:>7,} bp: {seconds:.3f} s per window, peak {peak:.1f} GiB")
        rows.append(
            f'    "{entry["architecture"]}": WindowSeconds({lengths[name]:_}, {seconds:.3f},'
            " measured=True),"
        )
    if rows and not args.tiny:
        print(f"rows for haplexpr.plan.GLM_SECONDS_PER_WINDOW ({name_of}):")
        print("\n".join(rows))


if __name__ == "__main__":
    main()
