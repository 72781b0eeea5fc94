"""The alternatives beside the BNN: their settings, the choice of which one a page compares with, and each one
trained once per run (live, with Stop) and kept in the session."""

from __future__ import annotations

import streamlit as st

from bnn_core import BNNInputError, TrainedRun, TwinRun
from bnn_core.methods.alternatives import (
    Predictor,
    bnn_predictor,
    laplace_predictor,
    method_epochs,
    plain_predictor,
    train_method,
)
from bnn_core.methods.options import DROPOUT_P, DROPOUT_SAMPLES, ENSEMBLE_MEMBERS, METHODS, MethodsConfig

from .. import state
from ..links import COMPARED as ALTERNATIVES
from ..text import plain
from ..training import live_training
from . import hmc, shared

SETTINGS = "bnn_methods_config"  # the session's MethodsConfig
TRAINED = "bnn_methods_trained"  # {method: (TrainedRun, MethodsConfig, Predictor)}, the latest of each method
PAUSED = "bnn_methods_paused"  # {method: TrainedRun}: the user stopped that method's training for that run
_WHAT_IT_IS = {
    "dropout": "a plain network trained with dropout on its hidden units, still dropping at prediction",
    "ensemble": "plain networks from different initial weights",
}


def methods_config() -> MethodsConfig:
    """The session's settings of the alternatives (the defaults until changed)."""
    return st.session_state.get(SETTINGS) or MethodsConfig()


def settings_widgets() -> MethodsConfig:
    """p and T of MC dropout and M of the ensemble; a change retrains that method when it is next shown."""
    config = methods_config()
    left, middle, right = st.columns(3)
    p = left.slider("Dropout p", *DROPOUT_P, value=config.dropout_p, step=0.05, key="method_dropout_p",
                    help="Probability of dropping each hidden unit, in training and at prediction.")  # fmt: skip
    t = middle.number_input("Dropout samples T", *DROPOUT_SAMPLES, value=config.dropout_samples, step=10,
                            key="method_dropout_t", help="Dropout masks averaged at prediction.")  # fmt: skip
    m = right.number_input("Ensemble members M", *ENSEMBLE_MEMBERS, value=config.ensemble_members, step=1,
                           key="method_members", help="Plain networks, each from its own initial weights.")  # fmt: skip
    try:
        chosen = MethodsConfig(dropout_p=float(p), dropout_samples=int(t), ensemble_members=int(m))
    except BNNInputError as err:
        st.error(plain(err))
        return config
    st.session_state[SETTINGS] = chosen
    return chosen


def choose_compared(label: str = "Beside the BNN") -> str:
    """The method a page sets beside the BNN: the plain network unless the user picks another."""
    if st.session_state.get(state.COMPARED) not in ALTERNATIVES:  # a click on the chosen one clears it
        st.session_state[state.COMPARED] = "plain"
    method = st.segmented_control(label, ALTERNATIVES, format_func=METHODS.get, key=state.COMPARED)
    if method and method != "plain":
        state.remember_in_link(**{"with": method})
    return method or "plain"


def kept_predictor(run: TrainedRun, method: str) -> Predictor | None:
    """The run's predictor for ``method`` if it needs no training or sampling (kept in the session, or shipped);
    else None, and nothing drawn."""
    if method == "bnn":
        return _bnn(run)
    if method == "plain":
        return _plain(run, shared.kept_twin(run))
    if method == "hmc":
        raise ValueError("the HMC reference says itself what it needs: use predictor_for")
    kept = st.session_state.get(TRAINED, {}).get(method)
    if method == "laplace":  # it has no settings of its own
        return kept[2] if kept is not None and kept[0] is run else None
    return kept[2] if kept is not None and kept[0] is run and kept[1] == methods_config() else None


def predictor_for(run: TrainedRun, method: str) -> Predictor | None:
    """The run's predictor for ``method``: trained once per run and setting and kept; None while it is not ready
    (stopped, refused, or an HMC reference still to compute), with the reason on screen."""
    if method == "bnn":
        return _bnn(run)
    if method == "plain":
        return _plain(run, shared.twin_for(run))
    if method == "hmc":
        return hmc.reference_for(run)
    if method == "laplace":
        return _laplace_for(run)
    config = methods_config()
    kept = st.session_state.setdefault(TRAINED, {}).get(method)
    if kept is not None and kept[0] is run and kept[1] == config:
        return kept[2]
    if _paused(run, method):
        if not st.button(f"Train the {METHODS[method]}", type="primary", key=f"train_{method}"):
            return None
        st.session_state[PAUSED].pop(method, None)
    epochs = method_epochs(method, run, config)
    heading = f"**Training the {METHODS[method]}**: {_WHAT_IT_IS[method]}; the same data and optimiser"
    try:
        predictor = live_training(heading, epochs, method, lambda report: train_method(run, method, config, report))
    except BNNInputError as err:
        st.error(plain(err))
        return None
    st.session_state[TRAINED][method] = (run, config, predictor)
    return predictor


def _bnn(run: TrainedRun) -> Predictor:
    """The run's own posterior as a predictor, one object per run: the Methods page's memos are keyed by the
    predictors, and a new one on every rerun computed its table and maps again."""
    return state.derived(run, "bnn_predictor", lambda: bnn_predictor(run))


def _plain(run: TrainedRun, twin: TwinRun | None) -> Predictor | None:
    """The run's plain twin as a predictor, one object per twin (as :func:`_bnn`); None without a twin."""
    if twin is None:
        return None
    return state.derived(run, "plain_predictor", lambda: plain_predictor(twin.model, twin.fit.train_seconds), twin)


def _laplace_for(run: TrainedRun) -> Predictor | None:
    """The Laplace approximation around the run's plain twin (shipped with a preset, else trained live), its
    curvature computed once per run and kept; None while the twin is not ready, or if the network is too large."""
    kept = st.session_state.setdefault(TRAINED, {}).get("laplace")
    if kept is not None and kept[0] is run:
        return kept[2]
    twin = shared.twin_for(run)
    if twin is None:
        return None
    try:
        with st.spinner("Fitting the Laplace approximation around the plain network…"):
            predictor = laplace_predictor(run, twin.model, twin.fit.train_seconds)
    except BNNInputError as err:
        st.error(plain(err))
        return None
    st.session_state[TRAINED]["laplace"] = (run, methods_config(), predictor)
    return predictor


def _paused(run: TrainedRun, method: str) -> bool:
    """True if the user stopped ``method``'s training for this run (said once, when it happened)."""
    paused = st.session_state.setdefault(PAUSED, {})
    mark = st.session_state.get(state.TRAINING)
    if mark is not None and mark.what == method:  # the previous script run ended inside that training
        del st.session_state[state.TRAINING]
        st.info(f"Training of the {METHODS[method]} stopped after {mark.step:,} of {mark.epochs:,} steps.")
        paused[method] = run
    return paused.get(method) is run


def listed(names: list[str]) -> str:
    """ "the plain network, the MC dropout and the deep ensemble"."""
    named = [f"the {name}" for name in names]
    return named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
