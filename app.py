"""The app's entry point: the navigation, and the main page (train live, then resample side by side)."""

# ruff: noqa: E402
import streamlit as st

# The first import of torch and friends takes several seconds in a fresh server: say so instead of a blank page.
_loading = st.empty()
_loading.caption("Loading PyTorch, torchbnn and scikit-learn…")

# Heavy imports next, before anything else: a click during the very first (cold) import once left pandas
# half-initialised.
import pandas  # noqa: F401
import plotly.graph_objects  # noqa: F401
import sklearn  # noqa: F401
import torch  # noqa: F401

from bnn_core import BNNInputError, RunConfig, TrainedRun
from ui import page, side_by_side, state, summary
from ui.controls import settings_form
from ui.training import interrupted_message, train_live

_loading.empty()

INTRO = """
A **Bayesian neural network** learns a distribution over each weight instead of one value: every prediction
comes from one network drawn at random, and where the draws disagree, it is unsure. **Left:** true labels.
**Right:** one posterior sample's labels; bigger markers mean less certain. Press **Resample** (or **r**) to
draw again, or change the prior and KL weight on the left and press **Train**.
"""


def _train_if_asked() -> None:
    try:
        config = settings_form()
        if config is None:
            message = interrupted_message()
            if message:
                st.info(message)
            return
        state.show_run(train_live(state.dataset_by_name(config.data.dataset), config))
    except BNNInputError as err:
        st.error(str(err))


def _run_to_show() -> TrainedRun:
    run = state.current_run()
    if run is None:
        with st.spinner("Training the article's network on iris for your first visit…"):
            run = state.default_run(RunConfig())
        state.show_run(run)
    return run


def train_and_resample() -> None:
    page.setup("Train and resample")
    st.title("A Bayesian neural network, live")
    st.markdown(INTRO)
    _train_if_asked()
    run = _run_to_show()
    side_by_side.draw(run)
    summary.draw(run)


PAGES = [
    st.Page(train_and_resample, title="Train and resample", icon=":material/casino:", default=True),
    st.Page("pages/uncertainty_map.py", title="Uncertainty map", icon=":material/map:"),
    st.Page("pages/truck_probe.py", title="Show it a truck", icon=":material/local_shipping:"),
    st.Page("pages/calibration.py", title="Calibration", icon=":material/target:"),
    st.Page("pages/data.py", title="Data", icon=":material/table_view:"),
    st.Page("pages/how_it_works.py", title="How it works", icon=":material/menu_book:"),
]

st.navigation(PAGES, position="top").run()
