"""Is a BNN worth it? The BNN beside MC dropout, a deep ensemble, the plain network and an HMC reference: one table
and one map each, on the same data, split and network shape."""

from __future__ import annotations

import streamlit as st

from bnn_core import TrainedRun, feature_grid
from bnn_core.methods.alternatives import Predictor
from bnn_core.methods.compare import SHIFT_SPANS, compare, readable_text
from bnn_core.posterior.probing import method_map
from ui import shell, state
from ui.charts import show
from ui.figures.maps import grid_heatmap
from ui.figures.methods import explain
from ui.views import methods

ORDER = ("bnn", "plain", "dropout", "ensemble", "hmc")
MAP_RESOLUTION = 60
MAP_MEASURES = {"Epistemic (MI)": ("epistemic", "nats"), "Confidence": ("confidence", "confidence")}


def _predictors(run: TrainedRun) -> list[Predictor]:
    """Every method that is ready; each one not yet trained trains here, live, in turn."""
    ready = []
    for method in ORDER:
        predictor = methods.predictor_for(run, method)
        if predictor is not None:
            ready.append(predictor)
    return ready


def _maps(run: TrainedRun, predictors: list[Predictor]) -> None:
    """One map per method over the first two features, the others at their training median."""
    names = run.data.dataset.feature_names
    measure = st.segmented_control("Maps show", list(MAP_MEASURES), key="methods_map_measure") or "Epistemic (MI)"
    field, kind = MAP_MEASURES[measure]

    def compute():
        grid = feature_grid(run.data, 0, min(1, len(names) - 1), resolution=MAP_RESOLUTION)
        return grid, [method_map(p.probs, run.data, grid) for p in predictors]

    with st.spinner(f"Asking every method about {MAP_RESOLUTION**2:,} points…"):
        grid, maps = state.memo("methods_maps", (run, *predictors), compute)
    train = ~run.data.is_test
    x = run.data.dataset.x[train]
    points = (x[:, grid.x_feature], x[:, grid.y_feature], run.data.dataset.y[train])
    axes = (names[grid.x_feature], names[grid.y_feature])
    per_row = 2 if len(predictors) in (2, 4) else 3  # 4 maps as 2 × 2: each stays readable on a projector
    for start in range(0, len(predictors), per_row):
        columns = st.columns(per_row, gap="small")
        for column, predictor, result in zip(columns, predictors[start:], maps[start:], strict=False):
            title = f"{predictor.heading}: {predictor.detail}"
            classes = run.data.dataset.class_names
            figure = grid_heatmap(grid.xs, grid.ys, getattr(result, field), kind, title, axes, classes, points, 420)
            show(figure, key=f"methods_map_{predictor.method}", where=column)


def draw(run: TrainedRun) -> None:
    with st.expander("Settings of the alternatives", expanded=False):
        methods.settings_widgets()
    predictors = _predictors(run)
    table = state.memo("methods_table", (run, *predictors), lambda: compare(predictors, run.data, run.config.seed))
    st.subheader("Which to use?")
    st.dataframe(readable_text(table), hide_index=True, width="stretch")
    st.caption(
        f"Accuracy, NLL, ECE and Brier: on the held-out rows, from each method's mean prediction. OOD AUROC: how "
        f"well a score tells the held-out rows from a shifted set (points {SHIFT_SPANS:g} data span beyond the "
        "training box in random directions, plus the truck page's two points off the data); 0.5 is chance, 1 "
        "perfect. Far / near: mean MI on the shifted set over mean MI on the training rows. A single network "
        "has no MI, hence the blanks."
    )
    st.markdown(explain(table, run))
    if len(predictors) > 1:
        _maps(run, predictors)


INTRO = (
    "Mean-field variational inference, the BNN here, is one way to be uncertain. Practitioners also use MC dropout "
    "and deep ensembles; a long HMC run is the gold standard for small networks. Every method below is trained on "
    "the same data, split and network shape."
)

shell.run_page("Methods", "Is a BNN worth it?", INTRO, draw, regression=False)
