"""Contracts of the rule files themselves: every rule carries its resources, in one place."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
GPU_RULES = {
    "embeddings_compute",
    "train_s2f",
    "train_tower",
    "predict_s2f",
    "predict_zero_shot",
    "predict_tower",
}


def rule_blocks() -> dict[str, str]:
    """Rule name -> its text, from every ``rules/*.smk`` (snakefmt-formatted)."""
    blocks = {}
    for path in sorted((REPO / "rules").glob("*.smk")):
        for block in re.split(r"(?m)^(?=rule )", path.read_text()):
            match = re.match(r"rule (\w+):", block)
            if match:
                blocks[match.group(1)] = block
    return blocks


def resources(block: str) -> dict[str, str]:
    """The ``resources:`` keywords of one rule."""
    section = re.search(r"(?m)^    resources:\n((?:        .*\n)+)", block)
    assert section, "no resources"
    return dict(re.findall(r"(?m)^        (\w+)=([^,\n]+),", section.group(1)))


def test_every_rule_sets_memory_and_time_and_gpu_rules_ask_for_one():
    blocks = rule_blocks()
    assert GPU_RULES <= set(blocks), GPU_RULES - set(blocks)
    jobs = {name: b for name, b in blocks.items() if "script:" in b or "shell:" in b}
    assert len(jobs) >= 13, sorted(jobs)
    for name, block in jobs.items():
        given = resources(block)
        assert int(given["mem_mb"]) >= 500 and int(given["runtime"]) >= 15, name
        assert (given.get("gpu") == "1") == (name in GPU_RULES), name


def test_the_slurm_profile_does_not_repeat_the_rules_resources():
    """One source: a second set in the profile silently replaced the rules' values."""
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    assert "set-resources" not in profile
    assert {"mem_mb", "runtime"} <= set(profile["default-resources"])


def test_every_job_rule_names_a_conda_env_that_exists():
    """A rule's env is a file under envs/, or embedding_env's choice (Evo2's own env)."""
    common = (REPO / "rules" / "common.smk").read_text()
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
            assert (REPO / file).is_file(), (name, file)
