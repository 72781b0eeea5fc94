"""Is a BNN worth it? The BNN beside MC dropout, a deep ensemble, the plain network, Laplace and an HMC reference:
one table, and a map each in one figure, on the same data, split and network shape. For a regression, every
method's bands on one shared axis and the regression table (:mod:`ui.views.method_bands`).

Arriving trains nothing: the page shows the methods that are ready (the BNN, anything shipped with a gallery
preset or trained earlier in the session, a stored HMC reference); a button trains the others, live, with Stop.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from bnn_core import TrainedRun, feature_grid
from bnn_core.methods.alternatives import Predictor
from bnn_core.methods.compare import SHIFT_SPANS, compare, readable
from bnn_core.methods.options import METHODS
from bnn_core.posterior.probing import map_resolution, method_map
from ui import page, shell, state
from ui.charts import show
from ui.figures.method_maps import columns_for, figure_height, method_maps_figure
from ui.figures.methods import explain
from ui.views import method_bands, methods

ORDER = ("bnn", "plain", "dropout", "ensemble", "laplace", "hmc")
TRAINED_ON_CLICK = ("plain", "dropout", "ensemble", "laplace")  # Laplace fits around the plain network
FINEST_MAP = 60
MAP_MEASURES = {"Epistemic (MI)": ("epistemic", "nats"), "Confidence": ("confidence", "confidence")}
TABLE = "Table"  # in presenter mode, the slide's other choice: the table and what it says, instead of the maps
RESERVE, PRESENTING_RESERVE = 560, 300  # px of the window above and below the maps (ui.page.fit_charts)
ROW_PX = 240  # px of a row of maps in normal mode, its titles included: about the grid's aspect at 1280 px
# The table's long headings shortened, so that its columns fit beside the sidebar; the caption gives the rest.
SHORT_HEADINGS = {
    "test accuracy (%)": "accuracy (%)",
    "OOD AUROC (MI)": "AUROC (MI)",
    "OOD AUROC (max-softmax)": "AUROC (softmax)",
    "MI far − near (nats)": "MI far − near",
    "mean |Δp̄| to HMC": "|Δp̄| to HMC",
}
TRAIN_HELP = "Each trains on the same rows, split and network shape as the BNN, live, with Stop."


def _predictors(run: TrainedRun, train: bool, hmc: Predictor | None) -> list[Predictor]:
    """Every method that is ready, in :data:`ORDER`; with ``train``, the missing ones train here, live, in turn."""
    ready = []
    for method in ORDER:
        if method == "hmc":
            predictor = hmc
        else:
            predictor = methods.kept_predictor(run, method)
            if predictor is None and train:
                predictor = methods.predictor_for(run, method)
        if predictor is not None:
            ready.append(predictor)
    return ready


def _maps(run: TrainedRun, predictors: list[Predictor], measure: str) -> None:
    """Every method's map over the first two features, the others at their training median: one figure, a panel
    each on shared axes and one colour scale; on a slide it fills the window, else it takes a height per row."""
    names = run.data.dataset.feature_names
    field, kind = MAP_MEASURES[measure]
    resolution = map_resolution(sum(run.config.model.hidden), run.config.samples, FINEST_MAP)

    def compute():
        grid = feature_grid(run.data, 0, min(1, len(names) - 1), resolution=resolution)
        return grid, [method_map(p.probs, run.data, grid) for p in predictors]

    with st.spinner(f"Asking every method about {resolution**2:,} points…"):
        grid, maps = state.memo("methods_maps", (run, *predictors), compute)
    train = ~run.data.is_test
    x = run.data.dataset.x[train]
    points = (x[:, grid.x_feature], x[:, grid.y_feature], run.data.dataset.y[train])
    axes = (names[grid.x_feature], names[grid.y_feature])
    slide = state.presenting()
    columns = columns_for(len(predictors), slide)
    height = None if slide else figure_height(len(predictors), columns, ROW_PX)
    panels = [(p.heading, getattr(m, field)) for p, m in zip(predictors, maps, strict=True)]
    figure = method_maps_figure(grid.xs, grid.ys, panels, kind, axes, run.data.dataset.class_names, points, columns,
                                height)  # fmt: skip
    show(figure, key="methods_maps", name=f"{state.run_label(run)}-methods", fit=slide)


def _header(run: TrainedRun) -> tuple[str, bool, Predictor | None]:
    """The maps' measure, the button that trains the missing methods, and the Settings pop-over (the alternatives'
    settings, and the HMC reference's state): the measure, whether the button was pressed, and the HMC reference."""
    shown, train, settings = st.columns([2.4, 2.6, 1.3], vertical_alignment="center")
    choices = [*MAP_MEASURES, TABLE] if state.presenting() else list(MAP_MEASURES)
    if st.session_state.get("methods_map_measure") not in choices:
        st.session_state["methods_map_measure"] = choices[0]  # the table is presenter mode's choice alone
    measure = shown.segmented_control("Maps show", choices, key="methods_map_measure", label_visibility="collapsed")
    with settings.popover("Settings", icon=":material/tune:", width="stretch", help="Settings of the alternatives"):
        methods.settings_widgets()
        st.markdown("**The HMC reference**")
        hmc = methods.predictor_for(run, "hmc")  # a stored reference, or what it takes; sampling only on a click
    missing = [METHODS[m] for m in TRAINED_ON_CLICK if methods.kept_predictor(run, m) is None]
    pressed = bool(missing) and train.button(
        "Train the alternatives",
        type="primary",
        key="methods_train",
        help=f"Train {methods.listed(missing)}. {TRAIN_HELP}",
    )
    return measure or "Epistemic (MI)", pressed, hmc


