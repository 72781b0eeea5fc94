"""True labels beside the labels of one posterior sample, with a Resample button that redraws only the sample."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch
from streamlit.delta_generator import DeltaGenerator

from bnn_core import TrainedRun, accuracy, draw_probs

from .. import links, state
from ..charts import show
from ..figures.base import Points, Ring, class_scatter, legend_html, padded_range, uncertainty_sizes
from ..server import sessions

MAX_POINTS = 3000  # beyond this a browser scatter gets sluggish; a fixed random subset is drawn
MEASURES = {"entropy": "total", "epistemic": "epistemic", "aleatoric": "aleatoric"}
WRONG_COLOR, CHANGED_COLOR = "#d62728", "#111111"
HEADER_HEIGHT = 64  # px
PLAY_SECONDS = 0.8  # Play draws a new sample this often
TICK_GAP = 0.6  # s: a rerun sooner than this after a tick (a widget, say) does not advance the sample
LAST_TICK = "bnn_last_tick"


@dataclass(frozen=True, eq=False)
class View:
    """Which two features are on the axes, and which rows are drawn. Shape: rows (M,)."""

    x_feature: int
    y_feature: int
    rows: np.ndarray
    ranges: tuple[tuple[float, float], tuple[float, float]]
    measure: str  # the uncertainty that sets marker size: a key of MEASURES
    show_mean: bool
    hover: Hover


def plotted_rows(n_rows: int) -> np.ndarray:
    """All rows, or a fixed random subset of MAX_POINTS for large data."""
    if n_rows <= MAX_POINTS:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(0).choice(n_rows, MAX_POINTS, replace=False))


def choose_view(run: TrainedRun) -> View:
    """Axis pickers, marker size and the posterior-mean toggle (a change redraws both charts), stacked: they
    live in the View pop-over above the left chart, so that the charts fit a projector's height."""
    names = list(run.data.dataset.feature_names)
    x_key, y_key = state.AXIS_X + run.data.dataset.name, state.AXIS_Y + run.data.dataset.name  # per dataset
    for key, default in ((x_key, names[0]), (y_key, names[min(1, len(names) - 1)])):
        if st.session_state.get(key) not in names:  # seeded here, not with index=: that warns with a saved value
            st.session_state[key] = default
    x_name = st.selectbox("Horizontal axis", names, key=x_key)
    y_name = st.selectbox("Vertical axis", names, key=y_key)
    measure = st.selectbox(
        "Marker size shows",
        list(MEASURES),
        format_func=lambda name: f"{MEASURES[name]} uncertainty",
        key=state.SIZE_MEASURE,
        help="Bigger marker = more uncertain. Epistemic: the samples disagree. Aleatoric: each sample is unsure.",
    )
    show_mean = st.toggle(
        "Posterior mean",
        key=state.SHOW_MEAN,
        help=f"A third chart: the prediction averaged over {run.config.samples} posterior samples.",
    )
    word = next(word for word, key in links.SIZES.items() if key == measure)
    chosen = {"x": x_name, "y": y_name, "size": word, "mean": "1" if show_mean else "0"}
    defaults = {"x": names[0], "y": names[min(1, len(names) - 1)], "size": "total", "mean": "0"}
    state.remember_in_link(**{name: value for name, value in chosen.items() if value != defaults[name]})
    rows = plotted_rows(run.data.dataset.n_rows)
    x_feature, y_feature = names.index(x_name), names.index(y_name)
    raw = run.data.dataset.x
    ranges = (padded_range(raw[rows, x_feature]), padded_range(raw[rows, y_feature]))
    hover = state.derived(run, "hover", lambda: build_hover(run, rows))  # the same rows for every view
    return View(x_feature, y_feature, rows, ranges, measure, show_mean, hover)


def _probabilities(class_names: Sequence[str], probs: np.ndarray, top: int = 4) -> str:
    order = np.argsort(-probs)[:top]
    return " · ".join(f"{class_names[c]} {probs[c]:.2f}" for c in order)


@dataclass(frozen=True, eq=False)
class Hover:
    """Hover text per drawn row, in the parts that do not change between samples (built once a page run)."""

    point: list[str]  # the point, its features and its true label
    posterior: list[str]  # posterior-mean probabilities and the three uncertainties

    def truth(self) -> list[str]:
        return self.point

    def mean(self) -> list[str]:
        return [f"{point}<br>{posterior}" for point, posterior in zip(self.point, self.posterior, strict=True)]

    def sample(self, k: int, probs: np.ndarray, class_names: Sequence[str]) -> list[str]:
        """With sample #k's probabilities (M, C) for the drawn rows, between the point and the posterior."""
        return [
            f"{point}<br>Sample #{k}: {_probabilities(class_names, row)}<br>{posterior}"
            for point, row, posterior in zip(self.point, probs, self.posterior, strict=True)
        ]


