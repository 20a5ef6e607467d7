"""Tests for haplexpr.cluster_resources: each GPU job's SLURM request and wall-time limit from
measured step times, the study and the recipe."""

from __future__ import annotations

import math

import pytest
import yaml
from snakemake_executor_plugin_slurm.utils import set_gres_string
from snakemake_executor_plugin_slurm_jobstep import get_cpu_setting
from support import ROOT

from haplexpr import plan
from haplexpr.cluster_resources import (
    GPU_REQUEST_KEYS,
    MEASURED_S2F,
    ClusterSettings,
    check_limits,
    cpu_request,
    gpu_request,
    job_gpu_seconds,
    runtime_minutes,
    s2f_gpu_seconds,
    seconds_per_example,
)
from haplexpr.plan import seconds_per_window


def settings(**chosen) -> ClusterSettings:
    values = dict(
        account="",
        partition="",
        gpu_partition="",
        gpu_model={},
        runtime_margin=2.0,
        max_runtime=2880,
    )
    return ClusterSettings(**(values | chosen))


class Resources(dict):
    """A job's resources as the plugin reads them: ``get`` and attributes."""

    __getattr__ = dict.get


class Job:
    def __init__(self, resources: dict, threads: int):
        self.resources, self.threads = Resources(resources), threads


def test_seconds_per_example_is_the_measured_step_at_a_measured_length():
    row = MEASURED_S2F["enformer"][0]
    assert seconds_per_example("enformer", row.input_length, "train") == pytest.approx(
        row.train_seconds / row.batch
    )
    assert seconds_per_example("enformer", row.input_length, "predict") == pytest.approx(
        row.predict_seconds / row.batch
    )


