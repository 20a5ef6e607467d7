"""Shared pytest fixtures for haplexpr."""

import os

import pytest
from support.slurm_cluster import SlurmCluster


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """A running single-node SLURM cluster (partition ``main``, one fake GPU) for the session.

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
    with SlurmCluster(tmp_path_factory.mktemp("slurm-cluster"), cpus=8, memory_mb=64000) as cluster:
        yield cluster
