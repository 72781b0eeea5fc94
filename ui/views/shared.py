"""What the extra pages share: training a model from a page's button, the run's twin, and the offer of the
"textbook ELBO" settings that make the BNN's uncertainty visible."""

from __future__ import annotations

import streamlit as st

from bnn_core import BNNInputError, Dataset, RunConfig, TrainedRun, TwinRun, train_twin
from bnn_core.posterior.health import posterior_kind, prior_factor
from bnn_core.runs.gallery import textbook_config

from .. import sources, state
from ..text import plain
from ..training import interrupted_message, live_training, refusal, train_live


def train_and_show(config: RunConfig, dataset: Dataset | None = None, source: str = "") -> TrainedRun | None:
    """Train with live progress and put the result on screen; show the engine's refusal as an error.

    ``dataset`` is the data to train on when it is not yet in the session (a new upload), and
    ``source`` names it in a refusal. A refusal leaves everything on screen as it was.
    """
    try:
        run = train_live(dataset or state.dataset_by_name(config.data.dataset), config)
    except BNNInputError as err:
        st.error(refusal(err, source))
        return None
    st.session_state[state.FORM_CONFIG] = config
    preset = sources.preset_for(config)
    state.show_run(run, preset=preset.slug if preset else None)
    return run


def kept_twin(run: TrainedRun) -> TwinRun | None:
    """The run's deterministic twin if it needs no training: kept in the session, or shipped with a gallery preset."""
    kept = st.session_state.get(state.TWIN)
    if kept is not None and kept[0] is run:
        return kept[1]
    shipped = sources.gallery_twin(run)
    if shipped is not None:
        st.session_state[state.TWIN] = (run, shipped)
    return shipped


def twin_for(run: TrainedRun) -> TwinRun | None:
    """The run's deterministic twin: shipped with a gallery preset, or trained once per run (live, with Stop) and
    kept in the session.

    None if the user stopped its training: the page then shows a button to train it again.
    """
    kept = kept_twin(run)
    if kept is not None:
        return kept
    message = interrupted_message("twin")
    if message:
        st.session_state[state.TWIN_PAUSED] = run
    if st.session_state.get(state.TWIN_PAUSED) is run:
        st.info(message or "The comparison on this page needs the plain network, which is not trained yet.")
        if not st.button("Train the plain network", type="primary", key="train_twin"):
            return None
        st.session_state.pop(state.TWIN_PAUSED, None)
    epochs = run.config.train.epochs
    heading = f"**Training the plain network**: the same data, {epochs:,} epochs and optimiser, no KL term"
    try:
        twin = live_training(heading, epochs, "twin", lambda report: train_twin(run, report))
    except BNNInputError as err:
        st.error(plain(err))
        return None
    st.session_state[state.TWIN] = (run, twin)
    return twin


def is_bayesian(run: TrainedRun) -> bool:
    """True if the run's KL term gives the prior the weight Bayes' rule gives it (sum, 1/N, or the same number)."""
    rows, parameters = run.metrics.get("train_rows"), run.metrics.get("bayes_parameters")
    if not rows or not parameters:
        return False
    return abs(prior_factor(run.config, int(rows), int(parameters)) - 1) < 1e-6


def textbook_offer(run: TrainedRun, where: str) -> None:
    """When the posterior is not Bayes' (the article's KL makes it nearly one network), say what it is and offer
    to retrain with the textbook ELBO."""
    if is_bayesian(run):
        return
    kind = posterior_kind(run.config, int(run.metrics["train_rows"]), int(run.metrics["bayes_parameters"]))
    st.info(
        f"This model has {kind}, so {where}. The textbook ELBO (KL sum, weight exactly 1/N, prior σ₀ 1) "
        "gives the Bayesian posterior, which stays wide where there was no data."
    )
    if st.button("Retrain with the textbook ELBO", key="retrain_textbook") and train_and_show(
        textbook_config(run.config)
    ):
        st.rerun()
