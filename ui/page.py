"""What every page shares: page config, a layout that fits a 1280×720 projector, presenter mode, and the keys.

Keys (never while typing in a field, or while a slider, list or radio has the focus, where arrows move it):
``r`` resample, ``p`` play or pause, ``←``/``→`` previous or next gallery preset, ``1``–``9`` the pages.

Every page is a slide: in presenter mode at 1280×720 it fits the window, its charts sized by :func:`fit_charts`
(``tests/browser/test_slides.py`` measures it).
"""

from __future__ import annotations

import gc

# Heavy modules first, on whichever page a session opens first: a click during the very first
# (cold) import once left pandas half-initialised, and the freeze below should see them loaded.
import pandas  # noqa: F401
import plotly.graph_objects  # noqa: F401
import sklearn  # noqa: F401
import streamlit as st
import torch  # noqa: F401

from bnn_core.engine.threads import one_thread_per_call

from . import state
from .icons import FAVICON
from .server import sessions
from .style import CSS, KEYS, PRESENT_CSS

# torch, scikit-learn, pandas and plotly leave millions of long-lived objects behind. Python's full
# garbage collection scans them all (about 0.4 s here) and struck every few Resample presses. Freezing
# what exists once the heavy imports are done keeps later collections to new objects. This runs once
# per server process, on the first import of this module.
gc.collect()
gc.freeze()

# One OpenMP/BLAS thread per call, with the sessions themselves as the parallelism: a shared server is never
# quiet, and two pool threads per session spun 5–10× slower once anything else ran (bnn_core/threads.py).
one_thread_per_call()



def setup(title: str) -> None:
    """Call first on every page: wide layout, the projector layout, presenter mode if on, the keys."""
    st.set_page_config(page_title=f"{title} · BNN dashboard", page_icon=FAVICON, layout="wide")
    sessions.seen()
    st.html(CSS)
    if state.presenting():
        st.html(PRESENT_CSS)
    st.html(KEYS, unsafe_allow_javascript=True)


FIT_MIN = 260  # px: no fitted chart gets shorter than this, however small the window


def fit_charts(reserve: int, presenting_reserve: int) -> None:
    """Charts drawn with ``show(..., fit=True)`` take the window's height less ``reserve`` px (in presenter mode
    ``presenting_reserve``): the room the page's title, strip, controls and text above and below them need.

    Each page measures its own reserve: at 1280×720 its slide then fits without scrolling.
    """
    px = presenting_reserve if state.presenting() else reserve
    st.html(
        f'<style>[class*="st-key-fit_chart"] [data-testid="stPlotlyChart"] '
        f"{{ height: max({FIT_MIN}px, calc(100vh - {px}px)) !important; }}</style>"
    )


def title(heading: str) -> None:
    """The page's title; in presenter mode with the button that leaves it (the sidebar is hidden then)."""
    if not state.presenting():
        st.title(heading)
        return
    left, right = st.columns([4, 1.4], vertical_alignment="center")
    left.title(heading)
    right.button("Exit presenter mode", key="leave_present", on_click=state.set_presenting, args=(False,))
