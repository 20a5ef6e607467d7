"""requirements.txt holds the project's pins; the conda envs and pyproject.toml agree with it."""

import re
import subprocess
import tomllib
from pathlib import Path

import pysam
import pytest
import yaml
from packaging.requirements import Requirement
from support import ROOT

ENVS = sorted((ROOT / "envs").glob("*.yaml"))
#: Packages only conda installs, and where each one's version comes from.
CONDA_ONLY = {
    "python": lambda: re.search(r">=\s*([\d.]+)", pyproject()["requires-python"]).group(1),
    "pip": None,  # the installer itself: any pin
    "bcftools": lambda: pysam.version.__htslib_version__,  # the one pysam embeds
    "htslib": lambda: pysam.version.__htslib_version__,
}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins() -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line of requirements.txt."""
    found = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            found[canonical(name)] = version
    return found


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def env_pins(path: Path) -> list[tuple[str, str, str]]:
    """``(installer, name, version)`` of each dependency of a conda env file."""
    out = []
    for dep in yaml.safe_load(path.read_text())["dependencies"]:
        if isinstance(dep, dict):
            out += [("pip", *map(str.strip, d.split("=="))) for d in dep["pip"]]
        else:
            name, _, version = dep.partition("=")
            out.append(("conda", name.strip(), version.strip()))
    return out


def test_requirements_pin_every_line_exactly():
    lines = [
        line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
    ]
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[\w.]+", line) for line in lines if line)


@pytest.mark.parametrize("env", ENVS, ids=lambda p: p.stem)
def test_env_pins_equal_the_project_pins(env):
    project = pins()
    for installer, name, version in env_pins(env):
        assert version, f"{env.name}: {name} has no version"
        key = canonical(name)
        if key in CONDA_ONLY:
            expected = CONDA_ONLY[key]() if CONDA_ONLY[key] else version
            assert version == expected, f"{env.name}: {name}={version}, expected {expected}"
            continue
        assert key in project, f"{env.name}: {name} is not pinned in requirements.txt"
        pinned = project[key]
        if installer == "pip":
            assert version == pinned, f"{env.name}: {name}=={version}, requirements {pinned}"
        else:  # conda's `name=2.4` means any 2.4.x
            assert (pinned + ".").startswith(version + "."), (
                f"{env.name}: {name}={version} admits not requirements.txt's {pinned}"
            )


def test_pyproject_dependencies_admit_the_pins():
    project = pins()
    for spec in pyproject()["dependencies"]:
        requirement = Requirement(spec)
        key = canonical(requirement.name)
        assert key in project, f"pyproject.toml: {requirement.name} not pinned in requirements.txt"
        assert requirement.specifier.contains(project[key]), (
            f"pyproject.toml: {spec} excludes requirements.txt's {project[key]}"
        )


def test_every_env_installs_the_project():
    for env in ENVS:
        deploy = env.with_suffix(".post-deploy.sh")
        assert deploy.resolve() == ROOT / "envs" / "install-haplexpr.sh", env.name
        assert any(name == "pip" for _, name, _ in env_pins(env)), f"{env.name}: no pip"


def test_install_script_refuses_a_directory_that_is_not_a_checkout(tmp_path):
    result = subprocess.run(
        ["bash", str(ROOT / "envs" / "install-haplexpr.sh")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert f"{tmp_path} is not a haplexpr checkout" in result.stderr
