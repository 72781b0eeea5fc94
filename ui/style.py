"""What every page looks like and the keys it answers, as the browser gets them: cheap to import, so that ``app.py``
can send them with its loading caption.

Streamlit loads the code that mounts an ``st.html`` element the first time a page uses one. Sent only with the
first page, the styles below arrived about half a second after the page they style, and the title shrank and
everything under it moved up by about 140 px (the charts by about 220 px) on a first visit.
"""

# Tighter margins, and charts that size themselves to the window (see ui.page.fit_charts).
CSS = """
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
PRESENT_CSS = """
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
KEYS = """
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
