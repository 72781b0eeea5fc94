"""The sidebar form: widgets → a validated RunConfig. Moving a slider never retrains; only Train does."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import streamlit as st

from bnn_core import MAX_EPOCHS, DataConfig, ModelConfig, RunConfig, TrainConfig

from . import state

PRIOR_SIGMAS = (0.001, 0.003, 0.01, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0)
KL_WEIGHTS = (0.0, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
LEARNING_RATES = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3)
SAMPLE_COUNTS = (10, 20, 50, 100, 200, 500, 1000)


def textbook_config(config: RunConfig, n_train: int) -> RunConfig:
    """``config`` with the textbook ELBO: KL summed, weighted ≈ 1/N, and a unit prior.

    ``mean`` with weight 0.01 (the article) weighs the prior hundreds of times less, so the
    posterior collapses to nearly one network and the BNN becomes as sure as a plain one.
    """
    weight = min(KL_WEIGHTS[1:], key=lambda w: abs(math.log(w * n_train)))  # the form's value nearest 1/N
    return replace(
        config,
        model=replace(config.model, prior_sigma=1.0),
        train=replace(config.train, kl_reduction="sum", kl_weight=weight),
    )


def _widget_values(config: RunConfig, dataset: str) -> dict[str, Any]:
    return {
        state.DATASET_WIDGET: dataset,
        "form_test_size": config.data.test_size,
        "form_standardise": config.data.scale == "standard",
        "form_prior_mu": config.model.prior_mu,
        "form_prior_sigma": config.model.prior_sigma,
        "form_kl_weight": config.train.kl_weight,
        "form_kl_reduction": config.train.kl_reduction,
        "form_epochs": config.train.epochs,
        "form_lr": config.train.lr,
        "form_layers": len(config.model.hidden),
        "form_units": config.model.hidden[0],
        "form_activation": config.model.activation,
        "form_samples": config.samples,
        "form_seed": config.seed,
    }


def _seed_widgets(config: RunConfig, dataset: str) -> None:
    """Give each form widget its value from the last submitted settings, unless it already has one.

    Streamlit forgets widget values on other pages; this brings them back.
    """
    if st.session_state.get(state.DATASET_WIDGET) not in state.dataset_names():
        st.session_state.pop(state.DATASET_WIDGET, None)  # e.g. an uploaded CSV was replaced
    for key, value in _widget_values(config, dataset).items():
        st.session_state.setdefault(key, value)


def _load_preset(textbook: bool) -> None:
    """Button callback: put the article's settings, or the textbook ELBO, into the form (Train still needed).

    The form is redrawn under a new key, so a value typed but not yet submitted cannot linger
    in the browser and be sent with the next Train instead of the preset shown.
    """
    dataset = st.session_state.get(state.DATASET_WIDGET, state.chosen_dataset_name())
    config = RunConfig()
    if textbook:
        test_size = st.session_state.get("form_test_size", config.data.test_size)
        n_train = round(state.dataset_by_name(dataset).n_rows * (1 - test_size))
        config = textbook_config(config, max(n_train, 1))
        config = replace(config, data=replace(config.data, test_size=test_size))
    st.session_state.update(_widget_values(config, dataset))
    st.session_state[state.FORM_VERSION] = st.session_state.get(state.FORM_VERSION, 0) + 1
    name = "the textbook ELBO" if textbook else "the article's settings"
    st.session_state[state.PRESET_LOADED] = f"Loaded {name} into the form. Press Train to use them."


def preset_buttons() -> None:
    """Two one-click starting points above the form."""
    st.sidebar.button(
        "Load the article's settings",
        on_click=_load_preset,
        args=(False,),
        width="stretch",
        help="Prior N(0, 0.1²), KL weight 0.01 with 'mean', 3000 epochs: the article's network.",
    )
    st.sidebar.button(
        "Load the textbook ELBO",
        on_click=_load_preset,
        args=(True,),
        width="stretch",
        help="KL 'sum' weighted ≈ 1/N, prior σ₀ = 1, 3000 epochs: the posterior stays wide where data is missing.",
    )
    message = st.session_state.pop(state.PRESET_LOADED, None)
    if message:
        st.toast(message)
        st.sidebar.info(message)


def _number(value: float) -> str:
    return f"{value:g}"


def form_key() -> str:
    """The settings form's key; it changes when a preset is loaded (see :func:`_load_preset`)."""
    return f"settings_v{st.session_state.get(state.FORM_VERSION, 0)}"


