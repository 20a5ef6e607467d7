"""The fast engine of two checkouts timed on one workload: what a refactoring costs in speed.

    python benchmarks/engine_checkouts.py OLD_CHECKOUT NEW_CHECKOUT [--pairs 6]
        [--contig-mb 10 --samples 400 --windows 100] [--threads 2] [--workdir DIR]

Builds the personal-sequence benchmark's workload once (``benchmarks/personal_sequences``),
then times each checkout's ``build_haplotype_store`` and materialisation of every haplotype
(first pass, with loading the compiled kernels; best warm pass) in its own child process
(that checkout's ``src/`` first on the path), alternating the two ``--pairs`` times so that
load on a shared machine hits both alike. Prints the medians and their ratio, and checks
that both built the same bases. Checkouts from before the stage rename keep the engine in
``haplexpr.haplotypes`` instead of ``haplexpr.sequences``.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def worker(manifest_path: Path, out: Path, threads: int) -> dict:
    """Build the store with the checkout on the path; materialise it (first pass, warm best)."""
    from personal_sequences.engines import gene_windows, load_reference_windows

    package = "haplexpr.sequences"
    if importlib.util.find_spec(package) is None:
        package = "haplexpr.haplotypes"  # before the stage rename
    build = importlib.import_module(f"{package}.personal_sequences").build_haplotype_store
    load = importlib.import_module(f"{package}.edits").HaplotypeEdits.load
    m = json.loads(manifest_path.read_text())
    windows, reference = gene_windows(m), load_reference_windows(m)
    out.mkdir(parents=True, exist_ok=True)
    vcfs = {m["contig"]: m["vcf"]}
    build(m["reference"], vcfs, m["samples"][:1], windows[:2], out / "warm.npz", threads=threads)
    started = time.perf_counter()
    build(m["reference"], vcfs, m["samples"], windows, out / "store.npz", threads=threads)
    built = time.perf_counter() - started
    edits = load(out / "store.npz")
    rows = np.empty((edits.n_columns, int(edits.length.max())), np.uint8)
    lengths = np.empty(edits.n_columns, np.int64)
    passes, bases = [], 0
    for _ in range(5):
        started, bases = time.perf_counter(), 0
        for w, window in enumerate(reference):
            edits.materialise_window(w, window, rows, lengths)
            bases += int(lengths.sum())
        passes.append(time.perf_counter() - started)
    return {"package": package, "build": built, "first": passes[0], "warm": min(passes[1:]),
            "bases": bases}  # fmt: skip


def main() -> None:
    """Build the workload, run the checkouts alternately, print medians and ratios."""
    sys.path.insert(0, str(HERE))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", nargs=2, type=Path, help="OLD and NEW checkout roots")
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--contig-mb", type=float, default=10)
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--windows", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "engines")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = worker(args.workdir / "manifest.json", args.worker, args.threads)
        print(json.dumps(result))
        return
    from personal_sequences.params import Params  # this checkout's: the workers' may differ
    from personal_sequences.workload import build_workload

    params = dataclasses.replace(
        Params(), contig_mb=args.contig_mb, samples=args.samples, windows=args.windows
    )
    m = build_workload(args.workdir, params)
    print(f"{len(m['samples'])} samples x {len(m['windows'])} windows, {m['records']:,} records")
    old, new = [], []
    for _ in range(args.pairs):
        for checkout, runs in zip(args.checkouts, (old, new), strict=True):
            env = {**os.environ, "PYTHONPATH": f"{checkout.resolve() / 'src'}:{HERE}"}
            command = [sys.executable, __file__, *map(str, args.checkouts), "--worker",
                       str(args.workdir / checkout.name), "--workdir", str(args.workdir),
                       "--threads", str(args.threads)]  # fmt: skip
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            if done.returncode:
                raise SystemExit(f"{checkout}: the worker failed\n{done.stderr[-3000:]}")
            runs.append(json.loads(done.stdout.splitlines()[-1]))
    if {r["bases"] for r in old + new} != {old[0]["bases"]}:
        raise SystemExit("the checkouts built different haplotypes")
    for key in ("build", "first", "warm"):
        a, b = (statistics.median(r[key] for r in rs) for rs in (old, new))
        print(f"{key:>6}: old {a:.3f} s, new {b:.3f} s, new/old {b / a:.3f}", end="")
        print(f" (medians of {args.pairs})")


if __name__ == "__main__":
    main()
