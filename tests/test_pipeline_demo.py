"""The README's main job, end to end on the demo data, with the real Snakemake workflow."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from support import ROOT
from support.pipeline_runs import (
    LOCAL_PROFILE,
    SNAKEFILE,
    make_workdir,
    primary_metrics,
    snakemake,
)

from haplexpr.cli import main as haplexpr_cli
from haplexpr.config import load_config, merge_configs
from haplexpr.demo.dataset import DEMO_MARGINS
from haplexpr.provenance import digest, read_record
from haplexpr.sequences.store import HaplotypeStore
from haplexpr.study.design import Study
from haplexpr.training import runs as training_runs

pytestmark = pytest.mark.slow

MODELS = ("enformer", "borzoi", "nt", "caduceus", "evo2")
RUNS = [f"{m}/{s}" for m in MODELS for s in ("r", "p", "rp")]
RUNS += ["enformer/zs", "elastic_net/p"]  # zero-shot track readout, genotype baseline


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One full `all` run of the demo configuration, shared by the tests below."""
    workdir = make_workdir(tmp_path_factory.mktemp("demo"))
    # the README's demo command: the local profile on 2 cores
    result = snakemake(workdir, "--profile", str(LOCAL_PROFILE), "--cores", "2", "all")
    assert result.returncode == 0, result.stderr[-5000:]
    return workdir


#: Where the browser test leaves its screenshot of the report (CI keeps it as an artifact).
ARTIFACTS = Path(os.environ.get("HAPLEXPR_TEST_ARTIFACTS", ROOT / "test-artifacts"))


def job_counts(dry_run_output: str) -> dict[str, int]:
    """Parse snakemake's dry-run job-stats table into {rule: count}."""
    table = dry_run_output.split("Job stats:")[1].split("Reasons:")[0]
    return {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"^(\w+)\s+(\d+)$", table, flags=re.MULTILINE)
        if m.group(1) != "total"
    }


def test_every_run_has_metrics_and_the_report_has_plots(demo):
    for run in RUNS:
        assert (demo / "results" / "metrics" / f"{run}.tsv").stat().st_size > 0
        assert (demo / "results" / "predictions" / f"{run}.parquet").exists()
    page = (demo / "results" / "report" / "report.html").read_text()
    assert page.count("<img") >= 2 and "data:image/png;base64," in page
    assert "<h2>Training</h2>" in page  # curves of every trained run, kept epochs marked
    for run in RUNS:
        assert run in page


def test_trained_models_beat_the_shuffled_expression_control(demo):
    """Per-gene R across held-out individuals must clear the shuffled control by a margin.

    The demo plants cis effects (motif copies broken or created by variants near the TSS),
    so a working pipeline recovers them. A broken one (reference sequence for everyone,
    mislabelled individuals, shuffled haplotypes) scores at the control, about 0.
    """
    for run, margin in DEMO_MARGINS.items():  # benchmarks/demo_robustness.py: every run holds
        row = primary_metrics(demo, run)
        print(
            f"{run}: mean per-gene R {row['mean_r']:.3f}; shuffled control mean "
            f"{row['shuffled_mean_r']:.3f}, 95th percentile {row['shuffled_p95_mean_r']:.3f}"
        )
        assert abs(row["shuffled_mean_r"]) < 0.05
        assert row["mean_r"] > row["shuffled_p95_mean_r"] + margin, run


def test_metrics_command_prints_every_run_beside_its_control(demo, capsys):
    assert haplexpr_cli(["metrics", str(demo / "results" / "metrics")]) == 0
    printed = capsys.readouterr().out
    for run in RUNS:
        row = primary_metrics(demo, run)
        line = next(x for x in printed.splitlines() if x.split()[:2] == [run, "seen_genes"])
        assert f"{row['mean_r']:.3f}" in line and f"{row['shuffled_p95_mean_r']:.3f}" in line
    assert sum("unseen_genes" in line for line in printed.splitlines()) == len(RUNS)


