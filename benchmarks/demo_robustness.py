"""Do the demo's findings survive another training seed, dataset and CPU? Measure it.

Reruns the demo's training, prediction and evaluation (the library calls the training
rules make: ``train_run``, ``predict_run``, ``evaluate``) for several training seeds, on
demo datasets regenerated with other data seeds (``make_demo.py --seed``), under PyTorch's
CPU kernel sets (``ATEN_CPU_CAPABILITY``: default, avx2, avx512 where the CPU has them;
``native`` leaves it unset), and prints, per (variant, model, strategy), the minimum and
median of the held-out-individual, seen-gene mean per-gene R, the median and maximum of
the shuffled control's 95th percentile, and whether the margin the test suite asserts
(:data:`haplexpr.demo.dataset.DEMO_MARGINS`) held in every run.

    python benchmarks/demo_robustness.py [--data-seeds 20261125 1 2] [--train-seeds 0 1 2 3 4]
        [--isas native default avx2 avx512] [--grid product|axes] [--models enformer borzoi nt]
        [--variant NAME=JSON ...] [--design NAME="make_demo options" ...]
        [--workdir results/robustness] [--jobs 2] [--tiny]

``--grid product`` runs every combination; ``--grid axes`` varies one factor at a time
around the first data seed, first training seed and first ISA (all training seeds on the
first dataset, every dataset with the first seed, every ISA with the first seed), which
is what fits a 2-core machine in a few hours. ``--variant`` adds a training recipe to
compare, e.g. ``raw='{"target": "raw"}'`` (keys of ``training.<family>``); with ``--grid
axes`` it runs at the base point only. ``--design`` adds a dataset of another design, e.g.
``other="--motif GATAAGCT --effect 0.6 --genes 90 --individuals 60"``: another motif,
effect size and scale, treated like one more data seed. Each run's rows are
written to ``<workdir>/runs/<tag>.tsv`` when complete, so an interrupted benchmark
resumes; the datasets' sequence stores and embeddings are built once by the real workflow
(``snakemake sequences embeddings``). ``--summary-only`` prints the table of the runs
finished so far; ``--tiny`` is a smoke test for the suite.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
ISAS = ("default", "avx2", "avx512")
STRATEGIES = ("r", "p", "rp")


def cpu_isas() -> list[str]:
    """Kernel sets PyTorch can use on this CPU (``ATEN_CPU_CAPABILITY`` values)."""
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    have = {"default": True, "avx2": " avx2" in flags, "avx512": " avx512bw" in flags}
    return [isa for isa in ISAS if have[isa]]


def prepare_dataset(workdir: Path, label: str, demo_options: list[str], tiny: bool) -> Path:
    """A working folder with demo data from ``make_demo.py demo_options``; stores built.

    Runs the real workflow up to the sequence store and the gLM embeddings, plus the
    elastic net's metrics (its result depends on the data only, not on training seeds).
    """
    folder = workdir / label
    done = folder / ".prepared"
    if done.exists():
        return folder
    data = folder / "data" / "demo"
    data.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, str(REPO / "data" / "demo" / "make_demo.py"), "--out", str(data)]
        + demo_options,
        check=True,
    )
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    if tiny:
        config["models"]["borzoi"]["enabled"] = False
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    targets = ["sequences", "embeddings"]
    if config["baselines"]["elastic_net"]["enabled"]:
        targets.append("results/metrics/elastic_net/p.tsv")
    subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
        + ["--profile", str(REPO / "profiles" / "local"), "--cores", "2", *targets],
        cwd=folder,
        check=True,
        capture_output=True,
    )
    done.touch()
    return folder


def run_tag(dataset: str, train_seed: int, isa: str, variant: str) -> str:
    """File-name tag of one run."""
    return f"{dataset}_seed{train_seed}_{isa}_{variant}"


def datasets(args) -> dict[str, list[str]]:
    """Dataset label -> ``make_demo.py`` options: each data seed, then each ``--design``."""
    out = {f"data{seed}": ["--seed", str(seed)] for seed in args.data_seeds}
    for item in args.design:
        name, _, options = item.partition("=")
        out[f"design-{name}"] = shlex.split(options)
    return out


def launch(folder: Path, out: Path, train_seed: int, isa: str, overrides: dict, args) -> None:
    """Run one worker process (own ``ATEN_CPU_CAPABILITY``, one thread) unless done."""
    if out.exists():
        return
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"}
    env.pop("ATEN_CPU_CAPABILITY", None)
    if isa != "native":
        env["ATEN_CPU_CAPABILITY"] = isa
    command = [sys.executable, __file__, "--worker", str(folder), "--out", str(out)]
    command += ["--train-seeds", str(train_seed), "--overrides", json.dumps(overrides)]
    command += ["--models", *args.models] + (["--tiny"] if args.tiny else [])
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{out.name} failed:\n{result.stderr[-3000:]}")
    print(f"done {out.stem}", flush=True)


def worker(folder: Path, out: Path, train_seed: int, overrides: dict, models, tiny) -> None:
    """Train, predict and evaluate every (model, strategy) in ``folder``; write ``out``."""
    import torch

    from haplexpr.atomic import atomic_path
    from haplexpr.config import validate_config
    from haplexpr.metrics.evaluation import EvaluationSettings, evaluate, primary_row
    from haplexpr.models import registry
    from haplexpr.predictions.runs import predict_run
    from haplexpr.sequences.store import HaplotypeStore
    from haplexpr.study.design import Study
    from haplexpr.training.runs import train_run

    torch.set_num_threads(1)
    os.chdir(folder)
    config = yaml.safe_load((REPO / "config.yaml").read_text())  # today's recipe
    config["training"]["seed"] = train_seed
    for family in ("s2f", "tower"):
        config["training"][family].update(overrides)
        if tiny:
            config["training"][family]["epochs"] = 2
    config = validate_config(config)
    study = Study.from_config(config)
    results = Path("results")
    store = HaplotypeStore(
        results / "sequences" / "reference",
        sorted((results / "sequences").glob("shard*.haplotypes.npz")),
    )
    scratch = out.with_suffix(".work")
    rows = []
    for model in models:
        if not config["models"][model]["enabled"]:
            continue
        if registry.family(config["models"][model]) == "s2f":
            inputs = store
        else:
            inputs = sorted((results / "embeddings" / model).glob("shard*.npy"))
        for strategy in STRATEGIES:
            started = time.monotonic()
            run_dir = scratch / model / strategy
            init = scratch / model / "r" / "model.pt" if strategy == "rp" else None
            train_run(study, config, model, strategy, run_dir, inputs, init)
            predictions = run_dir / "predictions.parquet"
            predict_run(study, config, model, strategy, run_dir / "model.pt", predictions, inputs)
            # The control as the pipeline computes it; no per-gene tests or CIs needed here.
            settings = EvaluationSettings(config["evaluation"]["permutations"], 100, 99, seed=0)
            summary, _ = evaluate(pd.read_parquet(predictions), study, settings)
            primary = primary_row(summary)
            log = pd.read_csv(run_dir / "train_log.tsv", sep="\t")
            rows.append(
                {
                    "run": f"{model}/{strategy}",
                    "mean_r": primary["mean_r"],
                    "shuffled_p95_mean_r": primary["shuffled_p95_mean_r"],
                    "kept_epoch": int(log.loc[log["kept"], "epoch"].iloc[0]),
                    "seconds": round(time.monotonic() - started, 1),
                }
            )
    with atomic_path(out) as tmp:
        pd.DataFrame(rows).to_csv(tmp, sep="\t", index=False)
    shutil.rmtree(scratch, ignore_errors=True)


def elastic_net_row(folder: Path) -> dict:
    """The elastic net's held-out seen-gene row of one dataset (no training seed)."""
    from haplexpr.metrics.evaluation import primary_row

    row = primary_row(
        pd.read_csv(folder / "results" / "metrics" / "elastic_net" / "p.tsv", sep="\t")
    )
    return {
        "run": "elastic_net/p",
        "mean_r": row["mean_r"],
        "shuffled_p95_mean_r": row["shuffled_p95_mean_r"],
    }


