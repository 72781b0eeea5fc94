"""The main page for a regression run: the data with the posterior mean and its bands beside the function of
one posterior sample (or 30 of them), with Resample and Play as for classification."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import streamlit as st

from bnn_core import BNNInputError, Dataset, RunConfig, TrainedRun, train_run
from bnn_core.data.datasets import EDITED, edit_rows
from bnn_core.posterior.regression import Bands, axis_grid, curve_bands, sample_curves

from .. import sources, state
from ..charts import chart_config, show
from ..figures.regression import CLICK_NAME, Observations, band_figure, sample_figure, value_range
from ..training import live_training, refusal
from .side_by_side import PLAY_SECONDS, chart_header, plotted_rows, sample_buttons, tick_sample

SPAGHETTI = 30  # sample curves drawn at once by the spaghetti toggle
# A run that trained faster than this is retrained inside the click's callback, without a bar: a fresh run on
# cubic's 21 points takes about 0.25 s with the compiled engine, and the page is then drawn once, not twice.
QUICK_SECONDS = 1.0


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
    key = f"band_chart_{st.session_state.get(state.EDIT_COUNT, 0)}"  # a new chart after each click: none counts twice
    names = [trace.name for trace in figure.data]
    refused = st.session_state.pop(state.EDIT_REFUSAL, None)
    if refused:
        st.error(refused)
    with st.container(key="fit_chart_truth"):
        st.plotly_chart(
            figure,
            width="stretch",
            height="stretch",
            theme=None,
            key=key,
            config=chart_config(f"{state.run_label(run)}-bands"),
            on_select=lambda: _on_click(run, axis, names, key),
            selection_mode="points",
        )
    edited = st.session_state.pop(state.SLOW_EDIT, None)
    if edited is not None:
        _retrain_live(run, edited)


def _on_click(run: TrainedRun, axis: Axis, names: list[str], key: str) -> None:
    """The chart's selection callback, run before the page is drawn again: make the edit the click asks for.

    A run that trained in under ``QUICK_SECONDS`` is retrained here, so that the page is drawn once, with the new
    run: a bar and live curves would take longer to draw than such a training. Any other is left to
    :func:`_retrain_live`, with progress and Stop, once the page has drawn.
    """
    points = st.session_state[key].selection.points
    if not points:
        return
    st.session_state[state.EDIT_COUNT] = st.session_state.get(state.EDIT_COUNT, 0) + 1
    try:
        edited = _edited_dataset(run, axis, points[0], names)
        if edited is None:
            return
        if run.fit.train_seconds >= QUICK_SECONDS:
            st.session_state[state.SLOW_EDIT] = edited
            return
        _show_edit(run, train_run(edited, _edited_config(run, edited)))
    except BNNInputError as err:
        st.session_state[state.EDIT_REFUSAL] = refusal(err)


def _edited_dataset(run: TrainedRun, axis: Axis, point: dict, names: list[str]) -> Dataset | None:
    """The run's data with the clicked place added as a point, or the clicked point removed; None for a click on
    the mean line, which is not an edit."""
    name = names[point["curve_number"]] if 0 <= point.get("curve_number", -1) < len(names) else None
    dataset = run.data.dataset
    if name == CLICK_NAME:
        row = axis.raw[:1].copy()
        row[0, axis.feature] = point["x"]
        return edit_rows(dataset, add_x=row, add_y=[point["y"]], is_test=run.data.is_test)
    if name in ("train rows", "test rows"):
        return edit_rows(dataset, drop=[int(point["customdata"])], is_test=run.data.is_test)
    return None


def _edited_config(run: TrainedRun, edited: Dataset) -> RunConfig:
    """The run's own settings on the edited data: a fresh run, not warm-started from the one on screen.

    Continuing from it shrank every band (benchmarks/warm_start.py), and would make the picture depend on the
    order of the clicks, so that no saved run or link could reproduce it.
    """
    return replace(run.config, data=replace(run.config.data, dataset=edited.name))


def _retrain_live(run: TrainedRun, edited: Dataset) -> None:
    """Train on the edited data with a progress bar, live curves and Stop; then draw the page again."""
    config = _edited_config(run, edited)
    try:
        new = live_training(
            f"**Retraining** on {edited.n_rows} points",
            config.train.epochs,
            "model",
            lambda report: train_run(edited, config, report),
            regression=True,
        )
    except BNNInputError as err:
        st.error(refusal(err))
        return
    _show_edit(run, new)
    st.rerun()


def _show_edit(run: TrainedRun, new: TrainedRun) -> None:
    """Put ``new``, trained on edited data, on screen; the first edit of ``run`` keeps it for Clear."""
    if not _edited(run):
        st.session_state[state.UNEDITED_RUN] = run
    st.session_state[state.EDITED_DATASET] = new.data.dataset
    state.choose_dataset(new.data.dataset.name)
    state.show_run(new, sample=state.sample_index(), origin="Edited by clicks")


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
