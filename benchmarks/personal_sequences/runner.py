"""Build the workload, run every engine in a child process of its own, print the report."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from .gvl import GVL_BEST_ENV
from .params import Params
from .report import print_report
from .workload import build_workload

PACKAGE = Path(__file__).resolve().parent  # ``python PACKAGE --worker NAME`` runs one engine


def run_worker(python: str, name: str, spec: dict, workdir: Path, env: dict) -> dict:
    """Run one engine in a child process; add its peak RSS (own and its children's)."""
    spec_path = workdir / f"spec.{name}.json"
    out_path = workdir / f"result.{name}.json"
    spec_path.write_text(json.dumps(spec))
    out_path.unlink(missing_ok=True)
    cmd = [python, str(PACKAGE), "--worker", name, "--spec", str(spec_path)]
    cmd += ["--out", str(out_path)]
    child = subprocess.Popen(cmd, env=env)
    # wait4's rusage covers the child and the descendants it waited for: ru_maxrss is the
    # largest single process (here: the engine, or the biggest samtools/bcftools).
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode or not out_path.exists():
        return {"failed": f"exit status {child.returncode}"}
    result = json.loads(out_path.read_text())
    result["peak_rss_mib"] = result.pop("engine_peak_rss_mib", usage.ru_maxrss / 1024)
    return result


def describe_workload(m: dict, params: Params, workdir: Path) -> None:
    """One paragraph: what was built (records, spectrum, sizes) and how long it took."""
    n_samples, n_windows = len(m["samples"]), len(m["windows"])
    total = 2 * n_samples * n_windows
    print(
        f"workload: {m['contig']} {m['contig_length'] / 1e6:.1f} Mb, {m['records']:,} records "
        f"({m['snvs']:,} SNVs, {m['deletions']:,} deletions, {m['insertions']:,} insertions; "
        f"{m['monomorphic'] / m['records']:.0%} monomorphic and {m['rare'] / m['records']:.0%} "
        f"with AF < 1% in these samples), {n_samples} samples x 2 haplotypes x {n_windows} "
        f"windows of {params.window_length:,} bp = {total:,} sequences "
        f"({total * params.window_length / 1e9:.2f} GB of bases); built in "
        f"{m['build_seconds']:.1f} s, in {workdir}"
    )


def make_spec(args: argparse.Namespace, params: Params, m: dict, workdir: Path) -> dict:
    """What every worker reads: the manifest, the random check triples and the options."""
    n_samples, n_windows = len(m["samples"]), len(m["windows"])
    total = 2 * n_samples * n_windows
    rng = np.random.default_rng(params.seed + 1)
    picks = rng.choice(total, min(args.bcftools_sequences, total), replace=False)
    triples = [
        (m["samples"][i // (2 * n_windows)], int(i // n_windows % 2 + 1), int(i % n_windows))
        for i in picks.tolist()
    ]
    return {
        "manifest": m,
        "triples": triples,
        "total_sequences": total,
        "window_length": params.window_length,
        "store": str(workdir / "fast_store"),
        "gvl_dataset": str(workdir / "windows.gvl"),
        "gvl_batch_bytes": args.gvl_batch_mb * 2**20,
        "threads": args.threads,
    }


def engine_env(threads: int) -> dict:
    """The environment with every thread pool the engines may use set to ``threads``."""
    env = dict(os.environ)
    for name in ("OMP", "OPENBLAS", "MKL", "NUMBA", "GVL", "RAYON"):
        env[f"{name}_NUM_THREADS"] = str(threads)
    env["POLARS_MAX_THREADS"] = str(threads)
    return env


def gvl_interpreter(gvl_python: str | None) -> str | None:
    """``gvl_python`` if it can import genvarloader, else None (saying why GVL is skipped)."""
    if not gvl_python:
        print("GenVarLoader: skipped (no --gvl-python; see the package docstring)")
        return None
    probe = subprocess.run([gvl_python, "-c", "import genvarloader"], capture_output=True)
    if probe.returncode:
        print(f"GenVarLoader: cannot import genvarloader with {gvl_python}; skipped")
        return None
    return gvl_python


def run_gvl(gvl_python: str, spec: dict, workdir: Path, env: dict) -> dict[str, dict]:
    """GenVarLoader's dataset write, then its default and its best read, as two results."""
    print("GenVarLoader: write, then default and best read ...")
    write = run_worker(gvl_python, "gvl", {**spec, "mode": "write"}, workdir, env)
    results = {}
    for mode, run_env in (("default", env), ("best", {**env, **GVL_BEST_ENV})):
        read = run_worker(gvl_python, "gvl", {**spec, "mode": mode}, workdir, run_env)
        if "failed" in write or "failed" in read:
            results[mode] = {"failed": write.get("failed") or read["failed"]}
            continue
        phases = {**write["phases"], **read["phases"]}
        results[mode] = {
            **read,
            "seconds": sum(phases.values()),
            "phases": phases,
            "peak_rss_mib": max(write["peak_rss_mib"], read["peak_rss_mib"]),
            "notes": read["notes"] + [f"write peak RSS {write['peak_rss_mib']:.0f} MiB"],
        }
    return results


def run_engines(args: argparse.Namespace, spec: dict, workdir: Path) -> list[tuple[str, str, dict]]:
    """Run the chosen engines in turn; (key, label, result) for each."""
    env = engine_env(args.threads)
    print(f"threads per engine: {args.threads}; each engine runs in a child process of its own")
    rows = []
    if "memcpy" in args.engines:
        result = run_worker(sys.executable, "memcpy", spec, workdir, env)
        rows.append(("memcpy", "copy the bytes alone (upper bound)", result))
    if "bcftools" in args.engines:
        n_check = len(spec["triples"])
        print(f"per-window bcftools: {n_check} random sequences, timed and extrapolated ...")
        result = run_worker(sys.executable, "bcftools", spec, workdir, env)
        rows.append(("bcftools", "per-window bcftools (EXTRAPOLATED)", result))
    if "fast" in args.engines:
        print("fast engine ...")
        rows.append(
            (
                "fast",
                "fast engine (haplexpr)",
                run_worker(sys.executable, "fast", spec, workdir, env),
            )
        )
    gvl_python = gvl_interpreter(args.gvl_python) if "gvl" in args.engines else None
    if gvl_python:
        for mode, result in run_gvl(gvl_python, spec, workdir, env).items():
            rows.append((f"gvl_{mode}", f"GenVarLoader ({mode})", result))
    return rows


def benchmark(args: argparse.Namespace, params: Params, workdir: Path) -> None:
    """Build or reuse the workload in ``workdir``, run the engines, print the report."""
    m = build_workload(workdir, params)
    describe_workload(m, params, workdir)
    spec = make_spec(args, params, m, workdir)
    rows = run_engines(args, spec, workdir)
    if not print_report(rows, spec):
        raise SystemExit("the fast engine disagrees with bcftools 1.24")
