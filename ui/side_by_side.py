"""True labels beside the labels of one posterior sample, with a Resample button that redraws only the sample."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch
from streamlit.delta_generator import DeltaGenerator

from bnn_core import TrainedRun, accuracy, draw_probs

from . import state
from .charts import show
from .figures import Points, Ring, class_scatter, legend_html, padded_range, uncertainty_sizes

MAX_POINTS = 3000  # beyond this a browser scatter gets sluggish; a fixed random subset is drawn
MEASURES = {"entropy": "total", "epistemic": "epistemic", "aleatoric": "aleatoric"}
WRONG_COLOR, CHANGED_COLOR = "#d62728", "#111111"
HEADER_HEIGHT = 64  # px


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
    """Axis pickers and the posterior-mean toggle (a change redraws both charts)."""
    names = list(run.data.dataset.feature_names)
    x_key, y_key = f"axis_x:{run.data.dataset.name}", f"axis_y:{run.data.dataset.name}"  # per dataset
    for key in (x_key, y_key, "size_measure", "show_mean"):
        state.restore(key)
    left, middle, size, mean = st.columns([2, 2, 2.2, 2], vertical_alignment="bottom")
    x_name = left.selectbox("Horizontal axis", names, index=0, key=x_key)
    y_name = middle.selectbox("Vertical axis", names, index=min(1, len(names) - 1), key=y_key)
    measure = size.selectbox(
        "Marker size shows",
        list(MEASURES),
        format_func=lambda name: f"{MEASURES[name]} uncertainty",
        key="size_measure",
        help="Bigger marker = more uncertain. Epistemic: the samples disagree. Aleatoric: each sample is unsure.",
    )
    show_mean = mean.toggle(
        "Posterior mean",
        key="show_mean",
        help=f"A third chart: the prediction averaged over {run.config.samples} posterior samples.",
    )
    for key in (x_key, y_key, "size_measure", "show_mean"):
        state.keep(key)
    rows = plotted_rows(run.data.dataset.n_rows)
    x_feature, y_feature = names.index(x_name), names.index(y_name)
    raw = run.data.dataset.x
    ranges = (padded_range(raw[rows, x_feature]), padded_range(raw[rows, y_feature]))
    return View(x_feature, y_feature, rows, ranges, measure, show_mean, build_hover(run, rows))


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
    mean_probs = u.mean_probs.numpy()
    point, posterior = [], []
    for i in rows:
        lines = [f"<b>Point {i}</b> ({'test' if run.data.is_test[i] else 'train'} row)"]
        lines += [f"{name}: {dataset.x[i, j]:.3g}" for j, name in enumerate(dataset.feature_names[:8])]
        lines.append(f"True label: <b>{dataset.class_names[dataset.y[i]]}</b>")
        point.append("<br>".join(lines))
        posterior.append(
            f"Mean of {run.config.samples}: {_probabilities(dataset.class_names, mean_probs[i])}<br>"
            f"Uncertainty (nats): total {u.entropy[i]:.3f} · epistemic {u.epistemic[i]:.3f} · "
            f"aleatoric {u.aleatoric[i]:.3f}"
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


def _header() -> DeltaGenerator:
    """A fixed-height row above each chart, so the charts side by side line up exactly.

    Taller with three charts, whose narrower columns wrap the sample's summary onto more lines.
    """
    height = HEADER_HEIGHT + (56 if st.session_state.get("show_mean") else 0)
    return st.container(height=height, border=False, vertical_alignment="center")


def true_label_chart(run: TrainedRun, view: View) -> None:
    with _header():
        extra = [("●", "train"), ("◆", "test")] if run.data.has_test else []
        st.markdown(legend_html(run.data.dataset.class_names, extra), unsafe_allow_html=True)
    points = _points(run, view, run.data.dataset.y, view.hover.truth(), None)
    fig = class_scatter(points, run.data.dataset.class_names, "True labels", _axis_titles(run, view), view.ranges)
    show(fig, key="true_chart")


def mean_chart(run: TrainedRun, view: View) -> None:
    u = run.evaluation.uncertainty
    predicted = u.predicted.numpy()
    sizes = uncertainty_sizes(getattr(u, view.measure).numpy(), run.data.dataset.n_classes)
    hover = view.hover.mean()
    wrong = Ring("wrong", (predicted != run.data.dataset.y)[view.rows], WRONG_COLOR)
    points = _points(run, view, predicted, hover, sizes)
    title = f"Mean of {run.config.samples} samples"
    with _header():
        n_wrong = int((predicted != run.data.dataset.y).sum())
        st.markdown(
            f"Averaged over **{run.config.samples} samples** · "
            f'<span style="color:{WRONG_COLOR}">◯</span>&nbsp;{n_wrong} wrong',
            unsafe_allow_html=True,
        )
    fig = class_scatter(points, run.data.dataset.class_names, title, _axis_titles(run, view), view.ranges, [wrong])
    show(fig, key="mean_chart")


def sample_predictions(run: TrainedRun, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities (N, C) of sample #k and the (N,) mask of points whose class changed since #k−1."""
    probs = draw_probs(run.model, run.data.x, run.config.seed, k)
    if k == 0:
        return probs.numpy(), np.zeros(len(probs), dtype=bool)
    before = draw_probs(run.model, run.data.x, run.config.seed, k - 1)
    return probs.numpy(), (probs.argmax(1) != before.argmax(1)).numpy()


