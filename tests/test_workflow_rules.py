"""Contracts of the rule files: resources from one source, envs that hold what scripts import."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support import ROOT
from support.pipeline_runs import make_workdir, snakemake

from haplexpr.models.registry import ARCHITECTURES

GPU_RULES = {
    "embeddings_compute",
    "training_s2f",
    "training_tower",
    "predictions_s2f",
    "predictions_zero_shot",
    "predictions_tower",
    "effects_s2f",
    "effects_tower",
}


def sections(block: str) -> dict[str, str]:
    """A rule block's sections (``input``, ``resources``, ...) -> their text."""
    return dict(re.findall(r"(?m)^    (\w+):(.*\n(?:        .*\n|\n(?=        ))*)", block))


def rule_blocks() -> dict[str, str]:
    """Rule name -> its text, from every ``rules/*.smk`` (snakefmt-formatted).

    ``use rule BASE as NAME with:`` gives the base's text with NAME's sections laid over
    it, as Snakemake does.
    """
    blocks, derived = {}, {}
    for path in sorted((ROOT / "rules").glob("*.smk")):
        for block in re.split(r"(?m)^(?=rule |use rule )", path.read_text()):
            if match := re.match(r"rule (\w+):", block):
                blocks[match.group(1)] = block
            elif match := re.match(r"use rule (\w+) as (\w+) with:", block):
                derived[match.group(2)] = (match.group(1), block)
    while derived:  # a base may itself be derived: resolve bases first
        name = next(n for n, (base, _) in derived.items() if base in blocks)
        base, block = derived.pop(name)
        merged = {**sections(blocks[base]), **sections(block)}
        blocks[name] = f"rule {name}:\n" + "".join(f"    {k}:{v}" for k, v in merged.items())
    return blocks


def dry_run_jobs(workdir: Path) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """(rule, wildcards, resources) of every job of a dry run of ``all``."""
    result = snakemake(workdir, "-n", "--cores", "4", "all")
    assert result.returncode == 0, result.stderr[-3000:]

    def fields(job: str, name: str) -> dict[str, str]:
        line = re.search(rf"(?m)^    {name}: (.+)$", job)
        return dict(item.split("=", 1) for item in line.group(1).split(", ")) if line else {}

    jobs = re.split(r"(?m)^rule ", result.stdout + result.stderr)[1:]
    return [
        (job.split(":", 1)[0], fields(job, "wildcards"), fields(job, "resources")) for job in jobs
    ]


def test_every_rule_gets_its_resources_from_one_source(tmp_path):
    """CPU rules: their own mem_mb and runtime; GPU rules: haplexpr.cluster_resources."""
    blocks = rule_blocks()
    assert GPU_RULES <= set(blocks), GPU_RULES - set(blocks)
    jobs = {name: b for name, b in blocks.items() if "script:" in b or "shell:" in b}
    assert len(jobs) >= 13, sorted(jobs)
    for name, block in jobs.items():
        section = re.search(r"(?m)^    resources:\n((?:        .*\n)+)", block).group(1)
        sized_as = re.fullmatch(r'\*\*gpu_resources\("(\w+)"\),', section.strip())
        if name in GPU_RULES:
            assert sized_as and sized_as.group(1) == name, name
        elif sized_as:  # a cohort's job, sized by the study's rule for its workload
            assert name.startswith("cohorts_") and sized_as.group(1) in GPU_RULES, name
        else:
            assert section.lstrip().startswith("**cpu_resources(),"), name
            assert "mem_mb=" in section and "runtime=" in section and "gpu" not in section
    cluster = {
        "account": "lab", "partition": "cpu", "gpu_partition": "gpuq",
        "gpu_model": {"enformer": "h200"}, "runtime_margin": 2.0, "max_runtime": 2880,
    }  # fmt: skip
    submitted = dry_run_jobs(make_workdir(tmp_path, {"cluster": cluster}))
    assert {"training_s2f", "vcf_index", "embeddings_compute"} <= {rule for rule, _, _ in submitted}
    for rule, wildcards, resources in submitted:
        if rule not in jobs:  # target rules (all, ...) run no job
            continue
        assert resources["slurm_account"] == "lab", rule
        assert int(resources["mem_mb"]) >= 500 and int(resources["runtime"]) >= 15, rule
        if rule in GPU_RULES:
            assert resources["gpu"] == "1" and resources["slurm_partition"] == "gpuq", rule
            assert int(resources["cpus_per_gpu"]) >= 1, rule
            named = "h200" if wildcards["model"] == "enformer" else ""
            assert resources.get("gpu_model") == named, (rule, wildcards)
        else:
            assert "gpu" not in resources and resources["slurm_partition"] == "cpu", rule


def test_the_slurm_profile_does_not_repeat_the_rules_resources():
    """One source: a second set in the profile silently replaced the rules' values."""
    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    assert "set-resources" not in profile
    assert {"mem_mb", "runtime"} <= set(profile["default-resources"])


def test_every_job_rule_names_a_conda_env_that_exists():
    """A rule's env is a file under envs/, or embedding_env's choice (Evo2's own env)."""
    common = (ROOT / "rules" / "common.smk").read_text()
    chooser = re.search(r"(?ms)^def embedding_env\(wildcards\):\n(.*?)\n\n", common).group(1)
    chosen = set(re.findall(r'"\.\./(envs/\w+\.yaml)"', chooser))
    assert chosen == {"envs/evo2.yaml", "envs/glm.yaml"}
    for name, block in rule_blocks().items():
        if "script:" not in block and "shell:" not in block:
            continue
        env = re.search(r"(?m)^    conda:\n        (.+)$", block)
        assert env, f"rule {name} has no conda env"
        value = env.group(1).strip()
        files = chosen if value == "embedding_env" else {value.strip('"').removeprefix("../")}
        for file in files:
            assert (ROOT / file).is_file(), (name, file)


