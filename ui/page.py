"""What every page shares: page config, a tighter top margin, and the r key for Resample."""

from __future__ import annotations

import gc

# Heavy modules first, on whichever page a session opens first: a click during the very first
# (cold) import once left pandas half-initialised, and the freeze below should see them loaded.
import pandas  # noqa: F401
import plotly.graph_objects  # noqa: F401
import sklearn  # noqa: F401
import streamlit as st
import torch

# torch, scikit-learn, pandas and plotly leave millions of long-lived objects behind. Python's full
# garbage collection scans them all (about 0.4 s here) and struck every few Resample presses. Freezing
# what exists once the heavy imports are done keeps later collections to new objects. This runs once
# per server process, on the first import of this module.
gc.collect()
gc.freeze()

# Two torch threads, chosen with benchmarks/train_speed.py on this 2-core machine: posterior samples and the
# 100×100 map run about 1.5× faster than with one, and the default trainer is numba code that torch's setting
# does not touch (its BLAS keeps two threads too: two trainings at once, as two browser sessions run them,
# took 0.22 s against 0.27 s with one thread). Only the optional torchbnn engine prefers one thread.
torch.set_num_threads(2)

# Streamlit's default top padding pushes the charts below the fold on a 1280×720 projector.
_CSS = """
<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.2rem; padding-bottom: 2rem; }
</style>
"""

# Streamlit reserves R for its own "rerun" shortcut, so st.button(shortcut="r") is refused. This
# listener runs in the capture phase, before Streamlit's key handling, and only acts when a Resample
# button is on the page and the user is not typing in a field; elsewhere R keeps its usual meaning.
_RESAMPLE_KEY = """
<script>
if (!window.__bnnResampleKey) {
  window.__bnnResampleKey = true;
  window.addEventListener("keydown", (event) => {
    if (event.key !== "r" && event.key !== "R") return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))) return;
    const button = document.querySelector(".st-key-resample button");
    if (!button) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    button.click();
  }, true);
}
</script>
"""


def setup(title: str, icon: str = ":material/casino:") -> None:
    """Call first on every page: wide layout, tighter margins, the r shortcut."""
    st.set_page_config(page_title=f"{title} · BNN dashboard", page_icon=icon, layout="wide")
    st.html(_CSS)
    st.html(_RESAMPLE_KEY, unsafe_allow_javascript=True)
