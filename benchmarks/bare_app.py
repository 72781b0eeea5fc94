"""The reference page for the latency benchmark: two 150-point plotly scatters; a button redraws the right one.

Nothing else: no model, no fragment, the whole script reruns on every press.
"""

import numpy as np
import plotly.graph_objects as go
import streamlit as st


def scatter(title: str, seed: int) -> go.Figure:
    rng = np.random.default_rng(seed)
    x, y, label = rng.normal(size=150), rng.normal(size=150), rng.integers(0, 3, size=150)
    return go.Figure(go.Scatter(x=x, y=y, mode="markers", marker={"color": label}), layout={"title": title})


st.set_page_config(layout="wide")
draws = st.session_state.setdefault("draws", 0)
st.button("Resample", key="resample", on_click=lambda: st.session_state.update(draws=draws + 1))
left, right = st.columns(2)
left.plotly_chart(scatter("True labels", 0), width="stretch")
right.plotly_chart(scatter(f"Draw {st.session_state.draws}", st.session_state.draws + 1), width="stretch")
