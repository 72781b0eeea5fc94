"""The app's entry point: the frame every page shares, and the navigation between the pages in app_pages/."""

# ruff: noqa: E402
import plotly.graph_objects as go
import streamlit as st

from ui.icons import FAVICON
from ui.style import CSS, KEYS

# First of all, the tab's title, icon and wide layout: the loading caption below is drawn as wide as the pages,
# and the favicon is set before the navigation could ask an outside font server for a page's icon (ui/icons.py).
st.set_page_config(page_title="BNN dashboard", page_icon=FAVICON, layout="wide")

# The first import of torch and friends takes several seconds in a fresh server: say so instead of a blank page.
# Meanwhile the browser fetches and starts plotly.js (about a second) for an empty, invisible chart, so the
# first real chart does not wait for it (benchmarks/first_chart.py). Once a session: the browser keeps it.
_PLOTLY_STARTED = "bnn_plotly_started"  # session key (ui.state cannot be imported before torch)
_BLANK = {"height": 10, "margin": {"l": 0, "r": 0, "t": 0, "b": 0}, "xaxis": {"visible": False},
          "yaxis": {"visible": False}}  # fmt: skip
_loading = st.empty()
with _loading.container():
    # The styles and keys first, so that the browser has mounted them when the page comes (ui/style.py).
    st.html(CSS)
    st.html(KEYS, unsafe_allow_javascript=True)
    st.caption("Loading PyTorch, torchbnn and scikit-learn…")
    if not st.session_state.get(_PLOTLY_STARTED):
        st.plotly_chart(go.Figure(layout=_BLANK), config={"staticPlot": True}, key="plotly_preload")
        st.session_state[_PLOTLY_STARTED] = True

from ui.server import warm

warm.start()  # the noise generator compiles while the imports below run

# Heavy imports next, before anything else: a click during the very first (cold) import once left pandas
# half-initialised.
import pandas  # noqa: F401
import sklearn  # noqa: F401
import torch  # noqa: F401

# side_by_side and summary: the main page's modules, imported here so that the loading caption covers them
from ui import shell

_loading.empty()

# The pages live in app_pages/, not pages/: Streamlit runs a file in pages/ on its own when its URL is opened
# directly, without this script, so a link straight to a page had no sidebar, navigation or URL state.
PAGES = [
    st.Page("app_pages/train_and_resample.py", title="Train and resample", icon=":material/casino:", default=True),
    st.Page("app_pages/uncertainty_map.py", title="Uncertainty map", icon=":material/map:"),
    st.Page("app_pages/truck_probe.py", title="Truck", icon=":material/local_shipping:"),
    st.Page("app_pages/calibration.py", title="Calibration", icon=":material/target:"),
    st.Page("app_pages/inside_network.py", title="Weights", icon=":material/neurology:"),
    st.Page("app_pages/methods.py", title="Methods", icon=":material/compare:"),
    st.Page("app_pages/sweep.py", title="Sweep", icon=":material/grid_on:"),
    st.Page("app_pages/data.py", title="Data", icon=":material/table_view:"),
    st.Page("app_pages/how_it_works.py", title="How it works", icon=":material/menu_book:"),
]

navigation = st.navigation(PAGES, position="top")
shell.read_link_once()
shell.sidebar()
navigation.run()
shell.finish()
