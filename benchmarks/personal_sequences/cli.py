"""Command line: the benchmark's options, or (``--worker``) one engine in a child process.

Only the standard library at module level: a worker may run under GenVarLoader's own
interpreter, which has neither haplexpr nor its dependencies.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from .params import Params

DESCRIPTION = (
    "Personal sequences at study scale: per-window bcftools vs our fast engine vs GenVarLoader."
)
ENGINES = ("memcpy", "bcftools", "fast", "gvl")


def engine(name: str) -> Callable[[dict], dict]:
    """The worker function of engine ``name`` (imported on demand: GVL's has its own deps)."""
    if name == "gvl":
        from .gvl import worker_gvl

        return worker_gvl
    from . import engines

    return getattr(engines, f"worker_{name}")


def main() -> None:
    """Build the workload, run every engine in its own process, print the comparison."""
    parser = argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument("--workdir", type=Path, help="workload cache (default: a temp dir)")
    parser.add_argument("--contig-mb", type=float, default=Params.contig_mb)
    parser.add_argument("--samples", type=int, default=Params.samples)
    parser.add_argument("--windows", type=int, default=Params.windows)
    parser.add_argument("--window-length", type=int, default=Params.window_length)
    parser.add_argument("--seed", type=int, default=Params.seed)
    parser.add_argument(
        "--tiny", action="store_true", help="smoke test: 1 Mb, 20 samples, 10 windows of 8 kb"
    )
    parser.add_argument(
        "--bcftools-sequences", type=int, default=60, help="per-window bcftools: timed subset"
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="threads per engine (default 2: the 2-core target)"
    )
    parser.add_argument("--gvl-python", help="python with genvarloader (default: skip GVL)")
    parser.add_argument(
        "--gvl-batch-mb", type=int, default=256, help="GVL best mode: output MB per call"
    )
    parser.add_argument(
        "--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES), help="subset"
    )
    parser.add_argument("--worker", choices=list(ENGINES), help=argparse.SUPPRESS)
    parser.add_argument("--spec", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        spec = json.loads(args.spec.read_text())
        args.out.write_text(json.dumps(engine(args.worker)(spec)))
        return

    if args.tiny:
        args.contig_mb, args.samples, args.windows, args.window_length = 1.0, 20, 10, 8192
        args.bcftools_sequences = min(args.bcftools_sequences, 20)
    params = Params(args.contig_mb, args.samples, args.windows, args.window_length, seed=args.seed)
    from .runner import benchmark  # needs haplexpr: not imported by the workers

    if args.workdir:
        benchmark(args, params, args.workdir.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="haplexpr-bench-") as tmp:
            benchmark(args, params, Path(tmp))