@st.fragment
def sample_panel(run: TrainedRun, view: View) -> None:
    """The right-hand chart. A Resample press reruns only this fragment."""
    k = state.sample_index()
    probs, changed = sample_predictions(run, k)
    predicted = probs.argmax(1)
    sizes = uncertainty_sizes(getattr(run.evaluation.uncertainty, view.measure).numpy(), run.data.dataset.n_classes)
    rings = [
        Ring("wrong", (predicted != run.data.dataset.y)[view.rows], WRONG_COLOR),
        Ring("changed", changed[view.rows], CHANGED_COLOR),
    ]
    points = _points(run, view, predicted, view.hover.sample(k, probs[view.rows], run.data.dataset.class_names), sizes)
    title = f"Posterior sample #{k}"
    with _header():
        # Side by side when there is room; stacked in the narrower columns of the three-chart view.
        button, line = (st.container(), st.container()) if view.show_mean else st.columns([1.4, 3])
        button.button(
            "Resample",
            key="resample",
            type="primary",
            width="stretch",
            on_click=state.next_sample,
            help="Draw the next network from the posterior (keyboard: r).",
        )
        n_wrong = int((predicted != run.data.dataset.y).sum())
        line.markdown(_sample_summary(run, k, probs, n_wrong, int(changed.sum())), unsafe_allow_html=True)
    fig = class_scatter(points, run.data.dataset.class_names, title, _axis_titles(run, view), view.ranges, rings)
    show(fig, key="sample_chart")


def _sample_summary(run: TrainedRun, k: int, probs: np.ndarray, n_wrong: int, n_changed: int) -> str:
    """One short line on sample #k: its accuracies, and how many points are wrong or changed since #k−1.

    It doubles as the legend of the rings drawn in the chart.
    """
    probs_t, labels = torch.from_numpy(probs), run.data.y
    train, test = run.data.train_mask, run.data.test_mask
    parts = [f"**#{k}** · train {accuracy(probs_t[train], labels[train]):.1%}"]
    if run.data.has_test:
        parts.append(f"test {accuracy(probs_t[test], labels[test]):.1%}")
    parts.append(f'<span style="color:{WRONG_COLOR}">◯</span>&nbsp;{n_wrong} wrong')
    if k:
        parts.append(f'<span style="color:{CHANGED_COLOR}">◯</span>&nbsp;{n_changed} changed since #{k - 1}')
    return " · ".join(parts)


def draw(run: TrainedRun) -> None:
    """The side-by-side charts for ``run``."""
    view = choose_view(run)
    columns = st.columns(3 if view.show_mean else 2, gap="medium")
    with columns[0]:
        true_label_chart(run, view)
    if view.show_mean:
        with columns[1]:
            mean_chart(run, view)
    with columns[-1]:
        sample_panel(run, view)
