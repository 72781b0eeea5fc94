"""The sidebar form: widgets → a validated RunConfig. Moving a slider never retrains; only Train does."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import streamlit as st

from bnn_core import SETTINGS, RunConfig, Setting, with_article_training
from bnn_core.runs.gallery import textbook_config
from bnn_core.settings import weight_text

from . import state

WIDGET_PREFIX = "form_"  # a setting's widget key is this plus its name; the hidden layers take two widgets
NOT_WIDGETS = ("hidden", "task")  # the layers take two widgets; the task is the chosen dataset's
LAYERS_KEY, UNITS_KEY = "form_layers", "form_units"
LAYERS_LABEL, UNITS_LABEL = "Hidden layers", "Units per layer"


def _widget_values(config: RunConfig, dataset: str) -> dict[str, Any]:
    """The value of every form widget for ``config``."""
    flat = config.to_flat()
    values = {f"{WIDGET_PREFIX}{name}": flat[name] for name in SETTINGS if name not in NOT_WIDGETS}
    values[f"{WIDGET_PREFIX}kl_weight"] = weight_text(config.train.kl_weight)  # typed: a number, or 1/N
    values[state.DATASET_WIDGET] = dataset
    values[LAYERS_KEY] = len(config.model.hidden)
    if config.model.hidden:  # no hidden layer keeps the units last shown
        values[UNITS_KEY] = config.model.hidden[0]
    return values


def _seed_widgets(config: RunConfig, dataset: str) -> None:
    """Give each form widget its value from the last submitted settings, unless it already has one.

    Streamlit forgets widget values on other pages; this brings them back.
    """
    if st.session_state.get(state.DATASET_WIDGET) not in state.dataset_names():
        st.session_state.pop(state.DATASET_WIDGET, None)  # e.g. an uploaded CSV was replaced
    for key, value in _widget_values(config, dataset).items():
        st.session_state.setdefault(key, value)


def fill_form(config: RunConfig, message: str | None = None) -> None:
    """Put ``config`` into the form (Train still needed to use it), and say ``message`` once, if given.

    The form is redrawn under a new key, so a value typed but not yet submitted cannot linger
    in the browser and be sent with the next Train instead of the values shown.
    """
    st.session_state.update(_widget_values(config, config.data.dataset))
    st.session_state[state.FORM_CONFIG] = config
    st.session_state[state.CHOSEN_DATASET] = config.data.dataset
    st.session_state[state.FORM_VERSION] = st.session_state.get(state.FORM_VERSION, 0) + 1
    st.session_state[state.PRESET_LOADED] = message


def _load_preset(textbook: bool) -> None:
    """Button callback: the article's settings, or the textbook ELBO, on the dataset and test share in the form."""
    dataset = st.session_state.get(state.DATASET_WIDGET, state.chosen_dataset_name())
    test_size = st.session_state.get("form_test_size", RunConfig().data.test_size)
    config = RunConfig()
    config = replace(config, data=replace(config.data, dataset=dataset, test_size=test_size))
    config = textbook_config(config) if textbook else with_article_training(config)
    name = "the textbook ELBO" if textbook else "the article's settings"
    fill_form(config, f"Loaded {name} into the form. Press Train to use them.")


def preset_buttons() -> None:
    """Two one-click starting points for the form, below it."""
    st.sidebar.button(
        "Load the article's settings",
        on_click=_load_preset,
        args=(False,),
        width="stretch",
        help="Prior N(0, 0.1²), KL weight 0.01 with 'mean', 3000 epochs at one rate from σ = σ₀: the article's "
        "network. Its posterior is far colder than Bayes' rule gives, and σ has not settled when it stops.",
    )
    st.sidebar.button(
        "Load the textbook ELBO",
        on_click=_load_preset,
        args=(True,),
        width="stretch",
        help="KL 'sum' weighted exactly 1/N, prior σ₀ = 1, the decay schedule: the Bayesian posterior, trained "
        "until σ settles. These are the defaults.",
    )


def _number(value: float) -> str:
    return f"{value:g}"