def grid(args, labels: list[str]) -> list[tuple[str, int, str]]:
    """(dataset, training seed, ISA) combinations to run."""
    if args.grid == "product":
        return list(itertools.product(labels, args.train_seeds, args.isas))
    d0, s0, i0 = labels[0], args.train_seeds[0], args.isas[0]
    combos = [(d0, s, i0) for s in args.train_seeds]
    combos += [(d, s0, i0) for d in labels[1:]]
    combos += [(d0, s0, i) for i in args.isas[1:]]
    return combos


def summarise(frame: pd.DataFrame, margins: dict[str, float]) -> pd.DataFrame:
    """Per (variant, run): spread of R and of the control, and the asserted margin."""
    out = []
    for (variant, run), rows in frame.groupby(["variant", "run"], sort=False):
        gap = rows["mean_r"] - rows["shuffled_p95_mean_r"]
        margin = margins.get(run)
        out.append(
            {
                "variant": variant,
                "run": run,
                "runs": len(rows),
                "min_r": rows["mean_r"].min(),
                "median_r": statistics.median(rows["mean_r"]),
                "median_p95": statistics.median(rows["shuffled_p95_mean_r"]),
                "max_p95": rows["shuffled_p95_mean_r"].max(),
                "min_r_minus_p95": gap.min(),
                "asserted_margin": margin if margin is not None else float("nan"),
                "holds": "" if margin is None else ("yes" if (gap > margin).all() else "NO"),
            }
        )
    return pd.DataFrame(out)


