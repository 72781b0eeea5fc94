"""Uncertainty map: the BNN beside the plain network (or another method) over two features, far beyond the data."""

from __future__ import annotations

import numpy as np
import streamlit as st

from bnn_core import FeatureGrid, TrainedRun, bnn_map, feature_grid, inside_data, training_median
from bnn_core.posterior.probing import GRID_MARGIN, map_resolution, method_map
from ui import links, page, shell, state
from ui.charts import show
from ui.figures.maps import grid_heatmap
from ui.text import plain
from ui.views import methods, regression, shared

MEASURES = {  # label: (GridMap field, colour-bar kind, the link's word)
    "Confidence": ("confidence", "confidence", "confidence"),
    "Predicted class": ("predicted", "class", "class"),
    "Total uncertainty": ("entropy", "nats", "total"),
    "Epistemic": ("epistemic", "nats", "epistemic"),
    "Aleatoric": ("aleatoric", "nats", "aleatoric"),
}
MEASURE_OF = {word: label for label, (_, _, word) in MEASURES.items()}
HOLD_CHOICES = ("training median", "a point I choose")
SHOW_WORD = "map_show"  # the view's record of the colouring, as links name it
RESERVE, PRESENTING_RESERVE = 380, 345  # px of the window above and below the maps (ui.page.fit_charts)


def _held_values(run: TrainedRun, x_feature: int, y_feature: int) -> tuple[float, ...]:
    """Values of the features not on the axes: the training median, or a point the user sets."""
    names, raw = run.data.dataset.feature_names, run.data.dataset.x
    base = training_median(run.data)
    others = [j for j in range(len(names)) if j not in (x_feature, y_feature)]
    if not others:
        return tuple(base)
    chosen = st.radio("Hold the other features at", HOLD_CHOICES, horizontal=True, key=state.MAP_HOLD)
    if chosen == HOLD_CHOICES[1]:
        for j in others:
            low, high = float(raw[:, j].min()), float(raw[:, j].max())
            key = state.HELD_VALUE + names[j]
            if key in st.session_state:  # from a link or an earlier visit: inside the slider's range
                st.session_state[key] = float(np.clip(st.session_state[key], low, high))
            else:
                st.session_state[key] = float(base[j])
            base[j] = st.slider(plain(names[j]), low, high, key=key)
        state.remember_in_link(hold=links.numbers_text(base))
    else:
        st.caption(plain(", ".join(f"{names[j]} = {base[j]:.3g}" for j in others)))
    return tuple(float(v) for v in base)


def _outside_share(run: TrainedRun, grid: FeatureGrid, values: np.ndarray) -> tuple[float, float]:
    """Mean of ``values`` inside and outside the box spanned by the training data."""
    axes = [grid.x_feature, grid.y_feature]
    inside = inside_data(grid.points[:, axes], run.data.dataset.x[:, axes]).reshape(values.shape)
    return float(values[inside].mean()), float(values[~inside].mean())


def _view(run: TrainedRun) -> tuple[str, str, str, tuple[float, ...], str]:
    """The colouring in view, and in the View pop-over the axes, the other features' values and the method beside
    the BNN: the axes, colouring, held values and method."""
    names = list(run.data.dataset.feature_names)
    for key, default in ((state.MAP_X, names[0]), (state.MAP_Y, names[min(1, len(names) - 1)])):
        if st.session_state.get(key) not in names:  # new, or an axis of another dataset
            st.session_state[key] = default
    view = st.session_state.setdefault(state.VIEW, {})
    if "map_measure" not in st.session_state:  # Streamlit forgot it on another page, or a link chose it
        st.session_state["map_measure"] = MEASURE_OF[view.get(SHOW_WORD, links.SHOWS[0])]
    shown, choices = st.columns([4, 1.3], vertical_alignment="center")
    measure = (
        shown.segmented_control("Show", list(MEASURES), key="map_measure", label_visibility="collapsed") or "Confidence"
    )
    view[SHOW_WORD] = MEASURES[measure][2]
    with choices.popover("View", icon=":material/tune:", width="stretch", help=VIEW_HELP):
        x_name = st.selectbox("Horizontal axis", names, key=state.MAP_X)
        y_name = st.selectbox("Vertical axis", names, key=state.MAP_Y)
        base = _held_values(run, names.index(x_name), names.index(y_name))
        method = methods.choose_compared()
    chosen = {"x": x_name, "y": y_name, "show": MEASURES[measure][2]}
    defaults = {"x": names[0], "y": names[min(1, len(names) - 1)], "show": links.SHOWS[0]}
    state.remember_in_link(**{name: value for name, value in chosen.items() if value != defaults[name]})
    return x_name, y_name, measure, base, method


