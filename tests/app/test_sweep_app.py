"""The Sweep page through AppTest: the shipped sweep's heatmap, the reduction switch, the landmarks, a grid too big
for the page, and a small sweep of one's own run in the background."""

from __future__ import annotations

import json
import socket
import sys
import time

import pytest
from streamlit.testing.v1 import AppTest

from bnn_core import RunConfig, train_run
from bnn_core.config import DataConfig, ModelConfig, TrainConfig
from bnn_core.data.datasets import load_builtin
from bnn_core.sweep import summarize
from tests.support.apptest import page, read
from ui import state
from ui.figures.sweep import landmarks
from ui.views import sweep


def _page(**session: object) -> AppTest:
    return page("sweep", **session)


def _heatmap(at: AppTest) -> dict:
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    return spec


def test_the_shipped_sweep_is_drawn_as_the_mean_over_seeds() -> None:
    at = _page()
    assert not at.exception and not at.error
    figure = _heatmap(at)
    heat = figure["data"][0]
    table = sweep.shipped_table()
    mean = summarize(table).query("kl_reduction == 'mean'")
    sigmas, weights = sorted(mean["prior_sigma"].unique()), sorted(mean["kl_weight"].unique())
    assert len(heat["y"]) == len(sigmas) and len(heat["x"]) == len(weights)
    cell = mean[(mean["prior_sigma"] == sigmas[2]) & (mean["kl_weight"] == weights[3])].iloc[0]
    seeds = table[(table["kl_reduction"] == "mean") & (table["prior_sigma"] == sigmas[2])
                  & (table["kl_weight"] == weights[3])]["test_accuracy"]  # fmt: skip
    assert cell["test_accuracy_mean"] == pytest.approx(seeds.mean())  # brute force over the seeds
    assert f"range {seeds.min():.3g} to {seeds.max():.3g}" in heat["text"][2][3]
    names = [trace.get("name", "") for trace in figure["data"]]
    assert any(name.startswith("article") for name in names)  # the article's settings use the mean reduction
    assert not any(name.startswith("textbook") for name in names)


def test_the_sum_reduction_shows_the_textbook_marker() -> None:
    at = _page()
    at.segmented_control(key="sweep_reduction").set_value("sum").run()
    names = [trace.get("name", "") for trace in _heatmap(at)["data"]]
    assert any(name.startswith("textbook") for name in names)
    assert "KL weight (sum)" in _heatmap(at)["layout"]["xaxis"]["title"]["text"]


def test_landmarks_are_the_article_and_the_textbook_elbo() -> None:
    marks = landmarks(240)
    assert marks["article"] == (0.1, 0.01, "mean")
    assert marks["textbook"] == (1.0, 1 / 240, "sum")


def test_a_grid_too_big_for_the_page_is_refused_in_one_sentence() -> None:
    at = _page()
    at.text_input[0].set_value("0.01:10:10")
    at.text_input[1].set_value("1e-4:1:10")
    at.button[0].click().run()
    assert not at.exception
    assert any("up to 50 cells, and this grid has 200" in read(e.value) for e in at.error)
    assert sweep.JOB not in at.session_state


def test_a_bad_grid_on_the_page_is_one_sentence() -> None:
    at = _page()
    at.text_input[0].set_value("big")
    at.button[0].click().run()
    assert any("LOW:HIGH:COUNT" in read(e.value) for e in at.error)


def test_your_own_sweep_runs_in_the_background_and_is_shown() -> None:
    config = RunConfig(data=DataConfig(dataset="two_moons"), model=ModelConfig(hidden=(8,)),
                       train=TrainConfig(epochs=200), samples=20)  # fmt: skip
    run = train_run(load_builtin("two_moons"), config)
    at = _page(**{state.RUN: run})
    at.text_input[0].set_value("0.1,1")
    at.text_input[1].set_value("0.01,1")
    at.text_input[3].set_value("0")
    at.button[0].click().run()
    assert not at.error and sweep.JOB in at.session_state
    job = at.session_state[sweep.JOB]
    deadline = time.monotonic() + 120
    while not job.finished and time.monotonic() < deadline:
        time.sleep(0.2)
    at.run()
    table, base = at.session_state[sweep.OWN]
    assert len(table) == 4 and set(table["status"]) == {"ok"} and base.model.hidden == (8,)
    at.run()
    assert at.segmented_control(key="sweep_source").value == "Your sweep"
    assert len(_heatmap(at)["data"][0]["y"]) == 2


def test_with_a_cluster_the_page_takes_grids_beyond_its_local_limit_and_sends_them_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 200-cell grid is not refused for its size: it goes to the cluster, which here answers nowhere."""
    monkeypatch.setenv(sweep.RAY_ADDRESS, "127.0.0.1:9")
    at = _page()
    assert "up to 1,000 cells" in at.expander[0].label
    at.text_input[0].set_value("0.01:10:10")
    at.text_input[1].set_value("1e-4:1:10")
    at.button[0].click().run()
    assert not at.exception and sweep.JOB not in at.session_state
    assert [read(e.value) for e in at.error] == [
        "The sweep could not start: Cannot reach the Ray cluster at '127.0.0.1:9' (Connection refused); start one "
        "with ray start --head, or check the address; the data in use and the model on screen have not changed."
    ]
    at.text_input[0].set_value("0.01:10:40")
    at.text_input[3].set_value("0-2")
    at.button[0].click().run()  # 40 × 10 × 3 = 1,200 cells: too many for the cluster too
    assert any("up to 1,000 cells on the Ray cluster, and this grid has 1,200" in read(e.value) for e in at.error)


def test_without_ray_installed_a_cluster_is_refused_and_a_local_sweep_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what an install without Ray finds
    monkeypatch.setenv(sweep.RAY_ADDRESS, "127.0.0.1:9")
    at = _page()
    at.button[0].click().run()
    assert any("BNN_RAY_ADDRESS is set, but Ray is not installed here" in read(e.value) for e in at.error)
    monkeypatch.delenv(sweep.RAY_ADDRESS)
    config = RunConfig(data=DataConfig(dataset="two_moons"), model=ModelConfig(hidden=(8,)),
                       train=TrainConfig(epochs=100), samples=20)  # fmt: skip
    at = _page(**{state.RUN: train_run(load_builtin("two_moons"), config)})
    for widget, value in zip(at.text_input, ("1", "0.01", "mean", "0"), strict=True):
        widget.set_value(value)
    at.button[0].click().run()
    job = at.session_state[sweep.JOB]
    deadline = time.monotonic() + 120
    while not job.finished and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job.error is None and list(job.result["status"]) == ["ok"]
    assert list(job.result["node"]) == [socket.gethostname()]  # ran in this process
