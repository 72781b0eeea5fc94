"""The main page for a regression run: the data with the posterior mean and its bands beside the function of
one posterior sample (or 30 of them), with Resample and Play as for classification."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import streamlit as st

from bnn_core import BNNInputError, TrainedRun, train_run
from bnn_core.data.datasets import EDITED, edit_rows
from bnn_core.posterior.regression import Bands, axis_grid, curve_bands, sample_curves

from .. import sources, state
from ..charts import chart_config, show
from ..figures.regression import CLICK_NAME, Observations, band_figure, sample_figure, value_range
from ..training import live_training, refusal
from .side_by_side import PLAY_SECONDS, chart_header, plotted_rows, sample_buttons, tick_sample

SPAGHETTI = 30  # sample curves drawn at once by the spaghetti toggle


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
    """The rows drawn, as on the classification charts: all of them, or a fixed subset of a large set."""
    dataset, bands = run.data.dataset, run.evaluation.bands
    rows = plotted_rows(dataset.n_rows)
    hover = [
        f"<b>Point {i}</b> ({'test' if run.data.is_test[i] else 'train'} row)<br>"
        f"{dataset.feature_names[feature]}: {dataset.x[i, feature]:.3g}<br>{dataset.target_name}: {dataset.y[i]:.3g}"
        f"<br>posterior mean {bands.mean[i]:.3g} ± {2 * bands.total[i]:.3g} (2 total std)"
        for i in rows
    ]
    return Observations(dataset.x[rows, feature], dataset.y[rows], run.data.is_test[rows], hover, rows)


def choose_axis(run: TrainedRun) -> Axis:
    """The feature on the x-axis (with several features) and the spaghetti toggle, in the View pop-over."""
    names = list(run.data.dataset.feature_names)
    key = state.REGRESSION_X + run.data.dataset.name
    if st.session_state.get(key) not in names:
        st.session_state[key] = names[0]
    with st.popover("View", icon=":material/tune:", help="The x-axis feature, and 30 sample curves at once"):
        x_name = st.selectbox(
            "Horizontal axis", names, key=key, help="The other features are held at their training median."
        )
        st.toggle(
            "Spaghetti: 30 samples",
            key=state.SPAGHETTI,
            help=f"Draw {SPAGHETTI} posterior samples at once behind the current one.",
        )
    feature = names.index(x_name)
    raw = state.memo("regression_grid", (run, feature), lambda: axis_grid(run.data, feature))
    bands = state.memo(
        "regression_bands",
        (run, feature),
        lambda: curve_bands(run.model, run.likelihood, run.data, raw, run.config.samples, run.config.seed),
    )
    points = state.memo("regression_points", (run, feature), lambda: _observations(run, feature))
    titles = (x_name, run.data.dataset.target_name)
    return Axis(feature, raw, raw[:, feature], bands, points, value_range(bands, points), titles)


def band_chart(run: TrainedRun, axis: Axis) -> None:
    """The bands chart; a click on it adds a point there, a click on a point removes it, and either retrains."""
    figure = band_figure(
        axis.grid, axis.bands, axis.points, run.config.samples, axis.titles, axis.y_range, clickable=True
    )
    edits = st.session_state.get(state.EDIT_COUNT, 0)
    with st.container(key="fit_chart_truth"):
        event = st.plotly_chart(
            figure,
            width="stretch",
            height="stretch",
            theme=None,
            key=f"band_chart_{edits}",  # a new chart after each handled click, so that no click counts twice
            config=chart_config(f"{state.run_label(run)}-bands"),
            on_select="rerun",
            selection_mode="points",
        )
    clicked = event.selection.points if event is not None else []
    if clicked:
        _edit(run, axis, clicked[0], names=[trace.name for trace in figure.data])


def _edit(run: TrainedRun, axis: Axis, point: dict, names: list[str]) -> None:
    """Add the clicked place as a point, or remove the clicked point; then train afresh with the same settings.

    Not warm-started from the posterior on screen: continuing from it shrank every band (benchmarks/warm_start.py),
    and would make the picture depend on the order of the clicks, so that no saved run or link could reproduce
    it. A fresh run on 21 points takes about 0.25 s with the compiled engine (20,000 steps); the rest of a click is
    the page drawn twice.
    """
    name = names[point["curve_number"]] if 0 <= point.get("curve_number", -1) < len(names) else None
    dataset = run.data.dataset
    try:
        if name == CLICK_NAME:
            row = axis.raw[:1].copy()
            row[0, axis.feature] = point["x"]
            edited = edit_rows(dataset, add_x=row, add_y=[point["y"]], is_test=run.data.is_test)
        elif name in ("train rows", "test rows"):
            edited = edit_rows(dataset, drop=[int(point["customdata"])], is_test=run.data.is_test)
        else:  # the mean line: not an edit; a new chart, so that its selection does not stay on screen
            st.session_state[state.EDIT_COUNT] = st.session_state.get(state.EDIT_COUNT, 0) + 1
            st.rerun()
        config = replace(run.config, data=replace(run.config.data, dataset=edited.name))
        heading = f"**Retraining** on {edited.n_rows} points"
        new = live_training(
            heading, config.train.epochs, "model", lambda report: train_run(edited, config, report), regression=True
        )
    except BNNInputError as err:
        st.error(refusal(err))
        return
    if not _edited(run):  # the first click on this run: Clear comes back to it
        st.session_state[state.UNEDITED_RUN] = run
    st.session_state[state.EDITED_DATASET] = edited
    st.session_state[state.EDIT_COUNT] = st.session_state.get(state.EDIT_COUNT, 0) + 1
    state.choose_dataset(edited.name)
    state.show_run(new, sample=state.sample_index(), origin="Edited by clicks")
    st.rerun()


def _edited(run: TrainedRun) -> bool:
    """Whether ``run`` was trained on clicked-in or clicked-out points."""
    return run.data.dataset.name.endswith(EDITED)


def _clear() -> None:
    """Button callback: back to the run before the first clicked point, and its data."""
    run = st.session_state.pop(state.UNEDITED_RUN)
    st.session_state.pop(state.EDITED_DATASET, None)
    st.session_state[state.EDIT_COUNT] = st.session_state.get(state.EDIT_COUNT, 0) + 1
    state.choose_dataset(run.data.dataset.name)
    preset = sources.preset_for(run.config)
    state.show_run(run, preset=preset.slug if preset else None)


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
    count = SPAGHETTI if st.session_state.get(state.SPAGHETTI) else 1
    curves = sample_curves(run.model, run.data, axis.raw, k, count, run.config.seed)
    with chart_header():
        resample, play, line = st.columns([2.2, 1.5, 4.3], gap="small", vertical_alignment="center")
        sample_buttons(resample, play)
        line.container(key="sample_line").markdown(_sample_rmse(run, k))
    figure = sample_figure(axis.grid, curves, k, axis.points, axis.titles, axis.y_range)
    show(figure, key="sample_chart", name=f"{state.run_label(run)}-sample-{k}", fit=True)


def draw(run: TrainedRun) -> None:
    """The two regression charts side by side for ``run``."""
    left, right = st.columns(2, gap="medium")
    with left:
        with chart_header():
            # As wide a View as the classification header's ([3, 1.3]): narrower, its label was cut to "V…".
            note, clear, view = st.columns([2.2, 1, 1.3], vertical_alignment="center")
            note.markdown("**Click** to add a point, or on one to remove it.")
            clear.button(
                "Clear",
                key="clear_points",
                on_click=_clear,
                disabled=not (_edited(run) and state.UNEDITED_RUN in st.session_state),
                help="Back to the data and the model before the first clicked point.",
            )
            with view:
                axis = choose_axis(run)
        band_chart(run, axis)
    with right:
        sample_panel(run, axis)


def bands_map(run: TrainedRun) -> None:
    """The uncertainty map of a regression: the bands along one input, where the epistemic part widens."""
    _, view = st.columns([4, 1.3], vertical_alignment="center")
    with view:
        axis = choose_axis(run)
    figure = band_figure(axis.grid, axis.bands, axis.points, run.config.samples, axis.titles, axis.y_range)
    show(figure, key="map_bands", name=f"{state.run_label(run)}-map-bands", fit=True)
    if state.presenting():
        return
    st.caption(
        "With one input on the axis the map is a band chart: the epistemic band (the posterior's networks disagree) "
        "widens away from the data and the total band adds the noise. Clicking points in or out is on *Train and "
        "resample*."
    )
