"""Shared pytest fixtures for haplexpr.

The test modules mirror the library: ``test_<module>.py`` for a top-level module
(``test_config.py``, ``test_atomic.py``), ``test_<subpackage>_<module>.py`` for a module
of a subpackage (``test_study_design.py``, ``test_vcf_check.py``, ``test_sequences_kernel.py``
with ``test_consensus_parity.py``, ``test_training_loop.py``). The workflow itself is tested
by ``test_workflow_rules.py``, ``test_pipeline_demo.py``, ``test_pipeline_slurm.py``,
``test_bad_inputs.py`` (with ``test_bad_inputs_startup.py`` and ``test_bad_inputs_cli.py``:
the bad-input catalogue), ``test_pins.py`` and ``test_benchmarks.py``; helpers live in
``support/``.

``scripts/test.sh`` runs the suite on two pytest-xdist workers (``-n 2 --dist loadfile
--no-loadscope-reorder``): each file on one worker (its module fixtures built once), the
SLURM files together, the longest end-to-end files first (the hooks below).
"""

import os

import pytest
from support import ROOT
from support.pipeline_runs import copy_demo_workdir
from support.slurm_cluster import SlurmCluster

#: Files that share one session fixture and so one xdist worker: the SLURM cluster's daemons
#: listen on fixed ports, two clusters at a time would collide.
SHARED_WORKER = {"test_slurm_cluster.py": "test_pipeline_slurm.py"}
#: The longest files (minutes, each one Snakemake run or more), started first under xdist so
#: that the short files fill the other worker meanwhile instead of waiting at the end.
LONGEST_FIRST = (
    "test_pipeline_demo.py",
    "test_pipeline_slurm.py",
    "test_slurm_cluster.py",
    "test_pipeline_realdata.py",
    "test_pipeline_seed.py",
)

if os.environ.get("PYTEST_XDIST_WORKER"):
    import torch

    # Two workers share the cores: one torch thread each, not two apiece contending for them.
    torch.set_num_threads(1)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile``, with the files of ``SHARED_WORKER`` counted as one file.

    (xdist's own ``loadgroup`` marks have no effect with pytest 9.2, whose node ids they
    cannot rewrite.)
    """
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedFileScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid):
            path = super()._split_scope(nodeid)
            folder, _, name = path.rpartition("/")
            return f"{folder}/{SHARED_WORKER.get(name, name)}"

    return SharedFileScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    """On xdist's workers, the files of ``LONGEST_FIRST`` first (the scheduler keeps the order
    with ``--no-loadscope-reorder``); elsewhere pytest's own order."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        rank = {name: at for at, name in enumerate(LONGEST_FIRST)}
        items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: else as is


@pytest.fixture
def fake(monkeypatch):
    """A stand-in gLM (each window's one-hot bases) for every embedder the library loads."""
    from support.embedding_shards import OneHotEmbedder

    from haplexpr.embeddings import computed

    embedder = OneHotEmbedder()
    monkeypatch.setattr(computed, "load_embedder", lambda config, device: embedder)
    return embedder


@pytest.fixture(scope="module")
def demo_config():
    """The demo's config.yaml, validated (one per test module: copy it before changing it)."""
    from haplexpr.config import load_config

    return load_config(ROOT / "config.yaml")


@pytest.fixture(scope="module")
def demo_study(demo_config):
    """The demo's study (tables and lists read once per test module)."""
    from haplexpr.study.design import Study

    return Study.from_config(demo_config, root=ROOT)


@pytest.fixture
def workdir(tmp_path):
    """A working directory with its own copy of the demo data, free to be corrupted."""
    return copy_demo_workdir(tmp_path)


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """A running single-node SLURM cluster (partition ``main``, two fake GPUs) for the session.

    Skips when it cannot run here (not root, slurm-wlm/munge missing); with
    ``HAPLEXPR_REQUIRE_SLURM=1`` (CI) that is a failure instead. The daemons are stopped at the
    end of the session, also when tests fail.
    """
    reason = SlurmCluster.skip_reason()
    if reason is not None:
        if os.environ.get("HAPLEXPR_REQUIRE_SLURM") == "1":
            pytest.fail(f"HAPLEXPR_REQUIRE_SLURM=1 but {reason}")
        pytest.skip(reason)
    # Advertise more than this machine has: the profile asks up to 32 GB and the GPU rules
    # 4 CPUs per job, as on a real cluster node.
    with SlurmCluster(
        tmp_path_factory.mktemp("slurm-cluster"), cpus=8, memory_mb=64000, gpus=2
    ) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def shared_store(tmp_path_factory):
    """A real store whose haplotypes are alike in places (``SHARED_SNVS``), and the reference."""
    from support.haplotype_stores import SHARED_SAMPLES, SHARED_SNVS, build_two_gene_store

    return build_two_gene_store(tmp_path_factory.mktemp("shared"), SHARED_SNVS, SHARED_SAMPLES)


@pytest.fixture(scope="session")
def hand_inputs(tmp_path_factory):
    """The hand-applied variants' reference and VCFs (``support.hand_applied``)."""
    from support.hand_applied import write_inputs

    return write_inputs(tmp_path_factory.mktemp("hand-inputs"))


@pytest.fixture(scope="session", params=["fast", "bcftools"])
def hand_store_dir(request, hand_inputs, tmp_path_factory):
    """The hand-applied variants' reference and haplotype stores, built by either engine."""
    from support.hand_applied import build_stores

    out = tmp_path_factory.mktemp(f"hand-store-{request.param}")
    scratch = tmp_path_factory.mktemp("hand-scratch")
    return build_stores(*hand_inputs, request.param, out, scratch)


@pytest.fixture(scope="session")
def hand_store(hand_store_dir):
    """The ``HaplotypeStore`` of ``hand_store_dir`` (samples S and T)."""
    from support.hand_applied import open_store

    return open_store(hand_store_dir)


@pytest.fixture(scope="session")
def hand_sample(hand_store):
    """Sample S of ``hand_store``, addressed by (gene, haplotype)."""
    from support.hand_applied import SAMPLE, SampleView

    return SampleView(hand_store, SAMPLE)
