"""Starting data-parallel training: the rule's job handed to torchrun's ranks.

The Snakemake rule's script cannot reach torchrun's children (its ``snakemake`` object
lives in one process): :func:`launch` writes what the ranks need to a JSON file and runs
``python -m torch.distributed.run ... -m haplexpr.training.torchrun <file>``; each rank
runs :func:`main` (the ranks' collectives: :mod:`haplexpr.training.distributed`).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from haplexpr.training.distributed import start

log = logging.getLogger(__name__)


def launch(job: dict, gpus: int, work_dir: Path, log_path: str | Path) -> None:
    """Run :func:`main` on ``gpus`` ranks under torchrun; their output goes to ``log_path``.

    ``job`` holds :func:`haplexpr.training.runs.train_run`'s arguments as JSON values plus
    ``threads`` (each rank's CPU threads). Fails naming the log if any rank fails.
    """
    job_file = Path(work_dir) / "ranks.json"
    job_file.write_text(json.dumps(job))
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={gpus}",
        "-m",
        "haplexpr.training.torchrun",
        str(job_file),
    ]
    log.info("%d ranks: %s", gpus, " ".join(command))
    with open(log_path, "a") as output:
        done = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, check=False)
    job_file.unlink()
    if done.returncode != 0:
        raise RuntimeError(
            f"training on {gpus} ranks failed (exit status {done.returncode}); the ranks'"
            f" errors are in {log_path}"
        )


def main(job_file: str) -> None:
    """One rank of a :func:`launch`: join the group, train, leave."""
    from haplexpr.runlog import configure
    from haplexpr.study.design import Study
    from haplexpr.training.runs import model_inputs, train_run

    job = json.loads(Path(job_file).read_text())
    config = job["config"]
    ranks = start(config["training"]["device"])
    # rank 0's messages reach the rule's log (launch appends stderr there); others' warnings
    configure(level=logging.INFO if ranks.leader else logging.WARNING)
    torch.set_num_threads(job["threads"])
    try:
        train_run(
            Study.from_config(config),
            config,
            job["model"],
            job["strategy"],
            job["out_dir"],
            model_inputs(job["inputs"]),
            init_weights=job["init_weights"],
        )
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
