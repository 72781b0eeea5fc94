"""Regression in the dashboard through Streamlit's AppTest: train a 1-D set from the sidebar, see its bands and
one sample's function, resample it, draw 30 at once, and find the classification-only pages saying so."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from bnn_core import Dataset, RunConfig, TrainConfig, TrainedRun, load_builtin, train_run
from bnn_core.posterior.regression import axis_grid, coverage_curve, curve_bands, sample_curves
from tests.support.apptest import APP, TIMEOUT, charts, opened, press_train, read
from ui import state
from ui.views.side_by_side import MAX_POINTS


@pytest.fixture(scope="module")
def cubic_run() -> TrainedRun:
    return train_run(load_builtin("cubic"), RunConfig(train=TrainConfig(epochs=300), samples=50))


def _page(run: TrainedRun) -> AppTest:
    return opened(**{state.RUN: run})


def _trace(spec: dict, name_start: str) -> dict:
    return next(trace for trace in spec["data"] if trace.get("name", "").startswith(name_start))


def _values(cell: dict | list) -> np.ndarray:
    """An array from a figure's JSON: a list, or plotly's typed array ({"dtype": "f8", "bdata": base64})."""
    if isinstance(cell, dict):
        return np.frombuffer(base64.b64decode(cell["bdata"]), dtype=np.dtype(cell["dtype"]))
    return np.asarray(cell, dtype=np.float64)


def test_a_regression_set_trains_from_the_sidebar_and_shows_bands_and_metrics() -> None:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    at.selectbox(key=state.DATASET_WIDGET).set_value("sine_gap")
    at.number_input(key="form_epochs").set_value(200)
    press_train(at)
    assert not at.exception and not at.error
    run = at.session_state[state.RUN]
    assert run.task == "regression" and run.config.data.task == "regression" and run.fit.engine == "fast"
    shown = charts(at)
    assert {"Data, mean and uncertainty", "Posterior sample #0"} <= set(shown)
    labels = {metric.label for metric in at.metric}
    assert {"Train RMSE", "Test RMSE", "NLL", "Noise σ", "50% coverage", "90% coverage", "95% coverage"} <= labels


def test_the_bands_chart_draws_what_the_engine_computes(cubic_run: TrainedRun) -> None:
    """The mean line and both bands on screen are the engine's, along an axis reaching past the data."""
    at = _page(cubic_run)
    spec = charts(at)["Data, mean and uncertainty"]
    raw = axis_grid(cubic_run.data, 0)
    bands = curve_bands(cubic_run.model, cubic_run.likelihood, cubic_run.data, raw, 50, cubic_run.config.seed)
    mean = _trace(spec, "mean of")
    np.testing.assert_allclose(_values(mean["x"]), raw[:, 0])
    np.testing.assert_allclose(_values(mean["y"]), bands.mean)
    epistemic = _trace(spec, "epistemic")
    np.testing.assert_allclose(_values(epistemic["y"]), bands.mean + 2 * bands.epistemic)
    total = _trace(spec, "total")
    np.testing.assert_allclose(_values(total["y"]), bands.mean + 2 * bands.total)
    data_x = cubic_run.data.dataset.x[:, 0]
    assert (
        _values(mean["x"]).min() < data_x.min() and _values(mean["x"]).max() > data_x.max()
    )  # the axis reaches past the data
    points = _trace(spec, "train rows")
    assert len(_values(points["x"])) == int((~cubic_run.data.is_test).sum())