#: One run of each kind a cohort is predicted by: an S2F model, a gLM tower (embedding the
#: cohort's windows), a zero-shot track and the elastic net's stored weights. Every run of
#: the demo was checked so once (docs/cohorts.md); the suite keeps these four.
COHORT_RUNS = ["enformer/p", "nt/rp", "enformer/zs", "elastic_net/p"]
COHORT_OVERLAY = ROOT / "config" / "demo_cohort.yaml"


@pytest.fixture(scope="module")
def demo_cohort(demo):
    """The demo's held-out individuals predicted as a new cohort (config/demo_cohort.yaml)."""
    folder = "results/cohorts/demo_held_out"
    targets = [f"{folder}/{run}.{form}" for run in COHORT_RUNS for form in ("tsv", "long.tsv")]
    result = snakemake(
        demo, "--profile", str(LOCAL_PROFILE), "--cores", "2", *targets,
        "--configfile", str(COHORT_OVERLAY),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-5000:]
    return demo / folder


def held_out_predictions(workdir: Path, run: str, individuals: list[str]) -> pd.DataFrame:
    """The study's own predictions of ``run`` for ``individuals``."""
    frame = pd.read_parquet(workdir / "results" / "predictions" / f"{run}.parquet")
    return frame[frame["sample"].isin(individuals)]


def test_a_cohort_of_the_held_out_individuals_gets_the_study_predictions(demo, demo_cohort):
    """Each kind of run, from the cohort's own VCF checks, sequences and embeddings to its
    tables, each output recorded with the config it was made with (the overlay's).

    Only batches differ (the cohort's windows are batched without the training
    individuals'), so floats may differ in their last digits, nothing more.
    """
    config = load_config(demo / "config.yaml")
    held_out = Study.from_config(config, demo).test_individuals
    written = yaml.safe_load((demo / "config.yaml").read_text())
    overlaid = merge_configs(written, yaml.safe_load(COHORT_OVERLAY.read_text()))
    assert read_record(demo_cohort / "nt" / "rp.tsv")["config_sha256"] == digest(overlaid)
    for run in COHORT_RUNS:
        long = pd.read_csv(demo_cohort / f"{run}.long.tsv", sep="\t", dtype={"sample": str})
        study = held_out_predictions(demo, run, held_out)
        merged = long.merge(study, on=["sample", "gene"], suffixes=("", "_study"))
        assert len(merged) == len(long) == len(study), run
        scale = study["prediction"].abs().max()
        np.testing.assert_allclose(
            merged["prediction"], merged["prediction_study"], rtol=0, atol=1e-5 * scale
        )
        wide = pd.read_csv(demo_cohort / f"{run}.tsv", sep="\t", index_col="gene")
        assert list(wide.columns[-len(held_out) :]) == held_out
        usable = long.groupby("gene")["usable"].first()
        assert (wide["usable"] == usable.reindex(wide.index)).all(), run
    # the genotype baseline predicts held-out individuals well on the demo; not every gene
    elastic_net = pd.read_csv(demo_cohort / "elastic_net" / "p.tsv", sep="\t")
    assert 0 < elastic_net["usable"].sum() < len(elastic_net)


def test_predict_command_makes_one_run_for_an_ad_hoc_cohort(
    demo, demo_cohort, tmp_path, monkeypatch, capsys
):
    """`haplexpr predict` with a VCF list and three individuals: only that run's jobs."""
    three = pd.read_csv(demo_cohort / "nt" / "rp.tsv", sep="\t", index_col="gene").iloc[:, -3:]
    (demo / "three.txt").write_text("\n".join(three.columns) + "\n")
    monkeypatch.chdir(demo)
    output = str(tmp_path / "nt_rp.tsv")
    argv = ["predict", "--model", "nt", "--strategy", "rp", "--cohort", "three",
            "--vcf-urls", "data/demo/vcf_urls.txt", "--samples", "three.txt",
            "--snakefile", str(SNAKEFILE), "--cores", "2", "-o", output]  # fmt: skip
    assert haplexpr_cli(argv) == 0
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.match(
        r"nt/rp predicted \d+ genes \(\d+ usable\) x 3 individuals of cohort three", summary
    )
    table = pd.read_csv(output, sep="\t", index_col="gene")
    np.testing.assert_allclose(table[three.columns], three, rtol=0, atol=1e-4)
    made = demo / "results" / "cohorts" / "three"
    assert sorted(p.name for p in made.iterdir()) == [
        "embeddings",
        "nt",
        "predictions",
        "sequences",
        "vcf",
    ]


