"""The Methods page for a regression run: every method's bands on one shared axis, and the regression table (RMSE,
NLL, 90% coverage, gap ratio).

Arriving trains nothing: the BNN, anything trained earlier in the session and a kept HMC reference are shown; a
button trains the others, live, with Stop. They are kept per run and settings beside the classification methods.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from bnn_core import BNNInputError, TrainedRun
from bnn_core.methods.alternatives import method_epochs
from bnn_core.methods.options import METHODS
from bnn_core.methods.regression import (
    RegressionPredictor,
    bnn_regression,
    laplace_regression,
    plain_regression,
    train_regression_method,
    train_regression_twin,
)
from bnn_core.methods.regression_table import compare_regression, gap_inputs, readable_regression
from bnn_core.posterior.regression import axis_grid, in_target_units

from .. import page, state
from ..charts import show
from ..figures.method_bands import method_bands_figure
from ..figures.methods import explain_regression
from ..text import plain
from ..training import live_training
from . import hmc, methods

ORDER = ("bnn", "plain", "dropout", "ensemble", "laplace", "hmc")
TRAINED_ON_CLICK = ("plain", "dropout", "ensemble", "laplace")
TWIN = "bnn_methods_regression_twin"  # (TrainedRun, RegressionTwin): the plain network, kept for Laplace
BANDS, TABLE = "Bands", "Table"  # in presenter mode the slide shows one or the other
RESERVE, PRESENTING_RESERVE = 560, 300  # px of the window above and below the chart (ui.page.fit_charts)
NORMAL_HEIGHT = 560  # px of the chart under the table in normal mode
TRAIN_HELP = "Each trains on the same rows, split and network shape as the BNN, live, with Stop."
_WHAT_IT_IS = {
    "plain": "one network on the Gaussian NLL",
    "dropout": "a plain network trained with dropout on its hidden units, still dropping at prediction",
    "ensemble": "plain networks from different initial weights, each with its own noise σ",
}
CAPTION = (
    "RMSE, NLL and 90% coverage: on the held-out rows, in the target's units; the NLL is that of the normal with the "
    "method's mean and total std. Gap ratio: the epistemic std in the middle of the data's gap (shaded) over the "
    "larger at its two edges; above 1 the band bulges between the data, as an exact posterior's does. A single "
    "network has no epistemic part, hence the blank. The HMC reference needs a fixed noise σ and a small network; "
    "it is under Settings."
)


def kept_regression(run: TrainedRun, method: str) -> RegressionPredictor | None:
    """The run's predictor for ``method`` if it needs no training (the BNN, or kept in the session); else None."""
    if method == "bnn":  # one object per run: the page's memos are keyed by the predictors
        return state.derived(run, "bnn_regression", lambda: bnn_regression(run))
    kept = st.session_state.get(methods.TRAINED, {}).get(method)
    if kept is None or kept[0] is not run:
        return None
    settings_matter = method in ("dropout", "ensemble")
    return kept[2] if not settings_matter or kept[1] == methods.methods_config() else None


def trained_regression(run: TrainedRun, method: str) -> RegressionPredictor | None:
    """The run's predictor for ``method``, trained here, live, if not kept; None if stopped or refused."""
    ready = kept_regression(run, method)
    if ready is not None:
        return ready
    config = methods.methods_config()
    try:
        if method in ("plain", "laplace"):  # both from the one plain twin, trained once per run
            predictor = _from_twin(run, method)
        else:
            heading = f"**Training the {METHODS[method]}**: {_WHAT_IT_IS[method]}; the same data and optimiser"
            epochs = method_epochs(method, run, config)
            predictor = live_training(
                heading,
                epochs,
                method,
                lambda report: train_regression_method(run, method, config, report),
                regression=True,
            )
    except BNNInputError as err:
        st.error(plain(err))
        return None
    if predictor is not None:
        st.session_state.setdefault(methods.TRAINED, {})[method] = (run, config, predictor)
    return predictor