def test_resample_draws_the_next_sample_function_and_spaghetti_draws_thirty(cubic_run: TrainedRun) -> None:
    at = _page(cubic_run)
    first = _trace(charts(at)["Posterior sample #0"], "sample #0")
    at.button(key="resample").click().run()
    second = _trace(charts(at)["Posterior sample #1"], "sample #1")
    raw = axis_grid(cubic_run.data, 0)
    expected = sample_curves(cubic_run.model, cubic_run.data, raw, 0, 2, cubic_run.config.seed)
    np.testing.assert_allclose(_values(first["y"]), expected[0])
    np.testing.assert_allclose(_values(second["y"]), expected[1])
    at.toggle(key="regression_spaghetti").set_value(True).run()
    spec = charts(at)["Posterior sample #1"]
    lines = [trace for trace in spec["data"] if trace.get("mode") == "lines"]
    assert len(lines) == 30 and not at.exception


def test_the_truck_page_says_it_is_for_classification(cubic_run: TrainedRun) -> None:
    at = _page(cubic_run)
    at.switch_page("app_pages/truck_probe.py").run()
    assert not at.exception and not at.error
    assert any("is for classification" in read(info.value) for info in at.info)


def test_the_map_of_a_regression_is_its_band_chart(cubic_run: TrainedRun) -> None:
    at = _page(cubic_run)
    at.switch_page("app_pages/uncertainty_map.py").run()
    assert not at.exception and not at.error
    raw = axis_grid(cubic_run.data, 0)
    bands = curve_bands(cubic_run.model, cubic_run.likelihood, cubic_run.data, raw, 50, cubic_run.config.seed)
    spec = charts(at)["Data, mean and uncertainty"]
    np.testing.assert_allclose(_values(_trace(spec, "epistemic")["y"]), bands.mean + 2 * bands.epistemic)
    assert not any(trace.get("name") == "click to add a point" for trace in spec["data"])


def test_calibration_becomes_interval_coverage_for_regression(cubic_run: TrainedRun) -> None:
    at = _page(cubic_run)
    at.switch_page("app_pages/calibration.py").run()
    assert not at.exception and not at.error
    curve = _trace(charts(at)["Interval coverage"], "BNN")
    test = cubic_run.data.is_test
    bands = cubic_run.evaluation.bands.rows(test)
    expected = coverage_curve(cubic_run.data.dataset.y[test], bands, _values(curve["x"]))
    np.testing.assert_allclose(_values(curve["y"]), expected)
    assert {metric.label for metric in at.metric} >= {"50% interval", "90% interval", "95% interval", "NLL"}


