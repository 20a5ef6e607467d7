"""The demo's stages through a real single-node SLURM cluster via ``profiles/slurm``."""

from __future__ import annotations

import pytest
import yaml
from support.pipeline_runs import SNAKEFILE, make_workdir, primary_metrics
from support.slurm_cluster import run_snakemake_on_slurm

pytestmark = pytest.mark.slurm

# One job per stage family, a GPU rule among them: download, normalise, check+index, the
# reference windows and one shard of personal haplotypes, embeddings (the reference's shard),
# tower training (GPU), the genotype baseline and its metrics.
TARGETS = [
    "results/metrics/elastic_net/p.tsv",
    "results/training/nt/r/model.pt",
    "results/sequences/shard000.haplotypes.npz",
]


def request(job) -> str:
    """What a job asked SLURM for, as the controller recorded it from sbatch."""
    fields = job.fields
    cpus = f"{fields.get('NumCPUs', '?')} (per GPU: {fields.get('CpusPerTres', 'none')})"
    return (
        f"{job.rule}: partition {job.partition}, gres {job.gres or 'none'}, cpus {cpus},"
        f" memory {fields.get('MinMemoryNode', '?')}, time limit {fields.get('TimeLimit', '?')}"
    )


def test_demo_targets_run_through_sbatch(slurm_cluster, tmp_path, capsys):
    cluster = {"partition": "main", "gpu_partition": "main"}  # through the config's block
    workdir = make_workdir(
        tmp_path / "work", {"embeddings": {"individuals_per_job": 1}, "cluster": cluster}
    )
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["models"]["nt"]["gpus"] = 2  # 2 gloo ranks under torchrun, sbatch --gpus=2
    # the request and the ranks are what this test checks, not the fit: 3 epochs, not 20
    config["models"]["nt"]["training"] = {"epochs": 3}
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    result = run_snakemake_on_slurm(
        workdir,
        TARGETS,
        snakefile=SNAKEFILE,
        timeout=1800,  # a hang guard, not a timing
    )
    assert result.returncode == 0, result.stderr[-6000:] + "\n" + slurm_cluster.diagnostics()
    for target in TARGETS:
        assert (workdir / target).exists(), target
    row = primary_metrics(workdir, "elastic_net/p")
    assert row["mean_r"] > row["shuffled_p95_mean_r"] + 0.3
    jobs = slurm_cluster.jobs()
    rules = {job.rule for job in jobs}
    expected = {
        "vcf_download", "vcf_normalise", "vcf_index", "sequences_reference", "sequences_consensus",
        "embeddings_compute", "training_tower", "predictions_elastic_net", "metrics_evaluate",
    }  # fmt: skip
    assert expected <= rules, rules
    assert all(job.state == "COMPLETED" for job in jobs if job.rule in expected)
    gpu_jobs = {job.rule for job in jobs if "gpu" in job.gres}
    assert {"embeddings_compute", "training_tower"} <= gpu_jobs
    assert "vcf_index" not in gpu_jobs
    shown = {job.rule: request(job) for job in jobs if job.rule in ("training_tower", "vcf_index")}
    with capsys.disabled():  # into the CI log: the exact requests of a GPU and a CPU rule
        print("\nSLURM requests as submitted:\n  " + "\n  ".join(shown.values()))
    assert "gres none" in shown["vcf_index"] and "gpu:2" in shown["training_tower"]
    log = (workdir / "results/logs/training/nt/r.log").read_text()
    assert "2 rank(s)" in log  # trained by torchrun's two ranks
