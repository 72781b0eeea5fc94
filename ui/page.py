"""What every page shares: page config, a tighter top margin, and the r key for Resample."""

from __future__ import annotations

import gc
import threading

# Heavy modules first, on whichever page a session opens first: a click during the very first
# (cold) import once left pandas half-initialised, and the freeze below should see them loaded.
import pandas  # noqa: F401
import plotly.graph_objects  # noqa: F401
import sklearn  # noqa: F401
import streamlit as st
import torch

from bnn_core import fast

# torch, scikit-learn, pandas and plotly leave millions of long-lived objects behind. Python's full
# garbage collection scans them all (about 0.4 s here) and struck every few Resample presses. Freezing
# what exists once the heavy imports are done keeps later collections to new objects. This runs once
# per server process, on the first import of this module.
gc.collect()
gc.freeze()

# Compile (or load from numba's cache) the engine's kernels once per server process, in the background, as
# soon as the first page is opened: a click never waits for a compile. Training waits for this if it comes first.
threading.Thread(target=fast.warm_up, name="bnn-warm-up", daemon=True).start()

# Two torch threads for the posterior sampler's batched matrix products, chosen by measurement on this 2-core
# machine (alternating, median of 5): 100 posterior samples of a 100×100 map took 107 ms against 153 ms with one
# thread, and 150 rows 4.2 ms against 5.4 ms. Training does not use them: the compiled trainer (for the BNN and
# its plain twin) calls neither torch nor BLAS and releases the GIL, so two sessions training at once each keep
# their speed (benchmarks/train_speed.py, tables 4 and 5).
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