def test_the_data_page_describes_a_regression_set(cubic_run: TrainedRun) -> None:
    at = _page(cubic_run)
    at.session_state[state.CHOSEN_DATASET] = "cubic"
    at.switch_page("app_pages/data.py").run()
    assert not at.exception
    assert any("regression of y" in read(caption.value) for caption in at.caption)
    assert "y against x" in {json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")}


HOUSES = (
    "area,rooms,price\n" + "".join(f"{40 + 3 * i},{1 + i % 4},{100 + 7.5 * i + (i % 5)}\n" for i in range(40))
).encode()


def _data_page() -> AppTest:
    at = AppTest.from_file(str(APP.parent / "app_pages" / "data.py"), default_timeout=TIMEOUT)
    at.session_state[state.FORM_CONFIG] = RunConfig(train=TrainConfig(epochs=100), samples=20)
    return at.run()


def test_a_csv_upload_guesses_the_task_from_the_target_column_and_the_switch_changes_it() -> None:
    at = _data_page()
    at.file_uploader(key="csv_upload").set_value(("houses.csv", HOUSES, "text/csv")).run()
    at.selectbox(key="csv_label:houses.csv").set_value("price").run()
    assert at.get("button_group"), "the task's segmented control is on the page"
    assert at.session_state["csv_task:houses.csv:price"] == "regression"  # 40 fractional prices
    at.button(key="use_csv").click().run()
    assert not at.exception and not at.error
    run = at.session_state[state.RUN]
    assert run.task == "regression" and run.data.dataset.target_name == "price" and run.config.data.task == "regression"
    at.selectbox(key="csv_label:houses.csv").set_value("rooms").run()
    assert at.session_state["csv_task:houses.csv:rooms"] == "classification"  # four whole numbers
    at.session_state["csv_task:houses.csv:rooms"] = "regression"  # the user switches it
    at.button(key="use_csv").click().run()
    assert not at.exception and not at.error
    assert at.session_state[state.RUN].task == "regression"
    assert at.session_state[state.RUN].data.dataset.target_name == "rooms"


@pytest.mark.parametrize("page", ["train_and_resample", "uncertainty_map", "truck_probe", "calibration", "data",
                                  "how_it_works"])  # fmt: skip
def test_every_page_draws_a_regression_run_without_an_error(cubic_run: TrainedRun, page: str) -> None:
    at = _page(cubic_run)
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception and not at.error


def test_a_large_regression_set_draws_a_fixed_subset_whose_points_name_their_rows() -> None:
    """As on the classification charts, at most MAX_POINTS rows are drawn; each keeps its row number, which is
    what a click on it removes."""
    generator = np.random.default_rng(0)
    x = generator.uniform(-3, 3, (5000, 1))
    big = Dataset("csv:big.csv", x, np.sin(x[:, 0]) + generator.normal(0, 0.1, 5000), ("x",), ())
    run = train_run(big, RunConfig(train=TrainConfig(epochs=20), samples=10))
    at = _page(run)
    assert not at.exception
    spec = charts(at)["Data, mean and uncertainty"]
    drawn = [trace for trace in spec["data"] if trace.get("name") in ("train rows", "test rows")]
    rows = np.concatenate([_values(trace["customdata"]) for trace in drawn]).astype(int)
    xs = np.concatenate([_values(trace["x"]) for trace in drawn])
    assert len(rows) == MAX_POINTS and len(set(rows)) == MAX_POINTS
    np.testing.assert_allclose(xs, x[rows, 0])


def _click_script() -> None:
    """A click on an empty place of the bands chart, as the chart's selection callback receives it."""
    from types import SimpleNamespace

    import streamlit as st

    from ui import state
    from ui.figures.regression import CLICK_NAME
    from ui.views import regression

    st.session_state.runs = st.session_state.get("runs", 0) + 1
    run = st.session_state[state.RUN]
    axis = regression.choose_axis(run)
    if st.session_state.runs == 1:  # the callback, then the script run it comes before
        st.session_state.chart = SimpleNamespace(selection=SimpleNamespace(points=[{"curve_number": 0, "x": 0.5,
                                                                                     "y": 3.0}]))
        regression._on_click(run, axis, [CLICK_NAME], "chart")
        st.rerun()
    regression.band_chart(run, axis)


@pytest.mark.parametrize("seconds", [0.2, 5.0])
def test_a_click_retrains_in_its_callback_if_the_run_was_quick_and_with_a_bar_once_drawn_if_not(
    cubic_run: TrainedRun, seconds: float
) -> None:
    """A run that trained in under QUICK_SECONDS is retrained before the page is drawn (drawn once); a slower one
    after the page has drawn, with the live bar and Stop, and then the page again. Either way the run on screen
    is trained on the 21 points, with the click's point among them, and Clear can go back."""
    from dataclasses import replace

    from ui.views.regression import QUICK_SECONDS

    timed = replace(cubic_run, fit=replace(cubic_run.fit, train_seconds=seconds))
    at = AppTest.from_function(_click_script, default_timeout=TIMEOUT)
    at.session_state[state.RUN] = timed
    at.run()
    assert not at.exception and not at.error
    new = at.session_state[state.RUN]
    assert new is not timed and new.data.dataset.n_rows == cubic_run.data.dataset.n_rows + 1
    assert np.isclose(new.data.dataset.x[:, 0], 0.5).any() and np.isclose(new.data.dataset.y, 3.0).any()
    assert at.session_state[state.UNEDITED_RUN] is timed
    assert at.session_state["runs"] == 1 + (2 if seconds >= QUICK_SECONDS else 1)  # the live path draws twice
