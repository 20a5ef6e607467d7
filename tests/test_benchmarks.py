"""The benchmark scripts run (``--tiny``) and report what they promise, so they cannot rot."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pandas as pd
import pytest
from support import ROOT


def run_benchmark(script: str, *args: str) -> str:
    """Run ``benchmarks/<script>`` (a script, or a package folder with ``__main__.py``)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
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


def test_embed_throughput_tiny_reports_both_loops_for_each_glm(tmp_path):
    out = run_benchmark("embed_throughput.py", "--tiny", "--workdir", str(tmp_path))
    for model in ("nt", "caduceus", "evo2"):
        line = next(x for x in out.splitlines() if x.startswith(model))
        pattern = (
            r"[\d,]+ distinct windows \([\d,]+ haplotypes\) of 2,048 bp: pipeline [\d.,]+ windows/s"
        )
        assert re.search(pattern, line), line
        assert re.search(r"bare forward loop [\d.,]+ windows/s, ratio [\d.]+x", line), line


def test_gpu_glm_embed_tiny_times_each_glm():
    out = run_benchmark("gpu_glm_embed.py", "--tiny", "--windows", "1")
    for model in ("nt", "caduceus", "evo2"):
        line = next(x for x in out.splitlines() if x.startswith(model))
        assert re.search(r"600 bp: [\d.]+ s per window, peak (nan|[\d.]+) GiB", line), line


def test_personal_sequences_tiny_matches_bcftools():
    out = run_benchmark("personal_sequences", "--tiny")
    match = re.search(r"fast engine vs bcftools 1\.24 \(pysam\): (\d+)/(\d+) identical", out)
    assert match and match.group(1) == match.group(2) and int(match.group(2)) > 0, out
    assert re.search(r"^fast engine \(haplexpr\)\s+[\d,]+", out, flags=re.MULTILINE), out


def test_engine_checkouts_compares_a_checkout_with_itself(tmp_path):
    out = run_benchmark(
        "engine_checkouts.py", str(ROOT), str(ROOT), "--pairs", "1", "--contig-mb", "0.5",
        "--samples", "8", "--windows", "4", "--workdir", str(tmp_path),
    )  # fmt: skip
    assert "8 samples x 4 windows" in out
    for step in ("build", "first", "warm"):
        assert re.search(rf"{step}: old [\d.]+ s, new [\d.]+ s, new/old [\d.]+", out), out


