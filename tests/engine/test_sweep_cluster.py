"""Sweeps on a real two-node Ray cluster (the ``ray_cluster`` fixture: a head and a worker raylet on this host, one
CPU each): the cells spread over both nodes and give the local table, and a node removed mid-sweep loses no cell."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bnn_core import RunConfig
from bnn_core.cli import main
from bnn_core.config import DataConfig, ModelConfig, TrainConfig
from bnn_core.data.datasets import load_builtin
from bnn_core.sweep import SweepProgress, SweepSpec, ray_cells, read_results, run_sweep

pytestmark = pytest.mark.slow

FLAGS = ["--dataset", "two_moons", "--hidden", "8", "--epochs", "300", "--samples", "20"]
PLACE_AND_TIME = ["train_seconds", "node"]  # the only columns that may differ between two runs of the same cells


def node_ids(cluster: object) -> set[str]:
    """Each live node of ``cluster`` as results.csv names it after the host (its id's first 8 characters)."""
    return {node.node_id[:8] for node in cluster.list_all_nodes()}


def ray_nodes(table: pd.DataFrame) -> list[str]:
    """The Ray node of each row (``host/node``)."""
    return [node.rpartition("/")[2] for node in table["node"]]


def _values(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=PLACE_AND_TIME).sort_values("cell").reset_index(drop=True)


def test_the_cells_spread_over_both_nodes_and_give_the_local_table(ray_cluster, tmp_path: Path) -> None:
    """The command line's --ray with the cluster's address (ray.init(address=...)), against --workers 1."""
    grid = ["--prior-sigma", "0.1,1", "--kl-weight", "0.01,0.1,1"]
    assert main(["sweep", *FLAGS, *grid, "--workers", "1", "--out", str(tmp_path / "local")]) == 0
    assert main(["sweep", *FLAGS, *grid, "--ray", ray_cluster.address, "--out", str(tmp_path / "ray")]) == 0
    local, rayed = read_results(tmp_path / "local"), read_results(tmp_path / "ray")
    assert len(rayed) == 6 and set(rayed["status"]) == {"ok"}
    assert set(ray_nodes(rayed)) == node_ids(ray_cluster)  # both nodes ran cells
    pd.testing.assert_frame_equal(_values(local), _values(rayed), check_exact=True)


def test_a_node_removed_mid_sweep_loses_no_cell(ray_cluster, tmp_path: Path) -> None:
    base = RunConfig(data=DataConfig(dataset="two_moons"), model=ModelConfig(hidden=(8,)),
                     train=TrainConfig(epochs=1500), samples=20)  # fmt: skip
    spec, dataset = SweepSpec(base, (0.1, 1.0), (0.01, 0.1, 1.0, 10.0)), load_builtin("two_moons")
    (worker,) = ray_cluster.worker_nodes
    removed: list[int] = []

    def on_cell(progress: SweepProgress) -> None:
        if not removed:  # the worker is training a cell meanwhile: Ray runs that task again on the head
            ray_cluster.remove_node(worker)
            removed.append(progress.done)

    try:
        table, _ = run_sweep(dataset, spec, tmp_path / "ray", ray_cells(ray_cluster.address), on_cell=on_cell)
    finally:
        ray_cluster.add_node(num_cpus=1)  # two nodes again for the tests after this one
        ray_cluster.wait_for_nodes()
    assert removed == [1] and len(table) == 8 and set(table["status"]) == {"ok"}
    local, _ = run_sweep(dataset, spec, tmp_path / "local")
    pd.testing.assert_frame_equal(_values(local), _values(table), check_exact=True)


def test_a_local_ray_sweep_starts_its_own_runtime_beside_a_cluster_on_this_host(ray_cluster, tmp_path: Path) -> None:
    """--ray local with a cluster already running on the host: Ray's ray.init() would join that cluster and refuse
    num_cpus ("When connecting to an existing cluster, num_cpus and num_gpus must not be provided"); the sweep
    starts a runtime of its own instead."""
    import ray

    if ray.is_initialized():  # an earlier test left this process connected to the cluster
        ray.shutdown()
    grid = ["--prior-sigma", "0.1", "--kl-weight", "0.01,1"]
    assert main(["sweep", *FLAGS, *grid, "--ray", "local", "--out", str(tmp_path / "s")]) == 0
    assert set(read_results(tmp_path / "s")["status"]) == {"ok"}
