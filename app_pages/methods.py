"""Is a BNN worth it? The BNN beside MC dropout, a deep ensemble, the plain network and an HMC reference: one table
and one map each, on the same data, split and network shape.

Arriving trains nothing: the page shows the methods that are ready (the BNN, anything shipped with a gallery
preset or trained earlier in the session, a stored HMC reference); a button trains the others, live, with Stop.
"""

from __future__ import annotations

import streamlit as st

from bnn_core import TrainedRun, feature_grid
from bnn_core.methods.alternatives import Predictor
from bnn_core.methods.compare import SHIFT_SPANS, compare, readable_text
from bnn_core.methods.options import METHODS
from bnn_core.posterior.probing import map_resolution, method_map
from ui import page, shell, state
from ui.charts import show
from ui.figures.maps import grid_heatmap
from ui.figures.methods import explain
from ui.views import methods

ORDER = ("bnn", "plain", "dropout", "ensemble", "hmc")
TRAINED_ON_CLICK = ("plain", "dropout", "ensemble")
FINEST_MAP = 60
MAP_MEASURES = {"Epistemic (MI)": ("epistemic", "nats"), "Confidence": ("confidence", "confidence")}
TABLE = "Table"  # in presenter mode, the slide's other choice: the table and what it says, instead of the maps
RESERVE, PRESENTING_RESERVE = 560, 290  # px of the window above and below the maps (ui.page.fit_charts)
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
    """One map per method over the first two features, the others at their training median: in presenter mode
    all in one row, else two or three to a row."""
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
    per_row = len(predictors) if slide else 2 if len(predictors) in (2, 4) else 3
    for start in range(0, len(predictors), per_row):
        columns = st.columns(per_row, gap="small")
        row = list(zip(columns, predictors[start:], maps[start:], strict=False))
        for place, (column, predictor, result) in enumerate(row):
            title = predictor.heading if per_row > 3 else f"{predictor.heading}: {predictor.detail}"
            classes = run.data.dataset.class_names
            height = None if slide else 420
            figure = grid_heatmap(grid.xs, grid.ys, getattr(result, field), kind, title, axes, classes, points, height)
            if per_row > 3 and place < len(row) - 1:  # one colour bar for the row: every map has the same scale
                figure.update_traces(showscale=False, selector={"type": "heatmap"})
            show(figure, key=f"methods_map_{predictor.method}", where=column, fit=slide)


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
        f"Train {_listed(missing)}", type="primary", key="methods_train", help=TRAIN_HELP
    )
    return measure or "Epistemic (MI)", pressed, hmc


def _listed(names: list[str]) -> str:
    """ "the plain network, the MC dropout and the deep ensemble"."""
    named = [f"the {name}" for name in names]
    return named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"


def draw(run: TrainedRun) -> None:
    page.fit_charts(RESERVE, PRESENTING_RESERVE)
    measure, pressed, hmc = _header(run)
    predictors = _predictors(run, pressed, hmc)
    if pressed:
        st.rerun()  # the header's button goes, with every method ready
    table = state.memo("methods_table", (run, *predictors), lambda: compare(predictors, run.data, run.config.seed))
    if state.presenting():  # a slide shows the table or the maps
        if measure == TABLE:
            st.dataframe(readable_text(table), hide_index=True, width="stretch")
            st.markdown(explain(table, run))
        elif len(predictors) > 1:
            _maps(run, predictors, measure)
        return
    st.dataframe(readable_text(table), hide_index=True, width="stretch")
    if len(predictors) > 1:
        _maps(run, predictors, measure)
    st.caption(
        f"Accuracy, NLL, ECE and Brier: on the held-out rows, from each method's mean prediction. OOD AUROC: how "
        f"well a score tells the held-out rows from a shifted set (points {SHIFT_SPANS:g} data span beyond the "
        "training box in random directions, plus the truck page's two points off the data); 0.5 is chance, 1 "
        "perfect. Far / near: mean MI on the shifted set over mean MI on the training rows. A single network "
        "has no MI, hence the blanks. The HMC reference, and what it takes, are under Settings."
    )
    st.markdown(explain(table, run))


INTRO = (
    "Mean-field variational inference, the BNN here, is one way to be uncertain. Practitioners also use MC dropout "
    "and deep ensembles; a long HMC run is the gold standard for small networks. Every method below is trained on "
    "the same data, split and network shape, when you ask for it."
)

shell.run_page("Methods", "Is a BNN worth it?", INTRO, draw, regression=False)
