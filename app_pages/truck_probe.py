"""Show it a truck: set one point's features, far outside the data if you like, and ask both networks."""

from __future__ import annotations

import numpy as np
import streamlit as st

from bnn_core import TrainedRun, TwinRun, features_outside, probe, probe_presets, span_range
from bnn_core.methods.alternatives import Predictor
from bnn_core.posterior.probing import TRUCK, method_answer
from ui import links, page, shell, state
from ui.charts import show
from ui.figures.maps import probe_spread
from ui.figures.probe_text import EPISTEMIC_NOTABLE, describe
from ui.text import plain
from ui.views import methods, shared

SLIDER_SPANS = links.POINT_SPANS  # the sliders reach this many data spans beyond the data on each side
COLUMNS = 3
OPEN_SLIDERS = 8  # more features than this start folded away
LINKED = "the point in the link"
NAMED_OUTSIDE = 4  # features named in the line on which are beyond the training range
VIEW_HELP = "The method beside the BNN, and each feature's value (in presenter mode)"
RESERVE, PRESENTING_RESERVE = 440, 415  # px of the window above and below the chart (ui.page.fit_charts)


def _current_point(run: TrainedRun) -> np.ndarray:
    """The sliders' point (D,)."""
    return np.array([st.session_state[_slider_key(run, name)] for name in run.data.dataset.feature_names])


def _slider_key(run: TrainedRun, name: str) -> str:
    return f"probe_{hash(run.config) % 10**8}_{name}"  # per run: new data or settings start from a preset


def _slider_range(values: np.ndarray) -> tuple[float, float]:
    return span_range(values, SLIDER_SPANS)


def _apply_preset(run: TrainedRun, presets: dict[str, np.ndarray]) -> None:
    """Selectbox callback: move every slider to the chosen preset (clipped to the slider's range)."""
    point = presets[st.session_state["probe_preset"]]
    for j, name in enumerate(run.data.dataset.feature_names):
        low, high = _slider_range(run.data.dataset.x[:, j])
        st.session_state[_slider_key(run, name)] = float(np.clip(point[j], low, high))


def choose_preset(run: TrainedRun) -> dict[str, np.ndarray]:
    """The preset picker; a choice moves every slider to that point."""
    presets = probe_presets(run.data)
    linked = st.session_state.pop(state.LINK_POINT, None)
    if linked is not None:  # a link's point, once: the sliders start there
        presets = {LINKED: np.asarray(linked), **presets}
        st.session_state["probe_preset"] = LINKED
        _apply_preset(run, presets)
    elif _slider_key(run, run.data.dataset.feature_names[0]) not in st.session_state:
        st.session_state["probe_preset"] = TRUCK
        _apply_preset(run, presets)
    if st.session_state.get("probe_preset") == LINKED:
        presets = {LINKED: _current_point(run), **presets}
    st.selectbox(
        "Start from",
        list(presets),
        key="probe_preset",
        label_visibility="collapsed",
        on_change=_apply_preset,
        args=(run, presets),
        help="Typical members of each class; a point between the two closest classes; one whose every feature is "
        "inside its training range but whose combination is unlike any row; or the truck, off the chart, with some "
        "features beyond anything measured.",
    )
    return presets


def feature_sliders(run: TrainedRun) -> np.ndarray:
    """One slider per feature, reaching far beyond the data; returns the raw point (D,)."""
    names, raw = run.data.dataset.feature_names, run.data.dataset.x
    point = np.empty(len(names))
    columns = st.columns(COLUMNS)
    for j, name in enumerate(names):
        low, high = _slider_range(raw[:, j])
        point[j] = columns[j % COLUMNS].slider(
            plain(name),
            low,
            high,
            key=_slider_key(run, name),
            help=f"Training data: {raw[:, j].min():.3g} to {raw[:, j].max():.3g}.",
        )
    return point


