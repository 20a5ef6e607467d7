"""Provenance: what made each output, recorded when its job finishes, printed on request.

Every rule's script ends with :func:`record_outputs`, which writes one JSON record per
output under ``results/provenance/`` (mirroring the output's path below ``results/``): the
rule and wildcards, the hash of the whole config and of the job's params, the seed, the
versions of the packages that computed it, the haplexpr source commit, the machine, and
the output's size and checksum, so that ``haplexpr provenance FILE`` can also say whether
the file still is the one recorded. A record beside the file formats keeps every output
format as the seed's tools expect it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import subprocess
import time
from pathlib import Path

from haplexpr.atomic import atomic_path
from haplexpr.checksums import file_digest
from haplexpr.runlog import machine_name

#: Distributions whose versions a record names, where installed (each env has a subset).
PACKAGES = (
    "haplexpr", "numpy", "pandas", "pyarrow", "pysam", "numba", "cyvcf2", "scipy",
    "scikit-learn", "matplotlib", "torch", "transformers", "enformer-pytorch",
    "borzoi-pytorch", "evo2", "vtx", "snakemake",
)  # fmt: skip

#: Files up to this size get a SHA-256 in their record; larger ones (embedding shards at
#: study scale) their size and modification time only, to keep the job's end quick.
HASHED_BYTES = 1 << 30


class ProvenanceError(RuntimeError):
    """No record for a file, or a record that cannot be read."""


def digest(data: object) -> str:
    """SHA-256 of a JSON-able value, keys sorted: equal configs hash equal."""
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def file_sha256(path: Path) -> str | None:
    """SHA-256 of a file's bytes, or None above :data:`HASHED_BYTES`."""
    if path.stat().st_size > HASHED_BYTES:
        return None
    return file_digest(path)


def package_versions() -> dict[str, str]:
    """Installed versions of :data:`PACKAGES` (absent ones left out)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def source_commit() -> str | None:
    """The git commit of the checkout that ran, ``-dirty`` if edited (None outside git)."""
    try:
        result = subprocess.run(
            ["git", "-C", str(Path(__file__).parent), "describe", "--always", "--dirty",
             "--abbrev=40"],
            capture_output=True, text=True, timeout=10,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def record_path(output: str | Path) -> Path:
    """Where an output's record lives: ``results/provenance/<path below results>.json``."""
    output = Path(output)
    parts = output.parts
    if "results" not in parts:
        raise ProvenanceError(f"{output} is not under a results/ folder; no provenance there")
    at = len(parts) - 1 - parts[::-1].index("results")
    return Path(*parts[: at + 1], "provenance", *parts[at + 1 :]).with_name(output.name + ".json")


def make_record(output: Path, job: dict, config: dict) -> dict:
    """The record of one finished output (see the module docstring)."""
    stat = output.stat()
    return {
        "output": str(output),
        "rule": job["rule"],
        "wildcards": job["wildcards"],
        "config_sha256": digest(config),
        "params_sha256": digest(job["params"]),
        "seed": config["training"]["seed"],
        "packages": package_versions(),
        "python": platform.python_version(),
        "haplexpr_commit": source_commit(),
        "machine": machine_name(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "bytes": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "sha256": file_sha256(output),
    }


def record_outputs(snakemake) -> list[Path]:
    """Write the record of every output of a finished Snakemake job; return their paths."""
    job = {
        "rule": snakemake.rule,
        "wildcards": dict(snakemake.wildcards.items()),
        "params": dict(snakemake.params.items()),
    }
    written = []
    for output in map(Path, snakemake.output):
        record = make_record(output, job, snakemake.config)
        with atomic_path(record_path(output)) as tmp:
            tmp.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
        written.append(record_path(output))
    return written


def read_record(output: str | Path) -> dict:
    """The record of ``output``; ProvenanceError if there is none."""
    path = record_path(output)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ProvenanceError(
            f"no provenance record for {output} (expected {path}): it was not made by a"
            " finished pipeline job, or its record was removed"
        ) from None
    except json.JSONDecodeError as error:
        raise ProvenanceError(f"{path}: not a provenance record ({error})") from error


def still_recorded(output: str | Path, record: dict) -> str:
    """``unchanged``, or how the file differs from what its record describes."""
    output = Path(output)
    if not output.exists():
        return "missing: the file is gone"
    stat = output.stat()
    if stat.st_size != record["bytes"]:
        return f"changed: {stat.st_size} bytes, recorded {record['bytes']}"
    if record["sha256"] is not None:
        same = file_sha256(output) == record["sha256"]
        return "unchanged" if same else "changed: its SHA-256 differs from the record's"
    return "unchanged" if stat.st_mtime_ns == record["mtime_ns"] else "changed: rewritten since"


def describe(output: str | Path) -> str:
    """The text ``haplexpr provenance`` prints for one file."""
    record = read_record(output)
    wildcards = "".join(f" {k}={v}" for k, v in record["wildcards"].items())
    lines = [
        f"{output}: {still_recorded(output, record)}",
        f"  made by rule {record['rule']}{wildcards} on {record['created']}",
        f"  config sha256 {record['config_sha256']}, params sha256 {record['params_sha256']}",
        f"  seed {record['seed']}, haplexpr commit {record['haplexpr_commit'] or 'unknown'}",
        f"  python {record['python']} on {record['machine']}",
        "  packages: " + ", ".join(f"{k} {v}" for k, v in sorted(record["packages"].items())),
    ]
    return "\n".join(lines)
