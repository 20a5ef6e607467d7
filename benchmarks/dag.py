"""How big is the full study's DAG, and how long does Snakemake take to build it? Measure it.

Builds the full-study configuration (``config/geuvadis.yaml``: 22 Geuvadis VCFs, hs37d5 by
URL, all five models x r, p, rp, Enformer zero-shot, the elastic net) over a faked
partition table of ``--individuals`` individuals (``--test`` of them held out) and
``--genes`` genes, ``--seen-genes`` of them for individual-level training, in a
temporary folder, and runs ``snakemake -n all`` there. Nothing is downloaded or computed.
The defaults are the seed's design at a realistic size: 462 individuals (100 held out),
15,000 genes (a fifth held out), 200 seen. Prints the jobs per rule, the dry run's wall
time (start-up, config and table checks, DAG; a first run reading the CSV, a second the
cached table) against the target of under 10 s on 2 cores, and the plan
(:mod:`haplexpr.plan`) of the design as the pipeline runs it, beside the plan had every
gene been embedded and predicted for everyone, jobs unsplit (as before issue 26).

    python benchmarks/dag.py [--individuals 462] [--test 100] [--genes 15000]
        [--seen-genes 200] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from haplexpr.runlog import machine_name  # noqa: E402
from haplexpr.stage_costs import format_plan, plan  # noqa: E402
from haplexpr.study.design import Study  # noqa: E402
from haplexpr.vcf.sources import parse_url_list  # noqa: E402


def fake_study(folder: Path, individuals: int, test: int, genes: int, seen: int) -> dict:
    """Write a partition table and lists in the seed's formats; return the data paths."""
    rng = np.random.default_rng(0)
    samples = [f"NA{n:05d}" for n in range(individuals)]
    names = [f"ENSG{n:011d}" for n in range(genes)]
    chroms = rng.integers(1, 23, genes)
    tss = rng.integers(1_000_000, 40_000_000, genes)
    split = np.where(rng.random(genes) < 0.8, "train", "test")
    seen_genes = [g for g, s in zip(names, split, strict=True) if s == "train"][:seen]
    table = pd.DataFrame(
        {
            "split": np.repeat(split, individuals + 1),
            "sample": np.tile(["ref", *samples], genes),
            "gene": np.repeat(names, individuals + 1),
            "chr": np.repeat([f"chr{c}" for c in chroms], individuals + 1),
            "TSS": np.repeat(tss, individuals + 1),
            "strand": np.repeat(rng.choice(["+", "-"], genes), individuals + 1),
            "log_TPM": rng.normal(3, 1, genes * (individuals + 1)).round(4),
        }
    )
    paths = {
        "partition_table": folder / "all_partition_data.csv.gz",
        "train_individuals": folder / "train_indivs.txt",
        "test_individuals": folder / "test_indivs.txt",
        "individual_genes": folder / "random_genes.txt",
    }
    table.to_csv(paths["partition_table"], index=False)
    paths["train_individuals"].write_text("\n".join(samples[test:]) + "\n")
    paths["test_individuals"].write_text("\n".join(samples[:test]) + "\n")
    paths["individual_genes"].write_text("\n".join(seen_genes) + "\n")
    return {key: str(path) for key, path in paths.items()}


def job_counts(output: str) -> dict[str, int]:
    """Snakemake's dry-run job-stats table as {rule: jobs}."""
    table = output.split("Job stats:")[1].split("Reasons:")[0]
    return {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"^(\w+)\s+(\d+)$", table, flags=re.MULTILINE)
        if m.group(1) != "total"
    }


class EveryGeneStudy(Study):
    """The study as planned before issue 26: every gene embedded and predicted for everyone."""

    def reference_genes(self) -> list[str]:
        """Every gene of the table."""
        return self.genes["gene"].tolist()

    individual_prediction_genes = reference_genes


def vcf_sources(config: dict) -> list:
    """The chromosomes whose VCFs the config's URL list names."""
    data = config["data"]
    urls = parse_url_list(
        data["vcf_urls"], data["vcf_chromosome_pattern"], data["vcf_unmatched_urls"]
    )
    return urls.sources


def plans(config: dict, chromosomes: int) -> tuple[str, str]:
    """The plan as the pipeline runs it and as it was with every gene for everyone."""
    study = Study.from_config(config)
    before = EveryGeneStudy(**{f.name: getattr(study, f.name) for f in fields(Study)})
    # before, jobs were never split to fit the cluster: one Evo2 individual alone now would not
    unsplit = {**config, "cluster": {**config["cluster"], "max_runtime": 10**9}}
    return (
        format_plan(plan(config, study, chromosomes)),
        format_plan(plan(unsplit, before, chromosomes)),
    )


def main() -> None:
    """Fake the inputs, dry-run `all`, print jobs per rule and the time taken."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--individuals", type=int, default=462)
    parser.add_argument("--test", type=int, default=100)
    parser.add_argument("--genes", type=int, default=15000)
    parser.add_argument("--seen-genes", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="haplexpr-dag-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        config = yaml.safe_load((REPO / "config" / "geuvadis.yaml").read_text())
        config["data"].update(
            fake_study(folder, args.individuals, args.test, args.genes, args.seen_genes),
            vcf_urls=str(REPO / config["data"]["vcf_urls"]),
        )
        config["cluster"].update(account="", partition="", gpu_partition="")  # defaults
        (folder / "geuvadis.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        shutil.copy(REPO / "config.yaml", folder / "config.yaml")
        seconds = []
        for _ in range(2):  # the first reads the CSV; the second the cached, checked table
            started = time.perf_counter()
            result = subprocess.run(
                [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
                 "--configfile", "geuvadis.yaml", "-n", "--cores", "2", "all"],
                cwd=folder, capture_output=True, text=True,
            )  # fmt: skip
            seconds.append(time.perf_counter() - started)
            if result.returncode:
                raise SystemExit(result.stderr[-3000:])
        counts = job_counts(result.stdout + result.stderr)
        after, before = plans(config, chromosomes=len(vcf_sources(config)))
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    realistic = "a realistic table" if args.genes >= 15_000 else "FEWER than 15,000 genes"
    print(
        f"{machine_name()}; full study, {args.individuals} individuals ({args.test} held out),"
        f" {args.genes} genes ({args.seen_genes} seen): {realistic}"
    )
    for rule, jobs in sorted(counts.items(), key=lambda item: -item[1]):
        print(f"{rule:<22} {jobs:>5}")
    print(
        f"{'total':<22} {sum(counts.values()):>5} jobs; dry run {seconds[0]:.1f} s, again"
        f" {seconds[1]:.1f} s (table cached) (target < 10 s; load average"
        f" {os.getloadavg()[0]:.1f})"
    )
    print("\nPlan: what the design uses (haplexpr plan)")
    print(after)
    print("\nPlan before issue 26: every gene embedded and predicted for everyone")
    print(before)


if __name__ == "__main__":
    main()