def per_run(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per run (dataset, seed, ISA, variant), one column per individual-level row.

    Shows which dataset or seed is hard; the elastic net has no run tag and is left out.
    """
    frame = frame[frame["run"].str.endswith(("/p", "/rp")) & frame["tag"].notna()]
    gap = frame.assign(gap=frame["mean_r"] - frame["shuffled_p95_mean_r"])
    return gap.pivot_table(index="tag", columns="run", values="gap", sort=False)


def main() -> None:
    """Run the grid (or one worker) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-seeds", type=int, nargs="+", default=[20261125, 1, 2])
    parser.add_argument("--train-seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--isas", nargs="+", default=None, help="default: native + cpu's")
    parser.add_argument("--grid", choices=["product", "axes"], default="product")
    parser.add_argument("--models", nargs="+", default=["enformer", "borzoi", "nt"])
    parser.add_argument("--variant", action="append", default=[], help="NAME=JSON overrides")
    parser.add_argument("--design", action="append", default=[], help="NAME=make_demo options")
    parser.add_argument("--workdir", type=Path, default=REPO / "results" / "robustness")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--tiny", action="store_true", help="smoke test: 1 seed, 2 epochs")
    parser.add_argument(
        "--summary-only", action="store_true", help="print the table of the runs done so far"
    )
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--overrides", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(
            args.worker,
            args.out,
            args.train_seeds[0],
            json.loads(args.overrides),
            args.models,
            args.tiny,
        )
        return
    from haplexpr.demo.dataset import DEMO_MARGINS
    from haplexpr.runlog import machine_name

    args.isas = args.isas or ["native", *cpu_isas()]
    if args.tiny:
        args.data_seeds, args.train_seeds, args.isas = args.data_seeds[:1], [0], ["native"]
        args.design = []
        args.models = [m for m in args.models if m != "borzoi"]
    variants = {"config": {}}
    for item in args.variant:
        name, _, blob = item.partition("=")
        variants[name] = json.loads(blob)
    started = time.monotonic()
    folders = {
        label: prepare_dataset(args.workdir, label, options, args.tiny)
        for label, options in datasets(args).items()
    }
    print(f"datasets ready in {time.monotonic() - started:.0f} s", flush=True)
    runs = args.workdir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    combos = grid(args, list(folders))

    def jobs(name: str, points: list[tuple[int, int, str]]) -> list[tuple[str, tuple]]:
        return [
            (name, (folders[d], runs / f"{run_tag(d, s, isa, name)}.tsv", s, isa, variants[name]))
            for (d, s, isa) in points
        ]

    # every axis of today's recipe first, then each variant (at the base point unless
    # --grid product): an interrupted benchmark has measured the most telling runs
    todo = jobs("config", combos)
    for name in list(variants)[1:]:
        todo += jobs(name, combos if args.grid == "product" else combos[:1])
    if not args.summary_only:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for future in [pool.submit(launch, *job, args) for _, job in todo]:
                future.result()
    done = [(name, job) for name, job in todo if job[1].exists()]
    frames = [
        pd.read_csv(job[1], sep="\t").assign(variant=name, tag=job[1].stem) for name, job in done
    ]
    for folder in folders.values():
        if (folder / "results" / "metrics" / "elastic_net" / "p.tsv").exists():
            frames.append(pd.DataFrame([elastic_net_row(folder)]).assign(variant="config"))
    measured = pd.concat(frames, ignore_index=True)
    table = summarise(measured, DEMO_MARGINS)
    print(
        f"{len(done)} of {len(todo)} runs ({args.grid}: datasets {list(folders)}, training seeds "
        f"{args.train_seeds}, ISAs {args.isas}; variants {list(variants)}) on "
        f"{machine_name()}, "
        f"torch threads 1, {time.monotonic() - started:.0f} s"
    )
    print("held-out individuals, seen genes: mean per-gene R and the shuffled control's p95")
    print(table.to_markdown(index=False, floatfmt=".3f"))
    print("\nper run: mean per-gene R minus the control's p95 (p and rp)")
    print(per_run(measured).to_markdown(floatfmt=".3f"))


if __name__ == "__main__":
    main()