def load_robustness():
    """benchmarks/demo_robustness.py as a module (benchmarks are scripts, not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "demo_robustness", ROOT / "benchmarks" / "demo_robustness.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_robustness_grid_and_margin_check():
    import argparse

    import pandas as pd

    bench = load_robustness()
    args = argparse.Namespace(
        grid="axes",
        data_seeds=[10, 11],
        design=["big=--genes 90 --motif GATAAGCT"],
        train_seeds=[0, 1, 2],
        isas=["native", "avx2"],
    )
    sets = bench.datasets(args)
    assert sets == {
        "data10": ["--seed", "10"],
        "data11": ["--seed", "11"],
        "design-big": ["--genes", "90", "--motif", "GATAAGCT"],
    }
    assert bench.grid(args, list(sets)) == [
        ("data10", 0, "native"), ("data10", 1, "native"), ("data10", 2, "native"),
        ("data11", 0, "native"), ("design-big", 0, "native"), ("data10", 0, "avx2"),
    ]  # fmt: skip
    args.grid = "product"
    assert len(bench.grid(args, list(sets))) == 3 * 3 * 2
    frame = pd.DataFrame(
        {
            "variant": ["config"] * 4,
            "run": ["a/p", "a/p", "b/p", "b/p"],
            "mean_r": [0.5, 0.3, 0.4, 0.1],
            "shuffled_p95_mean_r": [0.07, 0.08, 0.07, 0.08],
        }
    )
    table = bench.summarise(frame, {"a/p": 0.15, "b/p": 0.15}).set_index("run")
    assert table.loc["a/p", "holds"] == "yes" and table.loc["b/p", "holds"] == "NO"
    assert table.loc["a/p", "min_r"] == 0.3 and table.loc["a/p", "median_r"] == 0.4
    assert table.loc["b/p", "min_r_minus_p95"] == pytest.approx(0.02)
    runs = frame.assign(tag=["s0", "s1", "s0", "s1"])
    runs.loc[len(runs)] = {"variant": "config", "run": "a/r", "mean_r": 0.0, "tag": "s0"}
    wide = bench.per_run(runs)  # one row per run, p/rp columns only, gaps to the control
    assert wide.index.tolist() == ["s0", "s1"] and wide.columns.tolist() == ["a/p", "b/p"]
    assert wide.loc["s1", "b/p"] == pytest.approx(0.02)


def test_full_study_dag_has_the_jobs_the_design_says(tmp_path):
    """benchmarks/dag.py: config/geuvadis.yaml over 462 faked individuals, jobs per rule."""
    out = run_benchmark(
        "dag.py", "--individuals", "462", "--test", "100", "--genes", "300", "--keep", str(tmp_path)
    )
    genes = pd.read_csv(tmp_path / "all_partition_data.csv.gz").drop_duplicates("gene")
    held_out = int((genes["split"] == "test").sum())
    counts = {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"^(\w+)\s+(\d+)$", out, flags=re.MULTILINE)
    }
    shards = -(-(462 + 1) // 25)  # the reference rides in the first embedding shard
    # Evo2 (an estimated 12 s a 64 kb window) must fit 48 h at margin 2: (2880 - 15) x 60 / 2
    # / 12 = 7,162 windows a job. dag.py's seeded table: 300 genes, 55 held out, 200 seen, so
    # 2 x 255 windows an individual: 14 a job. The first shard (reference + 24) becomes the
    # reference alone + 2 jobs, each full shard of 25 2 jobs, the last (13 individuals) one.
    assert held_out == 55
    per_person = 2 * (200 + held_out)
    assert int((2880 - 15) * 60 / 2 / 12) // per_person == 14
    evo2 = 1 + 2 + (shards - 2) * 2 + 1
    assert counts == {
        **{rule: 22 for rule in ("vcf_download", "vcf_normalise", "vcf_index")},
        "reference_download": 1,
        "sequences_reference": 1,
        "sequences_consensus": -(-462 // 100),
        "embeddings_compute": 2 * shards + evo2,  # NT, Caduceus unsplit; Evo2 split
        "training_s2f": 2 * 3,  # Enformer, Borzoi x r, p, rp
        "predictions_s2f": 2 * 3,
        "predictions_zero_shot": 1,  # Enformer's track
        "training_tower": 3 * 3,
        "predictions_tower": 3 * 3,
        "predictions_elastic_net": 1,
        "metrics_evaluate": 5 * 3 + 1 + 1,
        "metrics_compare": 1,
        "report_html": 1,
        # variant effects of every p run (effects.strategies: [p]): scoring + checks
        "effects_s2f": 2,
        "effects_tower": 3,
        "effects_checks": 5,
        "all": 1,
    }
    assert "300 genes (200 seen): FEWER than 15,000 genes" in out
    total = sum(counts.values()) - 1  # `all` runs nothing
    assert re.search(rf"total\s+{total + 1} jobs; dry run [\d.]+ s, again [\d.]+ s", out), out
    after, before = out.split("Plan: what the design uses")[1].split("Plan before issue 26")
    evo2_after = re.search(r"^embeddings\s+evo2\s+(\d+)\s+([\d,]+)", after, re.M)
    evo2_before = re.search(r"^embeddings\s+evo2\s+(\d+)\s+([\d,]+)", before, re.M)
    assert int(evo2_after.group(1)) == evo2
    windows = 300 + 462 * per_person  # the reference over every gene here (all evaluated)
    assert int(evo2_after.group(2).replace(",", "")) == windows
    assert int(evo2_before.group(2).replace(",", "")) == 300 + 462 * 2 * 300