class FirstStep(Exception):
    """Raised at the first forward pass of training, once its weights are recorded."""


@pytest.mark.parametrize("model_name", ["enformer", "borzoi"])
def test_rp_first_step_starts_from_the_r_weights(demo, model_name, monkeypatch, tmp_path):
    """The rp rule is given r's model.pt, and its first training step runs on r's weights."""
    r_model = f"results/training/{model_name}/r/model.pt"
    log = (demo / "results" / "logs" / "training" / model_name / "rp.log").read_text()
    assert f"initialised from {r_model}" in log

    monkeypatch.chdir(demo)  # the config's data paths are relative to the working directory
    config = load_config(demo / "config.yaml")
    store = HaplotypeStore(
        demo / "results" / "sequences" / "reference",
        sorted((demo / "results" / "sequences").glob("shard*.haplotypes.npz")),
    )
    seen, build = {}, training_runs.model_for

    def spied_model(*args):
        model = build(*args)

        def record_and_stop(module, _inputs):
            seen.update({k: v.detach().clone() for k, v in module.state_dict().items()})
            raise FirstStep

        model.register_forward_pre_hook(record_and_stop)
        return model

    monkeypatch.setattr(training_runs, "model_for", spied_model)
    with pytest.raises(FirstStep):
        training_runs.train_run(
            Study.from_config(config), config, model_name, "rp", tmp_path, store, r_model
        )
    r_state = torch.load(r_model, map_location="cpu", weights_only=True)["state_dict"]
    assert seen.keys() == r_state.keys()
    for key, value in r_state.items():
        assert torch.equal(seen[key], value), key
    fresh = training_runs.build_model(config["models"][model_name], config["training"]["seed"])
    assert any(not torch.equal(fresh.state_dict()[k], v) for k, v in r_state.items())


def chromium() -> str:
    """Debian's chromium (scripts/test.sh installs it); skip without it unless required."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("HAPLEXPR_REQUIRE_BROWSER"):
            pytest.fail("chromium is required (HAPLEXPR_REQUIRE_BROWSER) but not installed")
        pytest.skip("chromium is not installed (scripts/install_system_deps.sh --browser)")
    return found


def headless(*args: str) -> subprocess.CompletedProcess:
    browser = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    return subprocess.run(
        [*browser, *args], capture_output=True, text=True, timeout=300, check=True
    )


def test_the_report_renders_in_a_real_browser(demo):
    """Every figure decodes in Chromium, the summary table lists every run with its CI."""
    page = (demo / "results" / "report" / "report.html").as_uri()
    dom = headless("--virtual-time-budget=20000", "--dump-dom", page).stdout
    body = re.search(r'<body data-figures="(\d+)" data-figures-loaded="(\d+)"', dom)
    assert body is not None, "the page's load check did not run"
    figures, loaded = map(int, body.groups())
    # per-gene R, strategies, comparisons, heritability, predicted vs observed, anchors,
    # training curves; variant effects: direction, causal recovery, one gene's track
    assert figures == 10 and loaded == figures
    table = dom.split('<div id="summary-table">')[1].split("</div>")[0]
    interval = r"<td>-?\d\.\d{3} \[-?\d\.\d{3}, -?\d\.\d{3}\]</td>"
    for run in RUNS:  # run, genes, individuals, mean R [CI]
        row = rf"<th>{re.escape(run)}</th>\s*<td>\d+</td>\s*<td>\d+</td>\s*{interval}"
        assert re.search(row, table), run
    assert "unseen genes (fitted per gene)" in table  # the elastic net, set apart
    headings = ("Model against model", "Beside published numbers", "Training", "Variant effects")
    for heading in headings:
        assert f"<h2>{heading}</h2>" in dom
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    headless("--window-size=1400,12000", f"--screenshot={shot}", page)
    from matplotlib.image import imread

    pixels = imread(shot)[..., :3].mean(axis=-1)  # grey levels in [0, 1]
    assert pixels.shape == (12000, 1400)
    assert pixels.min() < 0.2 and pixels.max() > 0.9  # text and figures on a white page
    assert (pixels < 0.9).mean() > 0.02  # not an empty page


def test_second_run_does_nothing(demo):
    result = snakemake(demo, "--cores", "2", "-n", "all")
    assert result.returncode == 0, result.stderr
    assert "Nothing to be done" in result.stdout + result.stderr


def test_deleting_one_metrics_file_rebuilds_only_what_depends_on_it(demo):
    target = demo / "results" / "metrics" / "nt" / "p.tsv"
    untouched = demo / "results" / "metrics" / "enformer" / "p.tsv"
    before = untouched.stat().st_mtime_ns
    target.unlink()
    dry = snakemake(demo, "--cores", "2", "-n", "all")
    assert dry.returncode == 0, dry.stderr
    assert job_counts(dry.stdout + dry.stderr) == {
        "metrics_evaluate": 1,
        "metrics_compare": 1,
        "report_html": 1,
        "all": 1,
    }
    rerun = snakemake(demo, "--profile", str(LOCAL_PROFILE), "--cores", "2", "all")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert target.exists()
    assert untouched.stat().st_mtime_ns == before


def test_editing_a_tower_retrains_it_and_recomputes_no_embedding(demo):
    """Model keys are rerun triggers (params): the tower's reach training, not embeddings."""
    config_file = demo / "config.yaml"
    original = config_file.read_text()
    config = yaml.safe_load(original)
    config["models"]["nt"]["tower"]["hidden"] += 1
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))  # a user edits one value
    try:
        dry = snakemake(demo, "--cores", "2", "-n", "all")
    finally:
        config_file.write_text(original)
    assert dry.returncode == 0, dry.stderr
    counts = job_counts(dry.stdout + dry.stderr)
    assert counts["training_tower"] == 3 and "embeddings_compute" not in counts
    assert "training_s2f" not in counts