VIEW_HELP = "The features on the axes, the values of the others, and the method beside the BNN"


def draw(run: TrainedRun) -> None:
    page.fit_charts(RESERVE, PRESENTING_RESERVE)
    if run.task == "regression":  # one input axis: the map is the band chart
        regression.bands_map(run)
        return
    names = list(run.data.dataset.feature_names)
    x_name, y_name, measure, base, method = _view(run)
    x_feature, y_feature = names.index(x_name), names.index(y_name)
    other = methods.predictor_for(run, method)
    if other is None:
        return
    samples = run.config.samples
    resolution = map_resolution(sum(run.config.model.hidden), samples)

    def compute():
        grid = feature_grid(run.data, x_feature, y_feature, np.array(base), resolution=resolution)
        return (
            grid,
            bnn_map(run.model, run.data, grid, samples, run.config.seed),
            method_map(other.probs, run.data, grid),
        )

    with st.spinner(f"Asking {samples} posterior samples about {resolution * resolution:,} points…"):
        grid, bnn, compared = state.memo("map", (run, other, x_feature, y_feature, base), compute)
    field, kind, _ = MEASURES[measure]
    train = ~run.data.is_test
    points = (run.data.dataset.x[train, x_feature], run.data.dataset.x[train, y_feature], run.data.dataset.y[train])
    axes = (x_name, y_name)
    classes = run.data.dataset.class_names
    bnn_side, other_side = st.columns(2, gap="medium")
    bnn_title = f"BNN ({samples} samples): {measure.lower()}"
    other_title = f"{other.heading}: {measure.lower()}"  # its settings are in the View pop-over and on Methods
    bnn_fig = grid_heatmap(grid.xs, grid.ys, getattr(bnn, field), kind, bnn_title, axes, classes, points, None)
    other_fig = grid_heatmap(grid.xs, grid.ys, getattr(compared, field), kind, other_title, axes, classes, points, None)
    show(bnn_fig, key="map_bnn", where=bnn_side, fit=True)
    show(other_fig, key="map_plain", where=other_side, fit=True)
    bnn_in, bnn_out = _outside_share(run, grid, bnn.confidence)
    other_in, other_out = _outside_share(run, grid, compared.confidence)
    st.markdown(
        f"**Beyond the data** (outside the box the training points span), the {other.name} is on average "
        f"**{other_out:.0%}** sure of its answer; the BNN **{bnn_out:.0%}**. Inside the box: {other_in:.0%} and "
        f"{bnn_in:.0%}. The map reaches {GRID_MARGIN:g} data spans past the data on each side."
    )
    if state.presenting():
        return
    if measure == "Epistemic" and method == "plain":
        st.caption("A plain network has one set of weights, so it has no epistemic term: its map is flat zero.")
    shared.textbook_offer(run, "far from the data it is almost as sure as the plain network")


INTRO = (
    "Both networks are asked about every point of a grid over two features (100 × 100 for most networks), "
    "reaching well beyond the data. Dots are the training rows. A plain network extrapolates with confidence; a "
    "BNN's posterior samples disagree where it has seen nothing."
)

HEADING = "Where does it know, and where does it guess?"
shell.run_page("Uncertainty map", HEADING, INTRO, draw)