def test_shorter_inputs_scale_down_from_the_next_longer_measurement():
    short, native = MEASURED_S2F["enformer"]
    half = seconds_per_example("enformer", short.input_length // 2, "train")
    assert half == pytest.approx(short.train_seconds / short.batch / 2)
    between = seconds_per_example("enformer", 100_000, "train")  # scaled from the native row
    assert between == pytest.approx(native.train_seconds / native.batch * 100_000 / 196_608)
    beyond = seconds_per_example("borzoi", 2 * 524_288, "predict")  # past the longest: linear
    longest = MEASURED_S2F["borzoi"][-1]
    assert beyond == pytest.approx(2 * longest.predict_seconds / longest.batch)


def test_training_seconds_count_every_epoch_and_its_validation():
    train = seconds_per_example("borzoi", 64_000, "train")
    predict = seconds_per_example("borzoi", 64_000, "predict")
    got = s2f_gpu_seconds("borzoi", 64_000, "train", 1000, epochs=3, validation_examples=100)
    assert got == pytest.approx(3 * (1000 * train + 100 * predict))
    assert s2f_gpu_seconds("borzoi", 64_000, "predict", 1000) == pytest.approx(1000 * predict)


def test_runtime_adds_the_margin_and_start_up_in_whole_minutes():
    assert runtime_minutes(3600, 2.0) == 120 + plan.OVERHEAD_MINUTES
    assert runtime_minutes(61, 1.0) == 2 + plan.OVERHEAD_MINUTES


def test_job_seconds_follow_the_study_and_the_models_own_recipe(demo_config, demo_study):
    config = {**demo_config, "models": {**demo_config["models"]}}
    config["models"]["borzoi"] = {**config["models"]["borzoi"], "training": {"epochs": 3}}
    examples = len(demo_study.training_examples("p"))
    validation = round(examples * config["training"]["validation_fraction"])
    length = config["models"]["borzoi"]["input_length"]
    expected = s2f_gpu_seconds("borzoi", length, "train", examples - validation, 3, validation)
    assert job_gpu_seconds(config, demo_study, "training_s2f", "borzoi", "p") == expected
    items = len(demo_study.prediction_items())
    assert job_gpu_seconds(config, demo_study, "predictions_s2f", "borzoi", "p") == pytest.approx(
        items * seconds_per_example("borzoi", length, "predict")
    )
    # Towers: embedding reads per epoch; embeddings: the shard's windows x s per window.
    nt = config["models"]["nt"]
    epochs = config["training"]["tower"]["epochs"]
    reads = epochs * examples * 2 * plan.bytes_per_window(nt, "models.nt")
    assert job_gpu_seconds(config, demo_study, "training_tower", "nt", "p") == pytest.approx(
        reads / plan.TOWER_READ_BYTES_PER_SECOND
    )
    shard = plan.EmbeddingShard(("reference", demo_study.individuals[0]))
    windows = len(demo_study.reference_genes()) + 2 * len(demo_study.individual_prediction_genes())
    assert job_gpu_seconds(
        config, demo_study, "embeddings_compute", "nt", "", shard
    ) == pytest.approx(windows * plan.seconds_per_window(nt))


def test_effect_jobs_ask_for_their_planned_forward_passes(demo_config, demo_study):
    """One window per pass; the plan's worst case, capped by effects.max_forward_passes."""
    config = {**demo_config, "effects": {**demo_config["effects"], "max_forward_passes": 10**9}}
    effects = config["effects"]
    v, i = effects["max_variants_per_gene"], effects["max_individuals"]
    genes = len(demo_study.individual_genes)
    plan = genes * (1 + v + 2 * i * (1 + v))
    length = config["models"]["enformer"]["input_length"]
    per_window = seconds_per_example("enformer", length, "predict") / 2
    seconds = job_gpu_seconds(config, demo_study, "effects_s2f", "enformer", "p")
    assert seconds == pytest.approx(plan * per_window)
    tower = job_gpu_seconds(config, demo_study, "effects_tower", "nt", "p")
    assert tower == pytest.approx(plan * seconds_per_window(config["models"]["nt"]))
    effects["max_forward_passes"] = plan // 3
    seconds = job_gpu_seconds(config, demo_study, "effects_s2f", "enformer", "p")
    assert seconds == pytest.approx(plan // 3 * per_window)
    effects["max_variants_per_gene"] = None  # no worst case: the limit alone
    assert job_gpu_seconds(config, demo_study, "effects_s2f", "enformer", "p") == seconds


def test_a_gpu_request_reaches_sbatch_as_the_plugin_writes_it():
    """The plugin's own option builders turn our request into --gpus and --cpus-per-gpu."""
    chosen = settings(
        account="lab", partition="cpu", gpu_partition="gpu", gpu_model={"enformer": "h200"}
    )
    request = gpu_request(chosen, "training_s2f", "enformer", 3600.0)
    assert tuple(request) == GPU_REQUEST_KEYS
    assert request["runtime"] == runtime_minutes(3600.0, 2.0)
    assert request["slurm_partition"] == "gpu" and request["slurm_account"] == "lab"
    job = Job(request | {"cpus_per_gpu": 4}, threads=4)
    assert set_gres_string(job).strip() == "--gpus=h200:1"
    assert get_cpu_setting(job, gpu=True) == "--cpus-per-gpu=4"
    other = gpu_request(chosen, "training_s2f", "borzoi", 3600.0)  # no type named: any GPU
    assert set_gres_string(Job(other, 4)).strip() == "--gpus=1"


def test_a_training_job_on_several_gpus_asks_for_them_and_divides_its_time():
    chosen = settings(gpu_model={"enformer": "h200"})
    one = gpu_request(chosen, "training_s2f", "enformer", 36_000.0)
    four = gpu_request(chosen, "training_s2f", "enformer", 36_000.0, gpus=4)
    assert four["runtime"] == runtime_minutes(9_000.0, 2.0) < one["runtime"]
    assert four["mem_mb"] == 4 * one["mem_mb"]  # host memory for every rank
    job = Job(four | {"cpus_per_gpu": 4}, threads=4)
    assert set_gres_string(job).strip() == "--gpus=h200:4"
    assert get_cpu_setting(job, gpu=True) == "--cpus-per-gpu=4"


def test_cpu_rules_ask_no_gpu():
    chosen = settings(partition="cpu")
    cpu_job = Job({"mem_mb": 2000, **cpu_request(chosen)}, threads=1)
    assert set_gres_string(cpu_job) == ""
    assert get_cpu_setting(cpu_job, gpu=False) == "--cpus-per-task=1"


def test_start_up_says_the_glm_limits_are_estimates(demo_config, demo_study):
    notes = check_limits(demo_config, demo_study)
    assert len(notes) == 1 and "estimated seconds per window" in notes[0]


def test_the_full_study_asks_at_least_the_measured_time(demo_config):
    """Geuvadis' p run for Enformer: the seed's 50 individuals x 200 genes x 40 epochs."""
    epochs = yaml.safe_load((ROOT / "config" / "geuvadis.yaml").read_text())["training"]["s2f"][
        "epochs"
    ]
    seconds = s2f_gpu_seconds("enformer", 64_000, "train", 8500, epochs, 1500)
    assert 3 < seconds / 3600 < 5  # docs/cluster.md: 3.5 GPU-h for Enformer p on the seed's lists
    assert runtime_minutes(seconds, 2.0) >= math.ceil(seconds / 60)
