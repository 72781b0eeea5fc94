"""Shared fixtures: small, quick runs reused across tests, and a two-node Ray cluster for the tests that need one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bnn_core import Dataset, RunConfig, TrainConfig, TrainedRun, load_builtin, train_run


@pytest.fixture(scope="session")
def iris() -> Dataset:
    return load_builtin("iris")


@pytest.fixture(scope="session")
def quick_run(iris: Dataset) -> TrainedRun:
    """A 4→100→3 BNN trained for 300 steps on 80% of iris (about a second)."""
    return train_run(iris, RunConfig(train=TrainConfig(epochs=300), samples=50))


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[object]:
    """A real two-node Ray cluster on this host (``ray.cluster_utils.Cluster``): a head and a worker raylet, one CPU
    each; started once for every test that asks (about 20 s), skipped where Ray is not installed."""
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    yield cluster
    if ray.is_initialized():  # the Sweep page stays connected
        ray.shutdown()
    cluster.shutdown()
