"""Jobs of a toy workflow go through a real (single-node) SLURM cluster via profiles/slurm."""

import textwrap
import time

import pytest
from support.slurm_cluster import SlurmCluster, run_snakemake_on_slurm

pytestmark = pytest.mark.slurm

SNAKEFILE = textwrap.dedent(
    r"""
    localrules: all

    rule all:
        input: "out/cpu.txt", "out/gpu.txt"

    RECORD = (
        'echo "SLURM_JOB_ID=${{SLURM_JOB_ID:-}}" > {output}; '
        'echo "SLURM_CPUS_PER_TASK=${{SLURM_CPUS_PER_TASK:-}}" >> {output}; '
        'echo "CUDA_VISIBLE_DEVICES=${{CUDA_VISIBLE_DEVICES-<unset>}}" >> {output}'
    )

    rule cpu_job:
        output: "out/cpu.txt"
        threads: 1
        shell: RECORD

    rule gpu_job:
        output: "out/gpu.txt"
        threads: 1
        resources: gpu=1
        shell: RECORD
    """
)


def _read_record(path):
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def test_skip_reason_is_string_or_none():
    reason = SlurmCluster.skip_reason()
    assert reason is None or (isinstance(reason, str) and reason)


def test_toy_workflow_runs_through_slurm(slurm_cluster, tmp_path):
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    start = time.monotonic()
    proc = run_snakemake_on_slurm(tmp_path, ["all"], timeout=100)
    elapsed = time.monotonic() - start
    log = f"--- snakemake stdout\n{proc.stdout}\n--- snakemake stderr\n{proc.stderr}"
    assert proc.returncode == 0, f"{log}\n{slurm_cluster.diagnostics()}"

    cpu = _read_record(tmp_path / "out" / "cpu.txt")
    gpu = _read_record(tmp_path / "out" / "gpu.txt")
    # both ran inside SLURM jobs, as separate jobs
    assert cpu["SLURM_JOB_ID"].isdigit(), cpu
    assert gpu["SLURM_JOB_ID"].isdigit(), gpu
    assert cpu["SLURM_JOB_ID"] != gpu["SLURM_JOB_ID"]
    # cpus_per_task follows the rule's threads (profile default-resources)
    assert cpu["SLURM_CPUS_PER_TASK"] == "1", cpu
    # only the GPU rule got a GPU from SLURM
    assert gpu["CUDA_VISIBLE_DEVICES"] not in ("", "<unset>"), gpu
    assert cpu["CUDA_VISIBLE_DEVICES"] == "<unset>", cpu

    # the scheduler saw both jobs, submitted by the slurm executor (comment rule_<name>)
    jobs = {job.job_id: job for job in slurm_cluster.jobs()}
    for rule, record in (("cpu_job", cpu), ("gpu_job", gpu)):
        job = jobs.get(record["SLURM_JOB_ID"])
        assert job is not None, f"job {record['SLURM_JOB_ID']} unknown to SLURM: {jobs}"
        assert job.rule == rule, job
        assert job.state == "COMPLETED", job
        assert job.partition == "main", job
    assert "gpu" in jobs[gpu["SLURM_JOB_ID"]].gres
    assert "gpu" not in jobs[cpu["SLURM_JOB_ID"]].gres
    assert {cpu["SLURM_JOB_ID"], gpu["SLURM_JOB_ID"]} <= set(
        slurm_cluster.submitted_job_ids_from_log()
    )
    assert elapsed < 90, f"snakemake on SLURM took {elapsed:.0f} s\n{log}"