def build_hover(run: TrainedRun, rows: np.ndarray) -> Hover:
    """Hover parts for ``rows``: features (up to 8), true label, posterior mean and uncertainty."""
    dataset, u = run.data.dataset, run.evaluation.uncertainty
    # NumPy, not tensors: formatting a tensor element costs about 30× a NumPy scalar, and this runs for every row.
    mean_probs, entropy, epistemic, aleatoric = (t.numpy() for t in (u.mean_probs, u.entropy, u.epistemic, u.aleatoric))
    point, posterior = [], []
    for i in rows:
        lines = [f"<b>Point {i}</b> ({'test' if run.data.is_test[i] else 'train'} row)"]
        lines += [f"{name}: {dataset.x[i, j]:.3g}" for j, name in enumerate(dataset.feature_names[:8])]
        lines.append(f"True label: <b>{dataset.class_names[dataset.y[i]]}</b>")
        point.append("<br>".join(lines))
        posterior.append(
            f"Mean of {run.config.samples}: {_probabilities(dataset.class_names, mean_probs[i])}<br>"
            f"Uncertainty (nats): total {entropy[i]:.3f} · epistemic {epistemic[i]:.3f} · aleatoric {aleatoric[i]:.3f}"
        )
    return Hover(point, posterior)


def _points(run: TrainedRun, view: View, classes: np.ndarray, hover: list[str], sizes: np.ndarray | None) -> Points:
    raw = run.data.dataset.x
    return Points(
        x=raw[view.rows, view.x_feature],
        y=raw[view.rows, view.y_feature],
        classes=classes[view.rows],
        is_test=run.data.is_test[view.rows],
        hover=hover,
        sizes=None if sizes is None else sizes[view.rows],
    )


def _axis_titles(run: TrainedRun, view: View) -> tuple[str, str]:
    names = run.data.dataset.feature_names
    return names[view.x_feature], names[view.y_feature]


def chart_header() -> DeltaGenerator:
    """A fixed-height row above each chart, so the charts side by side line up exactly.

    Taller with three charts, whose narrower columns wrap the sample's summary onto more lines.
    """
    height = HEADER_HEIGHT + (56 if st.session_state.get(state.SHOW_MEAN) else 0)
    return st.container(height=height, border=False, vertical_alignment="center")


def legend_and_view(run: TrainedRun) -> View:
    """The header over the true labels: the legend, and the View pop-over with the view's choices."""
    with chart_header():
        legend, choices = st.columns([3, 1.3], vertical_alignment="center")
        extra = [("●", "train"), ("◆", "test")] if run.data.has_test else []
        legend.markdown(legend_html(run.data.dataset.class_names, extra), unsafe_allow_html=True)
        with choices.popover("View", icon=":material/tune:", width="stretch", help="Axes, marker size, mean"):
            return choose_view(run)


def true_label_chart(run: TrainedRun, view: View) -> None:
    axes = (view.x_feature, view.y_feature)
    fig = state.derived(run, "true labels", lambda: _true_label_figure(run, view), axes)
    show(fig, key="true_chart", name=f"{state.run_label(run)}-true-labels", fit=True)


def _true_label_figure(run: TrainedRun, view: View) -> go.Figure:
    points = _points(run, view, run.data.dataset.y, view.hover.truth(), None)
    return class_scatter(points, run.data.dataset.class_names, "True labels", _axis_titles(run, view), view.ranges)


def mean_chart(run: TrainedRun, view: View) -> None:
    predicted = run.evaluation.uncertainty.predicted.numpy()
    with chart_header():
        n_wrong = int((predicted != run.data.dataset.y).sum())
        st.markdown(
            f"Averaged over **{run.config.samples} samples** · "
            f'<span style="color:{WRONG_COLOR}">◯</span>&nbsp;{n_wrong} wrong',
            unsafe_allow_html=True,
        )
    chosen = (view.x_feature, view.y_feature, view.measure)
    fig = state.derived(run, "posterior mean", lambda: _mean_figure(run, view), chosen)
    show(fig, key="mean_chart", name=f"{state.run_label(run)}-posterior-mean", fit=True)


def _mean_figure(run: TrainedRun, view: View) -> go.Figure:
    """The posterior mean's classes, marker size from ``view.measure``, wrong points ringed."""
    u = run.evaluation.uncertainty
    predicted = u.predicted.numpy()
    sizes = uncertainty_sizes(getattr(u, view.measure).numpy(), run.data.dataset.n_classes)
    wrong = Ring("wrong", (predicted != run.data.dataset.y)[view.rows], WRONG_COLOR)
    points = _points(run, view, predicted, view.hover.mean(), sizes)
    title = f"Mean of {run.config.samples} samples"
    return class_scatter(points, run.data.dataset.class_names, title, _axis_titles(run, view), view.ranges, [wrong])