def settings_form() -> RunConfig | None:
    """Draw the settings form in the sidebar; return the settings when Train is pressed, else None.

    Raises:
        BNNInputError: a value the engine refuses (the widgets' ranges normally prevent it).
    """
    last: RunConfig = st.session_state.get(state.FORM_CONFIG, RunConfig())
    _seed_widgets(last, state.chosen_dataset_name())
    preset_buttons()
    with st.sidebar.form(form_key(), border=False):
        st.subheader("Data")
        st.selectbox(
            "Dataset",
            state.dataset_names(),
            key=state.DATASET_WIDGET,
            help="What the network learns to classify. Upload your own CSV on the Data page.",
        )
        st.slider(
            "Test share",
            0.0,
            0.9,
            step=0.05,
            key="form_test_size",
            help="Share of rows held out (stratified) for honest accuracy. 0 trains on every row, as the article.",
        )
        st.checkbox(
            "Standardise features",
            key="form_standardise",
            help="Rescale each feature to mean 0, std 1 using the training rows only. Charts still show raw values.",
        )
        st.subheader("Prior")
        st.slider(
            "Prior mean μ₀",
            -1.0,
            1.0,
            step=0.05,
            key="form_prior_mu",
            help="Centre of the Gaussian prior every weight starts from and is pulled towards.",
        )
        st.select_slider(
            "Prior spread σ₀ (log scale)",
            PRIOR_SIGMAS,
            key="form_prior_sigma",
            format_func=_number,
            help="Width of the prior and each weight's starting spread. Wider = more varied networks.",
        )
        st.subheader("KL term")
        st.select_slider(
            "KL weight (log scale)",
            KL_WEIGHTS,
            key="form_kl_weight",
            format_func=_number,
            help="Loss = cross-entropy + weight × KL. Higher pulls the weights towards the prior: more uncertainty.",
        )
        st.radio(
            "KL reduction",
            ("mean", "sum"),
            key="form_kl_reduction",
            horizontal=True,
            help="torchbnn BKLLoss: 'mean' divides the KL by the number of weights (803 for iris), 'sum' does not, "
            "so 'sum' makes the prior far stronger.",
        )
        st.subheader("Training")
        st.number_input(
            "Epochs",
            min_value=1,
            max_value=MAX_EPOCHS,
            step=100,
            key="form_epochs",
            help="Optimisation steps over the whole training set, 1 to 100,000 (the article uses 3000).",
        )
        st.select_slider(
            "Learning rate",
            LEARNING_RATES,
            key="form_lr",
            format_func=_number,
            help="Adam's step size. Too high and training can diverge.",
        )
        layers, units = st.columns(2)
        layers.number_input("Hidden layers", min_value=1, max_value=4, key="form_layers", help="1 to 4.")
        units.number_input(
            "Units per layer",
            min_value=1,
            max_value=1024,
            step=10,
            key="form_units",
            help="Width of each hidden layer (the article: one layer of 100).",
        )
        st.selectbox("Activation", ("relu", "tanh", "sigmoid"), key="form_activation", help="Between layers.")
        st.subheader("Sampling")
        st.select_slider(
            "Posterior samples",
            SAMPLE_COUNTS,
            key="form_samples",
            help="Networks drawn from the posterior to measure each point's uncertainty.",
        )
        st.number_input(
            "Seed",
            min_value=0,
            max_value=2**32 - 1,
            key="form_seed",
            help="Fixes the split, the starting weights and every draw: the same seed gives the same run.",
        )
        submitted = st.form_submit_button("Train", type="primary", width="stretch")
    if not submitted:
        return None
    return _config_from_widgets()


def _config_from_widgets() -> RunConfig:
    s = st.session_state
    config = RunConfig(
        data=DataConfig(
            dataset=s[state.DATASET_WIDGET],
            test_size=s["form_test_size"],
            scale="standard" if s["form_standardise"] else "none",
        ),
        model=ModelConfig(
            hidden=(s["form_units"],) * s["form_layers"],
            activation=s["form_activation"],
            prior_mu=s["form_prior_mu"],
            prior_sigma=s["form_prior_sigma"],
        ),
        train=TrainConfig(
            epochs=s["form_epochs"], lr=s["form_lr"], kl_weight=s["form_kl_weight"], kl_reduction=s["form_kl_reduction"]
        ),
        seed=s["form_seed"],
        samples=s["form_samples"],
    )
    st.session_state[state.FORM_CONFIG] = config
    st.session_state[state.CHOSEN_DATASET] = config.data.dataset
    return config
