"""docs/seed.md's deviation table and config/seed.yaml say the same, and the overlay works.

The table's last column names, per deviation, the keys (written `key: value`) that give the
seed's behaviour back; the overlay must set exactly those, to those values, and pass the
start-up checks over the demo's config and over config/geuvadis.yaml.
"""

from __future__ import annotations

import copy
import re

import pytest
import yaml
from support import ROOT

from haplexpr.cli import main as haplexpr_cli
from haplexpr.config import merge_configs, validate_config

SEED_DOC = ROOT / "docs" / "seed.md"
OVERLAY = ROOT / "config" / "seed.yaml"
TABLE_HEADING = "## Every deviation, and the key that undoes it"
SETTING = re.compile(r"`([A-Za-z0-9_.]+): ([^`]+)`")


def table_rows() -> list[list[str]]:
    """The deviation table's body rows, as lists of cells."""
    text = SEED_DOC.read_text()
    lines = text[text.index(TABLE_HEADING) :].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| area |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def flatten(mapping: dict, prefix: str = "") -> dict[str, object]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    flat = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def table_settings() -> dict[str, object]:
    """Every `key: value` of the table's last column, flattened; a key named twice agrees."""
    settings: dict[str, object] = {}
    for row in table_rows():
        for key, value in SETTING.findall(row[-1]):
            nested: dict = {}
            merge_configs(nested, yaml.safe_load(f"{key}: {value}"))
            for name, setting in flatten(nested).items():
                assert settings.setdefault(name, setting) == setting, (name, row[0])
    return settings


def overlay() -> dict:
    return yaml.safe_load(OVERLAY.read_text())


def test_the_table_has_a_row_per_deviation_with_five_cells():
    rows = table_rows()
    assert len(rows) >= 20
    assert all(len(row) == 5 and all(row) for row in rows), [r for r in rows if len(r) != 5]


def test_the_overlay_sets_exactly_the_keys_the_table_names():
    assert flatten(overlay()) == table_settings()


def test_every_table_row_without_a_key_says_why():
    for row in table_rows():
        if not SETTING.search(row[-1]) and "precomputed_root" not in row[-1]:
            assert row[-1].startswith("— ("), row


def test_the_overlay_runs_the_demo_past_the_start_up_checks(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert haplexpr_cli(["check", "--configfile", "config/seed.yaml"]) == 0
    assert capsys.readouterr().out.startswith("config.yaml + config/seed.yaml: inputs pass")


def test_the_overlay_over_the_full_study_is_the_seeds_study():
    base = yaml.safe_load((ROOT / "config.yaml").read_text())
    study = yaml.safe_load((ROOT / "config" / "geuvadis.yaml").read_text())
    merged = merge_configs(merge_configs(base, study), overlay())
    for key in ("partition_table", "train_individuals", "test_individuals", "individual_genes"):
        merged["data"][key] = f"/seed/data/{key}"
    for key in ("account", "partition", "gpu_partition"):
        merged["cluster"][key] = "main"
    validate_config(merged)
    flat = flatten(merged)
    for key, value in flatten(overlay()).items():
        assert flat[key] == value, key
    # The overlay changes behaviour only: the study's sizes and rates stay the seed's.
    assert merged["consensus"]["window_length"] == 64_000
    assert merged["models"]["nt"]["input_length"] == 11_000
    assert merged["models"]["nt"]["layer"] == 20
    assert merged["training"]["s2f"]["learning_rate"] == 1e-6
    assert merged["training"]["tower"]["epochs"] == 40


def test_an_overlay_key_that_is_not_the_configs_fails_the_checks(tmp_path, monkeypatch, capsys):
    """A typo in the overlay is caught, not silently ignored."""
    broken = copy.deepcopy(overlay())
    broken["training"]["tower"]["schedul"] = "seed"
    path = tmp_path / "seed.yaml"
    path.write_text(yaml.safe_dump(broken))
    monkeypatch.chdir(ROOT)
    assert haplexpr_cli(["check", "--configfile", str(path)]) == 1
    assert "schedul" in capsys.readouterr().err


@pytest.mark.parametrize("key", ["consensus.unphased", "training.tower.schedule"])
def test_the_table_names_the_issues_headline_keys(key):
    assert key in table_settings()
