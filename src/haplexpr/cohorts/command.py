"""``haplexpr predict``: one run's predictions for a cohort, through the pipeline's own rules.

The cohort is one named in the config or one given by its VCF URL list and sample list
(written to an overlay config in ``.snakemake/haplexpr``); the config is checked first, then
Snakemake makes ``results/cohorts/<cohort>/<model>/<strategy>.tsv`` with whatever it needs
(the cohort's VCF checks and sequences, the trained model if missing), so the result is the
one ``snakemake cohorts`` would write.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from haplexpr.cohorts.tables import GENE_COLUMNS
from haplexpr.config import cohort_runs
from haplexpr.errors import ConfigError

#: Where ad-hoc cohorts' overlay configs are written (beside the checked-table cache).
OVERLAY_DIR = Path(".snakemake/haplexpr")


@dataclass(frozen=True)
class PredictRequest:
    """What ``haplexpr predict`` was asked: a run, a cohort, and how to run Snakemake."""

    model: str
    strategy: str
    cohort: str
    configfiles: list[str]
    vcf_urls: str | None = None
    samples: str | None = None
    snakefile: str = "Snakefile"
    profile: str | None = None
    cores: int = 1


def overlay(request: PredictRequest) -> list[str]:
    """The config files Snakemake reads: the request's, plus an ad-hoc cohort's overlay."""
    if request.vcf_urls is None and request.samples is None:
        return list(request.configfiles)
    if request.vcf_urls is None or request.samples is None:
        raise ConfigError("haplexpr predict: give both --vcf-urls and --samples (or neither)")
    OVERLAY_DIR.mkdir(parents=True, exist_ok=True)
    path = OVERLAY_DIR / f"cohort_{request.cohort}.yaml"
    entry = {"vcf_urls": request.vcf_urls, "samples": request.samples}
    path.write_text(yaml.safe_dump({"cohorts": {request.cohort: entry}}))
    return [*request.configfiles, str(path)]


def check_request(request: PredictRequest, config: dict) -> None:
    """The cohort and run exist in the checked config; else name the choices."""
    if request.cohort not in config["cohorts"]:
        raise ConfigError(
            f"no cohort {request.cohort!r} in the config (cohorts: "
            f"{sorted(config['cohorts']) or 'none'}); add it under cohorts: or give "
            "--vcf-urls and --samples"
        )
    runs = cohort_runs(config)
    if (request.model, request.strategy) not in runs:
        raise ConfigError(
            f"{request.model}/{request.strategy} is not a run a cohort can be predicted by; "
            f"choose one of {', '.join(f'{m}/{s}' for m, s in runs)}"
        )


def snakemake_command(request: PredictRequest, configfiles: list[str], target: str) -> list[str]:
    """The Snakemake call that makes ``target`` (the profile's settings, else local cores)."""
    command = [sys.executable, "-m", "snakemake", "--snakefile", request.snakefile]
    if request.profile:
        command += ["--profile", request.profile]
    command += ["--cores", str(request.cores), target, "--configfile", *configfiles]
    return command


def run_prediction(request: PredictRequest, configfiles: list[str], output: str | None) -> str:
    """Make the run's table for the cohort; copy it to ``output``; one summary line."""
    started = time.monotonic()
    target = f"results/cohorts/{request.cohort}/{request.model}/{request.strategy}.tsv"
    result = subprocess.run(snakemake_command(request, configfiles, target), check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"snakemake stopped (exit {result.returncode}) making {target}; its log names the "
            "job that failed (results/logs/cohorts/...)"
        )
    table = pd.read_csv(target, sep="\t")
    if output:
        shutil.copyfile(target, output)
    individuals = table.shape[1] - len(GENE_COLUMNS)
    return (
        f"{request.model}/{request.strategy} predicted {len(table)} genes "
        f"({int(table['usable'].sum())} usable) x {individuals} individuals of cohort "
        f"{request.cohort} in {time.monotonic() - started:.0f} s -> {output or target}"
    )
