"""What the extra pages share: training a model from a page's button, the run's twin, and the offer of the
"textbook ELBO" settings that make the BNN's uncertainty visible."""

from __future__ import annotations

import streamlit as st

from bnn_core import BNNInputError, Dataset, RunConfig, TrainedRun, TwinRun, train_twin
from bnn_core.runs.gallery import textbook_config

from .. import sources, state
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


def twin_for(run: TrainedRun) -> TwinRun | None:
    """The run's deterministic twin, trained once per run (live, with Stop) and kept in the session.

    None if the user stopped its training: the page then shows a button to train it again.
    """
    kept = st.session_state.get(state.TWIN)
    if kept is not None and kept[0] is run:
        return kept[1]
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
        st.error(str(err))
        return None
    st.session_state[state.TWIN] = (run, twin)
    return twin


def is_textbook(config: RunConfig) -> bool:
    return config.train.kl_reduction == "sum" and config.model.prior_sigma >= 0.5


def textbook_offer(run: TrainedRun, where: str) -> None:
    """Under the article's weak KL the BNN is nearly deterministic; offer to retrain with the textbook ELBO."""
    if is_textbook(run.config):
        return
    n_train = int((~run.data.is_test).sum())
    suggestion = textbook_config(run.config, n_train)
    st.info(
        f"This model uses the article's KL: reduction *{run.config.train.kl_reduction}*, weight "
        f"{run.config.train.kl_weight:g}, prior σ₀ {run.config.model.prior_sigma:g}. The prior then weighs so little "
        f"that the posterior shrinks to almost one network, and {where}. The textbook ELBO (reduction *sum*, weight "
        f"{suggestion.train.kl_weight:g} ≈ 1/N, prior σ₀ 1) keeps the posterior wide where there was no data."
    )
    if st.button("Retrain with the textbook ELBO", key="retrain_textbook") and train_and_show(suggestion):
        st.rerun()
