"""haplexpr.provenance: each output's record of what made it, and the CLI that prints it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from snakemake.iocontainers import Namedlist

from haplexpr import provenance
from haplexpr.cli import main as haplexpr_cli
from haplexpr.provenance import (
    ProvenanceError,
    digest,
    read_record,
    record_outputs,
    record_path,
    still_recorded,
)

CONFIG = {"training": {"seed": 7, "device": "cpu"}, "models": {"nt": {"enabled": True}}}


def finished_job(folder: Path, *outputs: str) -> SimpleNamespace:
    """What a Snakemake script sees as ``snakemake`` once its outputs are written."""
    paths = [folder / "results" / name for name in outputs]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"content of {path.name}\n")
    return SimpleNamespace(
        rule="training_tower",
        wildcards=Namedlist(fromdict={"model": "nt", "strategy": "p"}),
        params=Namedlist(fromdict={"settings": {"lr": 1e-3}}),
        output=Namedlist(toclone=[str(p) for p in paths]),
        config=CONFIG,
    )


def test_records_mirror_the_output_path_below_results():
    assert record_path("results/training/nt/p/model.pt") == Path(
        "results/provenance/training/nt/p/model.pt.json"
    )
    assert record_path("/x/results/a.tsv") == Path("/x/results/provenance/a.tsv.json")
    with pytest.raises(ProvenanceError, match="not under a results/ folder"):
        record_path("elsewhere/model.pt")


def test_a_finished_job_records_config_seed_and_versions_of_every_output(tmp_path):
    job = finished_job(tmp_path, "training/nt/p/model.pt", "training/nt/p/train_log.tsv")
    written = record_outputs(job)
    assert [p.name for p in written] == ["model.pt.json", "train_log.tsv.json"]
    record = read_record(job.output[0])
    assert record["rule"] == "training_tower" and record["wildcards"] == {
        "model": "nt",
        "strategy": "p",
    }
    assert record["config_sha256"] == digest(CONFIG) and record["seed"] == 7
    assert record["params_sha256"] == digest({"settings": {"lr": 1e-3}})
    assert record["packages"]["numpy"] and record["packages"]["haplexpr"]
    assert record["bytes"] == Path(job.output[0]).stat().st_size
    assert still_recorded(job.output[0], record) == "unchanged"
    assert not list(written[0].parent.glob(".*"))  # written atomically, nothing left


def test_the_config_hash_ignores_key_order_but_not_values():
    shuffled = {"models": CONFIG["models"], "training": {"device": "cpu", "seed": 7}}
    assert digest(shuffled) == digest(CONFIG)
    assert digest({**CONFIG, "training": {"seed": 8, "device": "cpu"}}) != digest(CONFIG)


def test_a_changed_or_removed_file_no_longer_matches_its_record(tmp_path, monkeypatch):
    job = finished_job(tmp_path, "a.tsv", "big.npy")
    record_outputs(job)
    small, big = map(Path, job.output)
    small.write_text("content of b.tsv\n")  # same size, other bytes: the checksum tells
    assert "SHA-256 differs" in still_recorded(small, read_record(small))
    monkeypatch.setattr(provenance, "HASHED_BYTES", 4)  # too big to hash: size and mtime
    record_outputs(job)
    assert read_record(big)["sha256"] is None
    os.utime(big, ns=(1, 1))
    assert still_recorded(big, read_record(big)) == "changed: rewritten since"
    big.unlink()
    assert still_recorded(big, read_record(big)) == "missing: the file is gone"


def test_the_cli_prints_a_record_and_names_a_file_without_one(tmp_path, capsys):
    job = finished_job(tmp_path, "training/nt/p/model.pt")
    record_outputs(job)
    assert haplexpr_cli(["provenance", job.output[0]]) == 0
    out = capsys.readouterr().out
    assert f"{job.output[0]}: unchanged" in out and digest(CONFIG) in out and "seed 7" in out
    stray = tmp_path / "results" / "other.tsv"
    stray.write_text("x")
    assert haplexpr_cli(["provenance", str(stray)]) == 1
    assert "no provenance record for" in capsys.readouterr().err
    record_path(stray).write_text("{not json")
    assert haplexpr_cli(["provenance", str(stray)]) == 1
    assert "not a provenance record" in capsys.readouterr().err
    assert json.loads(record_path(job.output[0]).read_text())["rule"] == "training_tower"
