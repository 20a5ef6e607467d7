"""The profiles as users are told to name them: ``snakemake --profile slurm all`` from the checkout.

Snakemake 9 looks a bare ``--profile NAME`` up as a path first, then under the user's and
the site's config folders, so the checkout's top-level links ``slurm -> profiles/slurm`` and
``local -> profiles/local`` make the short names work there; ``--profile profiles/slurm``
still does. Each is checked by a dry run in a copy of the checkout (links kept as links),
with SLURM's commands replaced by ones that record the call and fail: planning the jobs must
not need a cluster, and nothing may be submitted.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT

SLURM_COMMANDS = ("sbatch", "squeue", "sacct", "scontrol", "sinfo", "scancel", "srun")
COPIED = ("Snakefile", "config.yaml", "rules", "workflow_scripts", "envs", "report", "profiles")
LINKS = {"slurm": "profiles/slurm", "local": "profiles/local"}


def test_profile_links_are_relative_links_into_profiles():
    for name, target in LINKS.items():
        assert (ROOT / name).is_symlink(), f"{name} must be a link committed in git"
        assert os.readlink(ROOT / name) == target
        assert (ROOT / name / "config.yaml").is_file()


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A copy of the checkout's workflow files and profile links, the demo data linked."""
    copy = tmp_path_factory.mktemp("checkout")
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=ignore)
        else:
            shutil.copy(source, copy / name)
    shutil.copytree(ROOT / "src", copy / "src", ignore=ignore)
    for name in LINKS:
        (copy / name).symlink_to(os.readlink(ROOT / name))
    (copy / "data").symlink_to(ROOT / "data", target_is_directory=True)
    return copy


def fake_slurm(folder: Path) -> Path:
    """SLURM commands that append their command line to ``folder/calls`` and fail."""
    folder.mkdir()
    for command in SLURM_COMMANDS:
        script = folder / command
        script.write_text(f'#!/bin/sh\necho "{command} $*" >> "{folder}/calls"\nexit 1\n')
        script.chmod(0o755)
    return folder


@pytest.mark.parametrize("profile", ["slurm", "local", "profiles/slurm"])
def test_the_documented_command_plans_every_job(checkout, tmp_path, profile):
    fake = fake_slurm(tmp_path / "fake_slurm")
    path = os.pathsep.join([str(fake), str(Path(sys.executable).parent), os.environ["PATH"]])
    result = subprocess.run(
        ["snakemake", "--profile", profile, "-n", "all"],  # exactly as the README says
        cwd=checkout,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert f"Using profile {profile} for setting default command line arguments." in out
    total = re.search(r"^total\s+(\d+)$", out, re.MULTILINE)
    assert total and int(total[1]) > 10, out[-4000:]
    assert "This was a dry-run" in out
    calls = (fake / "calls").read_text().splitlines() if (fake / "calls").exists() else []
    # The SLURM executor plugin asks `scontrol show config` for the cluster's limits and
    # copes with its failure; nothing is submitted or queried in a dry run.
    assert set(calls) <= {"scontrol show config"}, calls
    assert not (checkout / "results").exists()