def test_snakemake_report_holds_the_metrics_and_the_html_report(demo):
    """``snakemake --report``: the outputs wrapped in ``report()`` with their captions."""
    out = demo / "snakemake_report.html"
    result = snakemake(demo, "--report", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    page = out.read_text()
    assert "report.html" in page and "enformer" in page and "Metrics" in page


def test_lint_is_clean():
    result = snakemake(ROOT, "--lint")
    assert result.returncode == 0
    assert "Congratulations" in result.stdout + result.stderr


def test_invalid_config_is_rejected_before_any_job(tmp_path):
    workdir = make_workdir(tmp_path / "bad")
    config = (workdir / "config.yaml").read_text().replace("variants: all", "variants: some")
    (workdir / "config.yaml").write_text(config)
    result = snakemake(workdir, "--cores", "1", "-n", "all")
    assert result.returncode != 0
    said = result.stdout + result.stderr
    assert "config key consensus/variants: 'some' is not one of ['all', 'snvs']" in said
    assert not (workdir / "results").exists()


def test_robustness_benchmark_worker_reruns_training_on_the_demo(demo, tmp_path):
    """benchmarks/demo_robustness.py's worker, on the demo's stores, under another ISA."""
    out = tmp_path / "run.tsv"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "ATEN_CPU_CAPABILITY": "default"}
    command = [sys.executable, str(ROOT / "benchmarks" / "demo_robustness.py")]
    command += ["--worker", str(demo), "--out", str(out), "--train-seeds", "3"]
    command += ["--models", "nt", "--tiny"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = pd.read_csv(out, sep="\t")
    assert rows["run"].tolist() == ["nt/r", "nt/p", "nt/rp"]
    assert rows["mean_r"].between(-1, 1).all() and (rows["shuffled_p95_mean_r"] < 0.3).all()
    assert not out.with_suffix(".work").exists()  # its scratch models are removed


def test_every_output_records_what_made_it(demo, capsys):
    """One provenance record per output file, with the run's config hash and seed."""
    results = demo / "results"
    outputs = [
        p for p in results.rglob("*")
        # cohorts are made with an overlay config: test_a_cohort_of_the_held_out_... checks them
        if p.is_file()
        and p.parts[len(results.parts)] not in ("logs", "benchmarks", "provenance", "cohorts")
    ]  # fmt: skip
    assert len(outputs) > 60
    config = yaml.safe_load((demo / "config.yaml").read_text())
    for output in outputs:
        record = read_record(output)
        assert record["config_sha256"] == digest(config), output
        assert record["seed"] == config["training"]["seed"] and record["packages"]["torch"]
    assert haplexpr_cli(["provenance", str(results / "training/nt/p/model.pt")]) == 0
    assert "unchanged" in capsys.readouterr().out


KILL_TARGET = "results/training/nt/p/model.pt"


def start_run(workdir: Path, log: Path) -> subprocess.Popen:
    """The README's demo command for one target, in its own process group (to kill all)."""
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE)]
    command += ["--profile", str(LOCAL_PROFILE), "--cores", "2", KILL_TARGET]
    with log.open("a") as out:
        return subprocess.Popen(
            command, cwd=workdir, stdout=out, stderr=out, start_new_session=True
        )