def setting_widget(setting: Setting) -> None:
    """The widget for one schema setting, keyed ``form_<name>``, with the schema's label, help and bounds.

    Log-scale settings are a slider over the schema's ladder (plus the current value, if it came
    from elsewhere); other numbers are a slider or a number field over the schema's bounds.
    """
    key = f"{WIDGET_PREFIX}{setting.name}"
    common = {"key": key, "help": setting.help}
    if setting.per_row:  # typed, never snapped to a ladder: 1/N must be exactly 1/N
        st.text_input(setting.label, placeholder=setting.example, max_chars=24, **common)
    elif setting.kind is str:
        st.radio(setting.label, setting.choices, horizontal=True, **common)
    elif setting.ladder:
        current = st.session_state.get(key, setting.default)
        options = sorted({*setting.ladder, current})
        st.select_slider(setting.label, options, format_func=_number, **common)
    elif setting.kind is int:
        st.number_input(
            setting.label, min_value=int(setting.low), max_value=int(setting.high), step=int(setting.step), **common
        )
    else:
        st.slider(setting.label, float(setting.low), float(setting.high), step=setting.step, **common)


def hidden_widgets() -> None:
    """The hidden layers as two numbers: how many layers, and the units in each (the CLI takes any widths)."""
    hidden = SETTINGS["hidden"]
    fewest, most = hidden.length
    layers, units = st.columns(2)
    layers.number_input(
        LAYERS_LABEL, min_value=fewest, max_value=most, key=LAYERS_KEY, help=f"{fewest} to {most} hidden layers."
    )
    units.number_input(
        UNITS_LABEL,
        min_value=int(hidden.low),
        max_value=int(hidden.high),
        step=int(hidden.step),
        key=UNITS_KEY,
        help=hidden.help,
    )


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
    message = st.session_state.pop(state.PRESET_LOADED, None)
    if message:
        st.toast(message)
    with st.sidebar.form(form_key(), border=False):
        # First, so it is on screen without scrolling the sidebar.
        submitted = st.form_submit_button("Train", type="primary", width="stretch")
        st.subheader("Data")
        dataset = SETTINGS["dataset"]
        st.selectbox(
            dataset.label,
            state.dataset_names(),
            key=state.DATASET_WIDGET,
            help=f"{dataset.help} Upload your own CSV on the Data page.",
        )
        for name in ("test_size", "scale"):
            setting_widget(SETTINGS[name])
        st.caption(
            "cubic, sine_gap and heteroscedastic are regression sets: the main page shows bands instead of labels. "
            "A CSV is read as classes or as a regression target on the Data page."
        )
        st.subheader("Prior")
        for name in ("prior_mu", "prior_sigma"):
            setting_widget(SETTINGS[name])
        st.subheader("KL term")
        for name in ("kl_weight", "kl_reduction"):
            setting_widget(SETTINGS[name])
        st.subheader("Training")
        for name in ("epochs", "lr", "schedule", "sigma_start"):
            setting_widget(SETTINGS[name])
        hidden_widgets()
        setting_widget(SETTINGS["activation"])
        with st.expander("Regression noise"):
            for name in ("noise", "noise_sigma"):
                setting_widget(SETTINGS[name])
        st.subheader("Sampling")
        for name in ("samples", "seed"):
            setting_widget(SETTINGS[name])
        with st.expander("Engine"):
            setting_widget(SETTINGS["engine"])
    preset_buttons()
    if not submitted:
        return None
    return _config_from_widgets()


def _config_from_widgets() -> RunConfig:
    s = st.session_state
    values = {name: s[f"{WIDGET_PREFIX}{name}"] for name in SETTINGS if name not in NOT_WIDGETS}
    values["dataset"] = s[state.DATASET_WIDGET]
    values["task"] = state.dataset_by_name(values["dataset"]).task
    values["hidden"] = (s[UNITS_KEY],) * s[LAYERS_KEY]
    config = RunConfig.from_flat(values)
    st.session_state[state.FORM_CONFIG] = config
    st.session_state[state.CHOSEN_DATASET] = config.data.dataset
    return config
