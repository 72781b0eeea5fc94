"""The Sweep page with ``BNN_RAY_ADDRESS`` naming a real two-node Ray cluster (the ``ray_cluster`` fixture): a grid
beyond the page's local limit runs there, with progress, without blocking the server, and Cancel frees the cluster."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from bnn_core import RunConfig, train_run
from bnn_core.config import DataConfig, ModelConfig, TrainConfig
from bnn_core.data.datasets import load_builtin
from tests.engine.test_sweep_cluster import node_ids, ray_nodes
from tests.support.apptest import page
from ui import state
from ui.views import sweep

pytestmark = pytest.mark.slow

TINY = RunConfig(data=DataConfig(dataset="two_moons"), model=ModelConfig(hidden=(8,)), train=TrainConfig(epochs=100),
                 samples=20)  # fmt: skip


def _wait(condition: Callable[[], bool], seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def _start(at: AppTest, sigmas: str, weights: str, seeds: str) -> sweep._Job:
    """Fill the page's sweep form and press Run; the session's job."""
    for widget, value in zip(at.text_input, (sigmas, weights, "mean", seeds), strict=True):
        widget.set_value(value)
    at.button[0].click().run()
    assert not at.error, [e.value for e in at.error]
    return at.session_state[sweep.JOB]


def test_the_page_runs_a_grid_beyond_its_local_limit_on_the_cluster(ray_cluster, monkeypatch) -> None:
    monkeypatch.setenv(sweep.RAY_ADDRESS, ray_cluster.address)
    at = page("sweep", **{state.RUN: train_run(load_builtin("two_moons"), TINY)})
    job = _start(at, "0.1:1:6", "1e-3:1:10", "0")  # 60 cells: beyond the 50 the page runs itself
    _wait(lambda: job.done >= 2)
    started = time.perf_counter()
    at.run()  # the page reruns while the cluster trains: nothing on this server waits for the sweep
    assert time.perf_counter() - started < 5 and not at.exception
    assert any("on the Ray cluster" in m.value and "of 60 cells" in m.value for m in at.markdown)
    _wait(lambda: job.finished)
    at.run()
    table, _ = at.session_state[sweep.OWN]
    assert len(table) == 60 and set(table["status"]) == {"ok"}
    assert set(ray_nodes(table)) == node_ids(ray_cluster)


def test_cancel_stops_a_cluster_sweep_and_frees_the_cluster(ray_cluster, monkeypatch) -> None:
    import ray

    monkeypatch.setenv(sweep.RAY_ADDRESS, ray_cluster.address)
    at = page("sweep", **{state.RUN: train_run(load_builtin("two_moons"), TINY)})
    job = _start(at, "0.01:10:10", "1e-4:1:10", "0-1")  # 200 cells
    _wait(lambda: job.done >= 1)
    at.button(key="sweep_cancel").click().run()
    assert sweep.JOB not in at.session_state and not at.exception
    _wait(lambda: job.finished, 120)
    assert job.done < 200 and job.error is None and sweep.OWN not in at.session_state
    _wait(lambda: ray.available_resources().get("CPU", 0) == 2, 120)  # the queued cells were cancelled