#: Rules whose script loads model architectures, and the family it loads (training.py and
#: predictions.py also serve the towers, which read stored embeddings and load no gLM).
LOADS_MODELS = {
    "training_s2f": "s2f", "predictions_s2f": "s2f", "predictions_zero_shot": "s2f",
    "embeddings_compute": "glm", "effects_s2f": "s2f", "effects_tower": "glm",
}  # fmt: skip


def top_level_imports(path: Path, everywhere: bool) -> set[str]:
    """Absolute imports of a module: its top-level statements, or ``everywhere`` in it."""
    tree = ast.parse(path.read_text())
    statements = list(ast.walk(tree)) if everywhere else _module_level(tree.body)
    found = set()
    for node in statements:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module)
    return found


def _module_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """Statements run on import: the body and its if/try blocks, not function bodies."""
    out = []
    for node in body:
        out.append(node)
        if isinstance(node, (ast.If, ast.Try)):
            blocks = [node.body, node.orelse, getattr(node, "finalbody", [])]
            blocks += [handler.body for handler in getattr(node, "handlers", [])]
            for block in blocks:
                out += _module_level(block)
    return out


def haplexpr_files(module: str) -> list[Path]:
    """The files importing ``module`` runs: it and every package above it."""
    parts, files = module.split("."), []
    for depth in range(2, len(parts) + 1):
        base = ROOT / "src" / Path(*parts[:depth])
        files += [f for f in (base.with_suffix(".py"), base / "__init__.py") if f.is_file()]
    return files


def third_party_imports(start: list[Path], models: list[Path] = ()) -> set[str]:
    """Top-level packages outside the standard library that importing ``start`` needs.

    Follows haplexpr's own imports. Function-level imports count only in what the loaded
    ``models`` modules reach (a model imports its packages when it loads, e.g. peft for
    LoRA); what only the script reaches counts its module-level imports.
    """
    seen, needed = set(), set()
    todo = [(path, False) for path in start] + [(path, True) for path in models]
    while todo:
        path, model_code = todo.pop()
        if (path, model_code) in seen:
            continue
        seen.add((path, model_code))
        for module in top_level_imports(path, model_code):
            top = module.split(".")[0]
            if top == "haplexpr":
                todo += [(file, model_code) for file in haplexpr_files(module)]
            elif top not in sys.stdlib_module_names:
                needed.add(top)
    return needed


def env_packages(env: Path) -> set[str]:
    """Canonical names of what an env file installs (conda and pip)."""
    names = set()
    for dep in yaml.safe_load(env.read_text())["dependencies"]:
        for spec in dep["pip"] if isinstance(dep, dict) else [dep]:
            names.add(canonical(re.split(r"[=<> ]", spec.strip())[0]))
    return names


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def distribution(package: str) -> str:
    """The distribution that installs an import name (``sklearn`` -> ``scikit-learn``)."""
    known = importlib.metadata.packages_distributions()
    names = known.get(package) or {"vortex": ["vtx"]}.get(package) or [package]
    return canonical(names[0])


def rule_envs_and_scripts() -> list[tuple[str, Path, Path, list[str]]]:
    """(rule, env file, script, architectures its script loads) for every script rule.

    ``embeddings_compute`` appears once per env ``embedding_env`` picks (Evo2's own).
    """
    out = []
    for name, block in rule_blocks().items():
        script = re.search(r'(?m)^    script:\n        "\.\./(.+)"', block)
        if not script:
            continue
        env = re.search(r"(?m)^    conda:\n        (.+)$", block).group(1).strip()
        family = LOADS_MODELS.get(name)
        loads = [a for a in ARCHITECTURES.values() if a.family == family]
        if env == "embedding_env":
            evo2 = [a for a in loads if a.name == "evo2"]
            out.append((name, ROOT / "envs/evo2.yaml", ROOT / script.group(1), evo2))
            loads, env = [a for a in loads if a.name != "evo2"], '"../envs/glm.yaml"'
        out.append((name, ROOT / env.strip('"').removeprefix("../"), ROOT / script.group(1), loads))
    return out


@pytest.mark.parametrize(
    ("rule", "env", "script", "loads"),
    rule_envs_and_scripts(),
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_each_rules_env_installs_what_its_script_imports(rule, env, script, loads):
    """A package missing from an env fails only on a cluster, in that rule's job: find it here."""
    models = [file for a in loads for file in haplexpr_files(a.module)]
    needed = third_party_imports([script], models)
    missing = {distribution(p) for p in needed} - env_packages(env) - {"haplexpr"}
    assert not missing, f"rule {rule}: {env.name} lacks {sorted(missing)} ({script.name})"


def test_the_snakefiles_start_up_imports_no_torch():
    """Every ``haplexpr`` module the rule files import loads without torch (seconds per DAG)."""
    modules = sorted(
        {
            match
            for path in [ROOT / "Snakefile", *(ROOT / "rules").glob("*.smk")]
            for match in re.findall(r"(?m)^from (haplexpr[\w.]*) import", path.read_text())
        }
    )
    assert modules, "no haplexpr import found in the rule files"
    code = "; ".join(f"import {m}" for m in modules) + "; import sys; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    assert result.stdout.strip() == "False", f"{modules} import torch"