def _outside(run: TrainedRun, point: np.ndarray) -> str:
    """Which features are beyond the training range, in one line: at most :data:`NAMED_OUTSIDE` named."""
    names = [run.data.dataset.feature_names[j] for j in features_outside(point, run.data.dataset.x)]
    if not names:
        return "Every feature is inside the training range."
    if len(names) <= NAMED_OUTSIDE:
        return f"Outside the training range in: {', '.join(names)}."
    shown = ", ".join(names[:NAMED_OUTSIDE])
    return f"Outside the training range in {len(names)} features: {shown} and {len(names) - NAMED_OUTSIDE} more."


def show_answers(run: TrainedRun, twin: TwinRun, other: Predictor, point: np.ndarray) -> None:
    result = probe(run.model, twin.model, run.data, point, run.config.samples, run.config.seed)
    answer = method_answer(other.probs, run.data, point)
    classes = run.data.dataset.class_names
    st.subheader(plain(describe(result, classes, answer, other.name)))
    st.caption(plain(_outside(run, point)))
    best, other_best = int(np.argmax(result.mean_probs)), int(np.argmax(answer.mean_probs))
    chart, side = st.columns([2.6, 1], gap="medium")  # the numbers beside the chart: the slide stays one screen
    numbers = side.container(gap="xsmall", key="side_numbers")
    numbers.metric(plain(f"BNN: {classes[best]}"), f"{result.mean_probs[best]:.1%}", help="Mean of the samples.")
    numbers.metric(
        "Epistemic",
        f"{result.epistemic:.3f} nats",
        help=f"The samples disagree: missing knowledge. With the aleatoric part, {result.entropy:.3f} nats in all "
        "(the entropy of the mean prediction).",
    )
    numbers.metric("Aleatoric", f"{result.aleatoric:.3f} nats", help="Each sample is unsure: overlapping classes.")
    numbers.metric(
        plain(f"{other.heading}: {classes[other_best]}"),
        f"{answer.mean_probs[other_best]:.1%}",
        help=f"{other.detail}; epistemic {answer.epistemic:.3f} nats.",
    )
    label = "plain network (softmax)" if other.method == "plain" else f"{other.name} (mean, {other.detail})"
    figure = probe_spread(result.sample_probs, result.mean_probs, answer.mean_probs, classes, label, height=None)
    show(figure, key="probe_spread", where=chart, fit=True)
    if result.epistemic < EPISTEMIC_NOTABLE and not state.presenting():
        shared.textbook_offer(run, "here its samples hardly disagree")


def draw(run: TrainedRun) -> None:
    page.fit_charts(RESERVE, PRESENTING_RESERVE)
    twin = shared.twin_for(run)
    if twin is None:
        return
    label, start, choices = st.columns([0.9, 3.1, 1.3], vertical_alignment="center")
    label.markdown("**Start from**")
    with start:
        choose_preset(run)
    n_features = run.data.dataset.n_features
    with choices.popover("View", icon=":material/tune:", width="stretch", help=VIEW_HELP):
        method = methods.choose_compared()
        if state.presenting():  # the sliders fold away with the other controls
            point = feature_sliders(run)
    other = methods.predictor_for(run, method)
    if other is None:
        return
    answers = st.container()  # above the sliders: with 30 features the answer must not sit 30 sliders down
    if not state.presenting():
        with st.expander(f"Set each of the {n_features} features", expanded=n_features <= OPEN_SLIDERS):
            point = feature_sliders(run)
    state.remember_in_link(point=links.numbers_text(point))
    with answers:
        show_answers(run, twin, other, point)


INTRO = (
    "Shown a truck, a car-versus-bike classifier should not answer. A plain network still picks a class "
    "with confidence; a BNN's posterior samples should disagree. Set a point's features (the sliders reach "
    "far beyond the data) and compare the two."
)

shell.run_page("Show it a truck", "Show it a truck", INTRO, draw, regression=False)