def _table(table: pd.DataFrame) -> None:
    """The "which to use?" table, its long headings shortened; a static table whose cells wrap, so that every
    figure and interval is read whole at any width (the grid's columns, as wide as their headings, cut them)."""
    shown = readable(table).rename(columns=SHORT_HEADINGS)
    # Word joiners around an interval's dash: a narrow column breaks its cell before the bracket, not inside it
    st.table(shown.map(lambda cell: cell.replace("–", "\u2060–\u2060")), hide_index=True)


def draw(run: TrainedRun) -> None:
    if run.task == "regression":
        method_bands.draw(run)
        return
    page.fit_charts(RESERVE, PRESENTING_RESERVE)
    measure, pressed, hmc = _header(run)
    predictors = _predictors(run, pressed, hmc)
    if pressed:
        st.rerun()  # the header's button goes, with every method ready
    table = state.memo("methods_table", (run, *predictors), lambda: compare(predictors, run.data, run.config.seed))
    if state.presenting():  # a slide shows the table or the maps
        if measure == TABLE:
            _table(table)
            st.markdown(explain(table, run))
        elif len(predictors) > 1:
            _maps(run, predictors, measure)
        return
    if len(predictors) > 1:  # first, as on a slide: the table's wrapped rows pushed the maps off the first screen
        _maps(run, predictors, measure)
    _table(table)
    st.caption(
        f"Accuracy, NLL, ECE and Brier: on the held-out rows, from each method's mean prediction. OOD AUROC: how "
        f"well a score tells the held-out rows from a shifted set (points {SHIFT_SPANS:g} data span beyond the "
        "training box in random directions, plus the truck page's two points off the data); 0.5 is chance, 1 "
        "perfect. MI far − near: mean MI on the shifted set minus mean MI on the training rows, in nats (their "
        "ratio, of two small numbers, swings wildly between seeds). In brackets: 90% bootstrap intervals over the "
        "rows. AUROC (softmax): with 1 − the top probability as the score. |Δp̄| to HMC: the mean |Δ| of the mean "
        "prediction to the HMC reference's over the maps' grid. A single network has no MI, hence the blanks. The "
        "HMC reference, and what it takes, are under Settings."
    )
    st.markdown(explain(table, run))


INTRO = (
    "Mean-field variational inference, the BNN here, is one way to be uncertain. Practitioners also use MC dropout "
    "and deep ensembles; a long HMC run is the gold standard for small networks. Every method below is trained on "
    "the same data, split and network shape, when you ask for it."
)

shell.run_page("Methods", "Is a BNN worth it?", INTRO, draw)
