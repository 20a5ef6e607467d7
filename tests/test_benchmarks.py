"""The benchmark scripts run (``--tiny``) and report what they promise, so they cannot rot."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from pipeline_runs import REPO


def run_benchmark(script: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_gpu_s2f_step_tiny_times_both_models():
    out = run_benchmark("gpu_s2f_step.py", "--tiny", "--lengths", "2048", "--checkpointing")
    for model in ("borzoi", "enformer"):
        line = next(x for x in out.splitlines() if x.startswith(model))
        assert re.search(r"input\s+2048 bp, batch 1 x 2 haplotypes, checkpointing", line), line
        assert re.search(r"training step [\d.]+ s, .*prediction [\d.]+ s", line), line


def test_personal_sequences_tiny_matches_bcftools():
    out = run_benchmark("personal_sequences.py", "--tiny")
    match = re.search(r"fast engine vs bcftools 1\.24 \(pysam\): (\d+)/(\d+) identical", out)
    assert match and match.group(1) == match.group(2) and int(match.group(2)) > 0, out
    assert re.search(r"^fast engine \(haplexpr\)\s+[\d,]+", out, flags=re.MULTILINE), out
