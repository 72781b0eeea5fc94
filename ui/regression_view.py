"""The main page for a regression run: the data with the posterior mean and its bands beside the function of
one posterior sample (or 30 of them), with Resample and Play as for classification."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from bnn_core import TrainedRun
from bnn_core.regression import Bands, axis_grid, curve_bands, sample_curves

from . import state
from .charts import show
from .regression_figures import Observations, band_figure, sample_figure, value_range
from .side_by_side import PLAY_SECONDS, chart_header, sample_buttons, tick_sample

SPAGHETTI = 30  # sample curves drawn at once by the spaghetti toggle
SPAGHETTI_KEY = "regression_spaghetti"


@dataclass(frozen=True, eq=False)
class Axis:
    """The x-axis of both charts: which feature, its grid, and what the posterior says along it.

    Shape: ``raw`` (G, D) inputs, the other features at their training median; ``grid`` (G,) the feature's values.
    """

    feature: int
    raw: np.ndarray
    grid: np.ndarray
    bands: Bands
    points: Observations
    y_range: tuple[float, float]
    titles: tuple[str, str]


def _observations(run: TrainedRun, feature: int) -> Observations:
    dataset, bands = run.data.dataset, run.evaluation.bands
    hover = [
        f"<b>Point {i}</b> ({'test' if run.data.is_test[i] else 'train'} row)<br>"
        f"{dataset.feature_names[feature]}: {dataset.x[i, feature]:.3g}<br>{dataset.target_name}: {dataset.y[i]:.3g}"
        f"<br>posterior mean {bands.mean[i]:.3g} ± {2 * bands.total[i]:.3g} (2 total std)"
        for i in range(dataset.n_rows)
    ]
    return Observations(dataset.x[:, feature], dataset.y, run.data.is_test, hover)


def choose_axis(run: TrainedRun) -> Axis:
    """The feature on the x-axis (with several features) and the spaghetti toggle, in the View pop-over."""
    names = list(run.data.dataset.feature_names)
    key = f"regression_x:{run.data.dataset.name}"
    for name in (key, SPAGHETTI_KEY):
        state.restore(name)
    if st.session_state.get(key) not in names:
        st.session_state[key] = names[0]
    with st.popover("View", icon=":material/tune:", help="The x-axis feature, and 30 sample curves at once"):
        x_name = st.selectbox(
            "Horizontal axis", names, key=key, help="The other features are held at their training median."
        )
        st.toggle(
            "Spaghetti: 30 samples",
            key=SPAGHETTI_KEY,
            help=f"Draw {SPAGHETTI} posterior samples at once behind the current one.",
        )
    for name in (key, SPAGHETTI_KEY):
        state.keep(name)
    feature = names.index(x_name)
    raw = state.memo("regression_grid", (run, feature), lambda: axis_grid(run.data, feature))
    bands = state.memo(
        "regression_bands",
        (run, feature),
        lambda: curve_bands(run.model, run.likelihood, run.data, raw, run.config.samples, run.config.seed),
    )
    points = _observations(run, feature)
    titles = (x_name, run.data.dataset.target_name)
    return Axis(feature, raw, raw[:, feature], bands, points, value_range(bands, points), titles)


def band_chart(run: TrainedRun, axis: Axis) -> None:
    figure = band_figure(axis.grid, axis.bands, axis.points, run.config.samples, axis.titles, axis.y_range)
    with st.container(key="fit_chart_truth"):
        show(figure, key="band_chart", name=f"{state.run_label(run)}-bands", fit=True)


def _sample_rmse(run: TrainedRun, k: int) -> str:
    """Sample #k's RMSE on the training (and test) rows, in the target's units."""
    data = run.data
    prediction = sample_curves(run.model, data, data.dataset.x, k, 1, run.config.seed)[0]
    parts = [f"**#{k}**"]
    for name, rows in (("train", ~data.is_test), ("test", data.is_test)):
        if rows.any():
            rmse = float(np.sqrt(np.mean((prediction[rows] - data.dataset.y[rows]) ** 2)))
            parts.append(f"{name} RMSE {rmse:.3g}")
    return " · ".join(parts)


def sample_panel(run: TrainedRun, axis: Axis) -> None:
    """The right-hand chart, as a fragment: Resample (or a tick of Play) reruns only this part."""
    every = PLAY_SECONDS if st.session_state.get(state.PLAYING) else None
    st.fragment(_sample_panel, run_every=every)(run, axis)


def _sample_panel(run: TrainedRun, axis: Axis) -> None:
    k = tick_sample()
    count = SPAGHETTI if st.session_state.get(SPAGHETTI_KEY) else 1
    curves = sample_curves(run.model, run.data, axis.raw, k, count, run.config.seed)
    with chart_header():
        resample, play, line = st.columns([2.2, 1.5, 4.3], gap="small", vertical_alignment="center")
        sample_buttons(resample, play)
        line.container(key="sample_line").markdown(_sample_rmse(run, k))
    figure = sample_figure(axis.grid, curves, k, axis.points, axis.titles, axis.y_range)
    with st.container(key="fit_chart_sample"):
        show(figure, key="sample_chart", name=f"{state.run_label(run)}-sample-{k}", fit=True)


def draw(run: TrainedRun) -> None:
    """The two regression charts side by side for ``run``."""
    left, right = st.columns(2, gap="medium")
    with left:
        with chart_header():
            note, view = st.columns([3, 1.3], vertical_alignment="center")
            note.markdown(
                "**Epistemic** band: the networks disagree (widest far from the data). **Total**: with the noise."
            )
            with view:
                axis = choose_axis(run)
        band_chart(run, axis)
    with right:
        sample_panel(run, axis)