def _from_twin(run: TrainedRun, method: str) -> RegressionPredictor | None:
    """The plain network, or the Laplace approximation around it; the twin is kept per run for both."""
    kept = st.session_state.get(TWIN)
    twin = kept[1] if kept is not None and kept[0] is run else None
    if twin is None:
        heading = f"**Training the {METHODS['plain']}**: {_WHAT_IT_IS['plain']}; the same data and optimiser"
        epochs = run.config.train.epochs
        twin = live_training(
            heading, epochs, "plain", lambda report: train_regression_twin(run, None, report), regression=True
        )
        if twin.fit.cancelled:
            return None
        st.session_state[TWIN] = (run, twin)
    if method == "plain":
        return plain_regression(twin)
    with st.spinner("Fitting the Laplace approximation around the plain network…"):
        return laplace_regression(run, twin)


def _header(run: TrainedRun) -> tuple[str, bool, RegressionPredictor | None]:
    """Bands or table (presenter mode), the button that trains the missing methods, and the Settings pop-over."""
    shown, train, settings = st.columns([2.4, 2.6, 1.3], vertical_alignment="center")
    choice = BANDS
    if state.presenting():
        choice = shown.segmented_control("Slide shows", [BANDS, TABLE], default=BANDS, key="methods_regression_show",
                                         label_visibility="collapsed") or BANDS  # fmt: skip
    with settings.popover("Settings", icon=":material/tune:", width="stretch", help="Settings of the alternatives"):
        methods.settings_widgets()
        st.markdown("**The HMC reference**")
        reference = hmc.reference_for(run)  # a kept reference, or what it takes; sampling only on a click
    missing = [METHODS[m] for m in TRAINED_ON_CLICK if kept_regression(run, m) is None]
    pressed = bool(missing) and train.button(
        "Train the alternatives", type="primary", key="methods_train", help=_train_help(missing)
    )
    return choice, pressed, reference if isinstance(reference, RegressionPredictor) else None


def _train_help(missing: list[str]) -> str:
    return f"Train {methods.listed(missing)}. {TRAIN_HELP}"


def _predictors(run: TrainedRun, train: bool, reference: RegressionPredictor | None) -> list[RegressionPredictor]:
    """Every method that is ready, in :data:`ORDER`; with ``train``, the missing ones train here in turn."""
    ready = []
    for method in ORDER:
        if method == "hmc":
            predictor = reference
        else:
            predictor = kept_regression(run, method)
            if predictor is None and train:
                predictor = trained_regression(run, method)
        if predictor is not None:
            ready.append(predictor)
    return ready


def _chart(run: TrainedRun, predictors: list[RegressionPredictor], table: pd.DataFrame) -> None:
    """Each method's mean, 90% interval and its epistemic part along the first input, one panel each."""
    dataset = run.data.dataset
    raw = axis_grid(run.data, feature=0)
    bands = state.memo(
        "methods_regression_bands",
        (run, *predictors),
        lambda: [in_target_units(p.bands(run.data.inputs(raw)), run.data) for p in predictors],
    )
    titles = [
        p.heading if np.isnan(ratio) else f"{p.heading} · gap ratio {ratio:.2f}"
        for p, ratio in zip(predictors, table["gap_ratio"].astype(float), strict=True)
    ]
    train = ~run.data.is_test
    points = (dataset.x[train, 0], dataset.y[train])
    edges = gap_inputs(run.data)
    gap = None if edges is None else (float(edges[0, 0]), float(edges[2, 0]))
    height = None if state.presenting() else NORMAL_HEIGHT
    names = (dataset.feature_names[0], dataset.target_name)
    figure = method_bands_figure(raw[:, 0], list(zip(titles, bands, strict=True)), points, names, gap, height)
    show(figure, key="methods_bands", name=f"{state.run_label(run)}-methods", fit=state.presenting())


def _table(table: pd.DataFrame) -> None:
    st.dataframe(readable_regression(table), hide_index=True, width="stretch")


def draw(run: TrainedRun) -> None:
    """The regression Methods page for ``run``."""
    page.fit_charts(RESERVE, PRESENTING_RESERVE)
    shown, pressed, reference = _header(run)
    predictors = _predictors(run, pressed, reference)
    if pressed:
        st.rerun()  # the header's button goes, with every method ready
    table = state.memo("methods_regression_table", (run, *predictors),
                       lambda: compare_regression(predictors, run.data))  # fmt: skip
    if state.presenting():
        if shown == TABLE:
            _table(table)
            st.markdown(explain_regression(table))
        else:
            _chart(run, predictors, table)
        return
    _table(table)
    _chart(run, predictors, table)
    st.caption(CAPTION)
    st.markdown(explain_regression(table))
