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

# torch, scikit-learn, pandas and plotly leave millions of long-lived objects behind. Python's full
# garbage collection scans them all (about 0.4 s here) and struck every few Resample presses. Freezing
# what exists once the heavy imports are done keeps later collections to new objects. This runs once
# per server process, on the first import of this module.
gc.collect()
gc.freeze()

# One OpenMP/BLAS thread per call, with the sessions themselves as the parallelism: a shared server is never
# quiet, and two pool threads per session spun 5–10× slower once anything else ran (bnn_core/threads.py).
one_thread_per_call()

# Tighter margins, and charts that size themselves to the window (see fit_charts).
_CSS = """
<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.4rem; padding-bottom: 2rem; }
h1 { font-size: 1.9rem !important; padding: 0 0 0.2rem 0 !important; }
.st-key-intro p, .st-key-status_strip p { font-size: 0.95rem; line-height: 1.4; margin-bottom: 0.2rem; }
/* The sample's two-line summary beside Resample, within the fixed-height header. */
.st-key-sample_line p { font-size: 0.92rem; line-height: 1.3; margin-bottom: 0; }
[class*="st-key-fit_chart"] .js-plotly-plot, [class*="st-key-fit_chart"] .plot-container,
[class*="st-key-fit_chart"] .svg-container { height: 100% !important; }
/* Numbers in a column beside a chart (the truck's answers): smaller, so that four fit beside it on a slide. */
.st-key-side_numbers [data-testid="stMetricValue"] { font-size: 1.75rem; }
/* Narrower page links, so that all nine fit beside the sidebar at 1280 px instead of folding one into "1 more". */
[data-testid="stTopNavLink"] { padding-left: 0.2rem !important; padding-right: 0.2rem !important; }
</style>
"""

# Presenter mode: no sidebar, no Streamlit chrome, larger type, and the charts take the room the title had.
_PRESENT_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stDecoration"],
.st-key-intro, .st-key-below_charts { display: none !important; }
/* The header (with the page links in its toolbar) hidden but laid out: with display none, Streamlit folds the
   page links away, and the 1-9 keys press them. */
[data-testid="stHeader"] { visibility: hidden; height: 0 !important; min-height: 0 !important; }
html { font-size: 18px; }
[data-testid="stMainBlockContainer"] { padding-top: 0.6rem; padding-bottom: 0; max-width: 100%; }
/* A click on the page and then a key give the scrolling area the keyboard's focus, which Streamlit marks with a
   grey frame (an inset shadow on its ::before) around the slide. */
[data-testid="stMain"]:focus-visible::before { box-shadow: none !important; }
</style>
"""

# Streamlit reserves R for its own "rerun" shortcut, so st.button(shortcut="r") is refused. This listener runs
# in the capture phase, before Streamlit's key handling, and presses the app's own buttons; a key whose button
# is not on the page keeps its usual meaning.
_KEYS = """
<script>
if (!window.__bnnKeys) {
  window.__bnnKeys = true;
  const buttons = { r: "resample", R: "resample", p: "play", P: "play",
                    ArrowLeft: "preset_prev", ArrowRight: "preset_next" };
  const busy = (el) => el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName)
    || ["slider", "listbox", "option", "combobox", "radio", "tab", "spinbutton"].includes(el.getAttribute("role")));
  window.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || busy(event.target)) return;
    let target = null;
    if (buttons[event.key]) {
      target = document.querySelector(`.st-key-${buttons[event.key]} button`);
    } else if (/^[1-9]$/.test(event.key)) {
      const link = document.querySelectorAll('[data-testid="stTopNavLink"]')[Number(event.key) - 1];
      target = link ? link.querySelector("span") || link : null;  // the page change listens on the link's inside
    }
    if (!target) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    target.click();
  }, true);
}
</script>
"""


def setup(title: str) -> None:
    """Call first on every page: wide layout, the projector layout, presenter mode if on, the keys."""
    st.set_page_config(page_title=f"{title} · BNN dashboard", page_icon=FAVICON, layout="wide")
    sessions.seen()
    st.html(_CSS)
    if state.presenting():
        st.html(_PRESENT_CSS)
    st.html(_KEYS, unsafe_allow_javascript=True)


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