def sample_predictions(run: TrainedRun, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities (N, C) of sample #k and the (N,) mask of points whose class changed since #k−1."""
    probs = draw_probs(run.model, run.data.x, run.config.seed, k)
    if k == 0:
        return probs.numpy(), np.zeros(len(probs), dtype=bool)
    before = draw_probs(run.model, run.data.x, run.config.seed, k - 1)
    return probs.numpy(), (probs.argmax(1) != before.argmax(1)).numpy()


def sample_panel(run: TrainedRun, view: View) -> None:
    """The right-hand chart, as a fragment: a Resample press (or a tick of Play) reruns only this part."""
    every = PLAY_SECONDS if st.session_state.get(state.PLAYING) else None
    st.fragment(_sample_panel, run_every=every)(run, view)


def toggle_play() -> None:
    st.session_state[state.PLAYING] = not st.session_state.get(state.PLAYING, False)


def tick_sample() -> int:
    """In the sample fragment: the posterior sample to show, the next one on every tick of Play; kept in the URL."""
    sessions.seen()  # a fragment run is activity too: a tab pressing Resample is not idle
    if st.session_state.get(state.PLAYING) and time.monotonic() - st.session_state.get(LAST_TICK, 0.0) > TICK_GAP:
        state.next_sample()  # Play: a new posterior sample on every tick, so the posterior "breathes"
        st.session_state[LAST_TICK] = time.monotonic()
    k = state.sample_index()
    link_sample(k)
    return k


def sample_buttons(resample: DeltaGenerator, play: DeltaGenerator) -> None:
    """Resample (keyboard r) and Play/Pause (keyboard p), in the two given places."""
    resample.button(
        "Resample",
        key="resample",
        type="primary",
        width="stretch",
        on_click=state.next_sample,
        help="Draw the next network from the posterior (keyboard: r).",
    )
    playing = bool(st.session_state.get(state.PLAYING))
    if play.button(
        "Pause" if playing else "Play",
        key="play",
        width="stretch",
        on_click=toggle_play,
        help=f"Draw a new sample every {PLAY_SECONDS:g} s (keyboard: p).",
    ):
        st.rerun()  # the whole page: the fragment's timer is set when the page is drawn


def _sample_panel(run: TrainedRun, view: View) -> None:
    k = tick_sample()
    probs, changed = sample_predictions(run, k)
    predicted = probs.argmax(1)
    sizes = uncertainty_sizes(getattr(run.evaluation.uncertainty, view.measure).numpy(), run.data.dataset.n_classes)
    rings = [
        Ring("wrong", (predicted != run.data.dataset.y)[view.rows], WRONG_COLOR),
        Ring("changed", changed[view.rows], CHANGED_COLOR),
    ]
    points = _points(run, view, predicted, view.hover.sample(k, probs[view.rows], run.data.dataset.class_names), sizes)
    title = f"Posterior sample #{k}"
    with chart_header():
        # Side by side when there is room; stacked in the narrower columns of the three-chart view.
        if view.show_mean:
            resample, play = st.columns([3, 2], gap="small")
            line = st.container()
        else:
            resample, play, line = st.columns([2.2, 1.5, 4.3], gap="small", vertical_alignment="center")
        sample_buttons(resample, play)
        n_wrong = int((predicted != run.data.dataset.y).sum())
        summary = _sample_summary(run, k, probs, n_wrong, int(changed.sum()))
        line.container(key="sample_line").markdown(summary, unsafe_allow_html=True)
    fig = class_scatter(points, run.data.dataset.class_names, title, _axis_titles(run, view), view.ranges, rings)
    show(fig, key="sample_chart", name=f"{state.run_label(run)}-sample-{k}", fit=True)


def link_sample(k: int) -> None:
    """Keep the URL's ``sample`` in step: this fragment reruns alone, without the page's own URL update."""
    if k:
        st.query_params["sample"] = str(k)
    elif "sample" in st.query_params:
        del st.query_params["sample"]


def _sample_summary(run: TrainedRun, k: int, probs: np.ndarray, n_wrong: int, n_changed: int) -> str:
    """Two short lines on sample #k: its accuracies; how many points are wrong, and changed since #k−1.

    The second line doubles as the legend of the rings drawn in the chart. Two lines, not one that
    wraps where it may: the header beside Resample has a fixed height.
    """
    probs_t, labels = torch.from_numpy(probs), run.data.y
    train, test = run.data.train_mask, run.data.test_mask
    scores = [f"**#{k}**", f"train {accuracy(probs_t[train], labels[train]):.1%}"]
    if run.data.has_test:
        scores.append(f"test {accuracy(probs_t[test], labels[test]):.1%}")
    rings = [f'<span style="color:{WRONG_COLOR}">◯</span>&nbsp;{n_wrong}&nbsp;wrong']
    if k:
        since = f"class changed since sample #{k - 1}"  # in the hover, so that the line stays short
        rings.append(
            f'<span title="{since}"><span style="color:{CHANGED_COLOR}">◯</span>&nbsp;{n_changed}&nbsp;changed</span>'
        )
    return " · ".join(scores) + "<br>" + " · ".join(rings)


def draw(run: TrainedRun) -> None:
    """The side-by-side charts for ``run``."""
    columns = st.columns(3 if st.session_state.get(state.SHOW_MEAN) else 2, gap="medium")  # chosen in the first
    with columns[0]:
        view = legend_and_view(run)
        true_label_chart(run, view)
    if view.show_mean:
        with columns[1]:
            mean_chart(run, view)
    with columns[-1]:
        sample_panel(run, view)
