"""The floor for benchmarks/first_chart.py: the app's imports, then two 150-point plotly scatters.

It announces its imports with the same caption as the app, so both are timed alike: nothing a
real page does after its imports can be faster than this.
"""

import plotly.graph_objects as go
import streamlit as st

_loading = st.empty()
with _loading.container():  # as in app.py: plotly.js starts in the browser while the server imports
    st.caption("Loading PyTorch, torchbnn and scikit-learn…")
    blank = {"height": 10, "xaxis": {"visible": False}, "yaxis": {"visible": False}}
    st.plotly_chart(go.Figure(layout=blank), config={"staticPlot": True}, key="plotly_preload")

import numpy as np  # noqa: E402
import pandas  # noqa: E402, F401
import sklearn  # noqa: E402, F401
import torch  # noqa: E402, F401

from ui import shell  # noqa: E402, F401  (the app's own imports)

_loading.empty()


def scatter(title: str, seed: int) -> go.Figure:
    rng = np.random.default_rng(seed)
    x, y, label = rng.normal(size=150), rng.normal(size=150), rng.integers(0, 3, size=150)
    return go.Figure(go.Scatter(x=x, y=y, mode="markers", marker={"color": label}), layout={"title": title})


st.set_page_config(layout="wide")
left, right = st.columns(2)
left.plotly_chart(scatter("True labels", 0), width="stretch")
right.plotly_chart(scatter("Posterior sample #0", 1), width="stretch")