def kill_when(run: subprocess.Popen, ready: Callable[[], bool], log: Path) -> None:
    """SIGKILL the run's whole process group (snakemake and its job) once ``ready()``."""
    deadline = time.monotonic() + 900  # a hang guard, not a timing
    while not ready():
        assert run.poll() is None, (
            "the run ended before the kill point:\n" + log.read_text()[-3000:]
        )
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()


def started(workdir: Path, pattern: str) -> Callable[[], bool]:
    """True once a job's log matching ``pattern`` has a line: its script is at work."""
    return lambda: any(p.stat().st_size > 0 for p in workdir.glob(pattern))


def same_output(ours: Path, theirs: Path) -> bool:
    """Equal content: arrays and weights by value, training logs but for their timings."""
    if ours.suffix == ".npz":
        with np.load(ours) as a, np.load(theirs) as b:
            return sorted(a) == sorted(b) and all(np.array_equal(a[k], b[k]) for k in a)
    if ours.suffix == ".pt":
        a, b = (torch.load(p, weights_only=False)["state_dict"] for p in (ours, theirs))
        return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    if ours.name == "train_log.tsv":
        a, b = (pd.read_csv(p, sep="\t").drop(columns="seconds") for p in (ours, theirs))
        return a.equals(b)
    return ours.read_bytes() == theirs.read_bytes()


def test_a_run_killed_in_consensus_embedding_and_training_resumes_to_the_same_outputs(
    demo, tmp_path
):
    """SIGKILL at three stages, `snakemake --unlock` and the same command (the README's
    recipe) each time: the outputs equal the uninterrupted demo run's (same machine and
    threads), training resumed from its epoch checkpoint, and no temporary file is left."""
    workdir, log = make_workdir(tmp_path / "killed"), tmp_path / "runs.log"
    checkpoint = workdir / "results/training/nt/p/checkpoint.pt"
    stages = [
        started(workdir, "results/logs/sequences/shard*.log"),
        started(workdir, "results/logs/embeddings/nt/shard*.log"),
        checkpoint.exists,  # at least one epoch trained
    ]
    for ready in stages:
        kill_when(start_run(workdir, log), ready, log)
        assert not (workdir / KILL_TARGET).exists()
        assert snakemake(workdir, "--unlock").returncode == 0
    final = start_run(workdir, log)
    assert final.wait(timeout=1800) == 0, log.read_text()[-5000:]
    assert "resuming after epoch" in (workdir / "results/logs/training/nt/p.log").read_text()
    compared = 0
    for folder in ("results/sequences", "results/embeddings/nt", "results/training/nt/p"):
        for ours in sorted((workdir / folder).iterdir()):
            assert same_output(ours, demo / ours.relative_to(workdir)), ours
            compared += 1
    assert compared >= 8
    leftovers = [
        p for p in (workdir / "results").rglob("*")
        if re.match(r"^\..*\.(tmp|scratch)", p.name) or p.suffix == ".part" or p == checkpoint
    ]  # fmt: skip
    assert not leftovers, leftovers
