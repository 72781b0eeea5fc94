"""The "Inside the network" page through AppTest: the prior's pictures follow the σ₀ slider, and the weights
section draws and states the engine's numbers, for a classification run and a regression run."""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from bnn_core import NetworkSpec, RunConfig, TrainConfig, TrainedRun, feature_grid, load_builtin, train_run
from bnn_core.posterior.weights import PRIOR_MAPS, PRIOR_RESOLUTION, layer_weights, prior_map, weight_counts
from tests.support.apptest import charts, page
from ui import state

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60


@pytest.fixture(scope="module")
def cubic_run() -> TrainedRun:
    return train_run(load_builtin("cubic"), RunConfig(train=TrainConfig(epochs=300), samples=20))


def _page(run: TrainedRun) -> AppTest:
    return page("inside_network", **{state.RUN: run})


def _values(cell: dict | list) -> np.ndarray:
    """An array from a figure's JSON: a list, or plotly's typed array (base64 ``bdata``, with a ``shape`` if 2-D)."""
    if not isinstance(cell, dict):
        return np.asarray(cell, dtype=np.float64)
    values = np.frombuffer(base64.b64decode(cell["bdata"]), dtype=np.dtype(cell["dtype"]))
    return values.reshape([int(n) for n in cell["shape"].split(",")]) if "shape" in cell else values


def _slider_key(run: TrainedRun) -> str:
    return f"inside_sigma:{run.config.model.prior_sigma:g}"


def test_the_page_draws_the_prior_maps_and_every_layers_histograms_for_iris(quick_run: TrainedRun) -> None:
    at = _page(quick_run)
    assert not at.exception and not at.error
    assert [tab.label for tab in at.tabs][:2] == ["Before training: the prior", "After training: the weights"]
    assert at.select_slider(key=_slider_key(quick_run)).value == quick_run.config.model.prior_sigma
    shown = charts(at)
    for k in range(PRIOR_MAPS):
        heat = shown[f"Prior draw #{k}"]["data"][0]
        assert heat["type"] == "heatmap" and _values(heat["z"]).shape == (PRIOR_RESOLUTION, PRIOR_RESOLUTION)
    assert [tab.label for tab in at.tabs][2:] == ["layer 1 (4 → 100)", "layer 2 (100 → 3)"]
    for layer in ("layer 1", "layer 2"):
        assert {f"{layer}: means μ", f"{layer}: spreads σ", f"{layer}: signal to noise"} <= set(shown)
    layers = layer_weights(quick_run.model)
    kl = shown["KL to the prior"]["data"][0]
    np.testing.assert_allclose(_values(kl["y"]), [layer.kl for layer in layers])
    counts = weight_counts(layers, 0.0, 0.1)
    reading = next(m.value for m in at.markdown if m.value.startswith("**How to read it.**"))
    assert f"**{counts.low_snr:,} of 803** have |μ|/σ < 1" in reading
    assert f"**{counts.kept_width:,} of 803**" in reading and f"**{counts.switched_off:,}**" in reading


def test_moving_sigma_redraws_the_prior_maps_from_the_engine(quick_run: TrainedRun) -> None:
    at = _page(quick_run)
    before = _values(charts(at)["Prior draw #0"]["data"][0]["z"])
    at.select_slider(key=_slider_key(quick_run)).set_value(3.0).run()
    assert not at.exception
    after = _values(charts(at)["Prior draw #0"]["data"][0]["z"])
    assert not np.array_equal(before, after)
    spec = replace(NetworkSpec.of(quick_run.model), prior_sigma=3.0)
    grid = feature_grid(quick_run.data, 0, 1, resolution=PRIOR_RESOLUTION)
    expected = prior_map(spec, quick_run.data, grid, PRIOR_MAPS, quick_run.config.seed)
    np.testing.assert_array_equal(after, expected.predicted[0])
    assert "N(0, 3²)" in at.caption[0].value and "Computed in" in at.caption[0].value
    assert at.session_state[state.RUN] is quick_run  # only the picture changed, not the run


def test_a_regression_run_shows_prior_functions_that_follow_sigma(cubic_run: TrainedRun) -> None:
    at = _page(cubic_run)
    assert not at.exception and not at.error
    figure = charts(at)["Functions drawn from the prior, before any training"]
    lines = [trace for trace in figure["data"] if trace["mode"] == "lines"]
    assert len(lines) == 20
    before = _values(lines[0]["y"])
    at.select_slider(key=_slider_key(cubic_run)).set_value(0.1).run()  # the run's own σ₀ is 1
    assert not at.exception
    figure = charts(at)["Functions drawn from the prior, before any training"]
    after = _values(next(trace for trace in figure["data"] if trace["mode"] == "lines")["y"])
    assert not np.allclose(before, after)
    assert "layer 1: means μ" in charts(at) and at.tabs[2].label == "layer 1 (1 → 100)"


def test_the_page_is_in_the_apps_navigation() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("app_pages/inside_network.py").run()
    assert not at.exception and not at.error
    assert at.title[0].value == "Inside the network"
    assert "Prior draw #0" in charts(at)
