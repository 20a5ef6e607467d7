"""Helpers for end-to-end tests: a scratch working directory that runs the real workflow.

The working directory holds a copy of ``config.yaml`` and a link to the repository's
``data/`` (or, for tests that corrupt inputs, a copy of the demo data); ``results/`` is
created there, so tests never touch the checkout's results.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

from haplexpr.metrics.evaluation import primary_row
from support import ROOT

SNAKEFILE = ROOT / "Snakefile"
LOCAL_PROFILE = ROOT / "profiles" / "local"


def make_workdir(path: Path, overrides: dict | None = None) -> Path:
    """Prepare ``path`` for the demo configuration, with ``{section: {key: value}}`` changes."""
    path.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "config.yaml", path / "config.yaml")
    if overrides:
        config = yaml.safe_load((path / "config.yaml").read_text())
        for section, values in overrides.items():
            config[section].update(values)
        (path / "config.yaml").write_text(yaml.safe_dump(config))
    (path / "data").symlink_to(ROOT / "data", target_is_directory=True)
    return path


def copy_demo_workdir(path: Path) -> Path:
    """A working directory with its own copy of the demo data and config, free to be corrupted."""
    shutil.copytree(ROOT / "data" / "demo", path / "data" / "demo")
    shutil.copy(ROOT / "config.yaml", path / "config.yaml")
    return path


def edit_config(workdir: Path, edit) -> None:
    """Apply ``edit(config)`` (in place) to ``workdir``'s config.yaml."""
    path = workdir / "config.yaml"
    config = yaml.safe_load(path.read_text())
    edit(config)
    path.write_text(yaml.safe_dump(config))


def file_listing(root: Path) -> list[str]:
    """Every file under ``root`` (hidden ones too) but Snakemake's own state, relative names."""
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and ".snakemake" not in p.relative_to(root).parts
    )


def snakemake(workdir: Path, *args: str, timeout: float = 2400) -> subprocess.CompletedProcess:
    """Run snakemake on the repository's Snakefile in ``workdir``; output captured.

    ``timeout`` only guards against a hang: the demo's `all` takes 6-16 minutes on 2-core
    machines, longer with ``ATEN_CPU_CAPABILITY=default`` or a busy CPU.
    """
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE), *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def primary_metrics(workdir: Path, run: str) -> pd.Series:
    """Held-out individuals x seen genes row of one run's metrics summary."""
    return primary_row(pd.read_csv(workdir / "results" / "metrics" / f"{run}.tsv", sep="\t"))
