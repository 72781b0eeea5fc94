"""A talk in a real browser, timed: every gallery preset by →, Resample by r, Play by p, every page by its key,
a click on a sweep cell and a click that adds a point to a regression, in presenter mode at 1280×720.

Each step is timed from the key or the click to the page drawn: the script run over, no placeholder or stale
element left, and what the step shows on screen (the preset's line, the sample's title, the page's heading and
charts, the run from the sweep, the added point). The goal is 2 s for a preset or a page, 1 s for a regression
click (docs/performance.md).

    python benchmarks/talk.py [--presets article,cubic] [--pages 1,2,3]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bnn_core.runs.gallery import PRESETS, PRESETS_BY_SLUG
from tests.support.browser import chromium, streamlit_server

PAGES = {  # key: (heading, charts on screen for a classification run, for a regression run)
    1: ("A Bayesian neural network, live", 2, 2),
    2: ("Where does it know", 2, 1),
    3: ("Show it a truck", 1, 0),
    4: ("Is it as often right", 2, 1),
    5: ("Inside the network", 4, 1),
    6: ("Is a BNN worth it?", 1, 0),
    7: ("Sweep the prior", 1, 1),
    8: ("The data", 2, 1),
    9: ("How a Bayesian neural network works", 0, 0),
}
GOAL_SECONDS, CLICK_GOAL_SECONDS = 2.0, 1.0

# The page is drawn: the script run is over, no placeholder or stale element is left, and ``shown`` holds.
DRAWN_JS = """shown => document.querySelector('[data-test-script-state="notRunning"]')
    && !document.querySelector('[data-testid="stSkeleton"], [data-stale="true"]') && (%s)"""
CHARTS_JS = """Array.from(document.querySelectorAll('.js-plotly-plot'))
    .filter(d => d._fullLayout && d.getBoundingClientRect().height > 0).length"""
PAGE_JS = DRAWN_JS % (
    "document.querySelectorAll('[data-testid=stTopNavLink]')[shown[0] - 1].getAttribute('aria-current') === 'page'"
    " && ((document.querySelector('h1') || {}).textContent || '').startsWith(shown[1])"
    f" && {CHARTS_JS} >= shown[2]"
)
STRIP_JS = DRAWN_JS % "((document.querySelector('.st-key-status_strip') || {}).textContent || '').startsWith(shown)"
TITLE_JS = DRAWN_JS % (
    "Array.from(document.querySelectorAll('.js-plotly-plot')).some(d => d.layout && d.layout.title"
    " && d.layout.title.text === shown)"
)
SAMPLE_TITLE_JS = """() => (Array.from(document.querySelectorAll('.js-plotly-plot')).map(d => d.layout.title.text)
    .find(t => t && t.startsWith('Posterior sample #')) || '')"""
BANDS_ROWS_JS = """() => { const d = Array.from(document.querySelectorAll('.js-plotly-plot'))
    .find(d => d.layout && d.layout.title && d.layout.title.text.startsWith('Data, mean'));
    if (!d) return null;
    const xa = d._fullLayout.xaxis, ya = d._fullLayout.yaxis, box = d.getBoundingClientRect();
    return { count: d._fullData.filter(t => t.name === 'train rows' || t.name === 'test rows')
                 .reduce((n, t) => n + t._length, 0),
             plot: [box.left + xa._offset, box.top + ya._offset, xa._length, ya._length] }; }"""
CELL_JS = """() => { const d = Array.from(document.querySelectorAll('.js-plotly-plot'))
    .find(d => d._fullData && d._fullData.some(t => t.name === 'cell'));
    const xa = d._fullLayout.xaxis, ya = d._fullLayout.yaxis, box = d.getBoundingClientRect();
    const [i, j] = [Math.floor(xa._categories.length / 2), Math.floor(ya._categories.length / 2)];
    return [box.left + xa._offset + xa.l2p(i), box.top + ya._offset + ya.l2p(j)]; }"""


def timed(page: object, act: Callable[[], None], condition: str, arg: object, timeout_ms: float = 300_000) -> float:
    """Seconds from ``act()`` until ``condition(arg)`` holds in the page (polled every animation frame)."""
    started = time.perf_counter()
    act()
    page.wait_for_function(condition, arg=arg, timeout=timeout_ms)
    return time.perf_counter() - started


def press(page: object, key: str) -> Callable[[], None]:
    """A key press as a speaker makes it: the page has the focus, not a field."""

    def act() -> None:
        page.locator("h1").first.click()
        page.keyboard.press(key)

    return act


def page_step(page: object, key: int, regression: bool) -> float:
    heading, charts, regression_charts = PAGES[key]
    return timed(page, press(page, str(key)), PAGE_JS, [key, heading, regression_charts if regression else charts])


def sample_steps(page: object) -> dict[str, float]:
    """r: the next sample; p: Play's first new sample (then p again pauses)."""
    k = int(page.evaluate(SAMPLE_TITLE_JS).removeprefix("Posterior sample #") or 0)
    steps = {"r": timed(page, press(page, "r"), TITLE_JS, f"Posterior sample #{k + 1}")}
    steps["p"] = timed(page, press(page, "p"), TITLE_JS, f"Posterior sample #{k + 2}")
    timed(page, press(page, "p"), DRAWN_JS % "true", None)
    return steps


def sweep_click(page: object) -> float:
    """On the Sweep page, a click on the middle cell: its run trains and the main page shows it."""
    page_step(page, 7, regression=False)
    x, y = page.evaluate(CELL_JS)
    return timed(page, lambda: page.mouse.click(x, y), STRIP_JS, "From the sweep")


def regression_click(page: object, where: float) -> float:
    """On the main page of a regression, a click on an empty place of the bands chart: the point is drawn."""
    rows = page.evaluate(BANDS_ROWS_JS)
    left, top, width, height = rows["plot"]
    condition = DRAWN_JS % f"({BANDS_ROWS_JS})().count === shown"
    return timed(
        page, lambda: page.mouse.click(left + where * width, top + 0.15 * height), condition, rows["count"] + 1
    )


def next_preset(page: object, shown: str, slug: str) -> float:
    """→ from preset ``shown`` until ``slug`` is on screen; the seconds of the last press."""
    slugs = [preset.slug for preset in PRESETS]
    seconds = 0.0
    while shown != slug:
        shown = slugs[(slugs.index(shown) + 1) % len(slugs)]
        seconds = timed(page, press(page, "ArrowRight"), STRIP_JS, f"{PRESETS_BY_SLUG[shown].title}.")
    return seconds


def talk(url: str, presets: list[str], pages: list[int]) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Drive the talk; return each preset's step times, and the clicks'."""
    table: dict[str, dict[str, float]] = {}
    clicks: dict[str, float] = {}
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        shown = PRESETS[-1].slug  # → then opens the first preset
        page.goto(f"{url}/?present=1&preset={shown}")
        page.wait_for_function(DRAWN_JS % f"{CHARTS_JS} >= 2", arg=None, timeout=600_000)
        for slug in presets:
            steps = {"→": next_preset(page, shown, slug)}
            shown = slug
            regression = PRESETS_BY_SLUG[slug].config.data.task == "regression"
            steps.update(sample_steps(page))
            for key in pages:
                steps[str(key)] = page_step(page, key, regression)
            if 1 not in pages or pages[-1] != 1:
                page_step(page, 1, regression)
            if regression:
                clicks["add a point (1)"] = regression_click(page, 0.9)
                clicks["add a point (2)"] = regression_click(page, 0.1)
            table[slug] = steps
        clicks["sweep cell"] = sweep_click(page)
    return table, clicks


def print_table(table: dict[str, dict[str, float]], clicks: dict[str, float]) -> None:
    columns = list(next(iter(table.values())))
    print("A talk in presenter mode, headless Chromium 1280×720: seconds from the key or click to the page drawn")
    print("| preset | " + " | ".join(columns) + " | slowest |")
    print("|---|" + "---:|" * (len(columns) + 1))
    for slug, steps in table.items():
        cells = " | ".join(f"{steps[c]:.2f}" if c in steps else "—" for c in columns)
        print(f"| {slug} | {cells} | {max(steps.values()):.2f} |")
    slowest = max(max(steps.values()) for steps in table.values())
    print(f"\nSlowest preset or page: {slowest:.2f} s (goal {GOAL_SECONDS:g} s).")
    for name, seconds in clicks.items():
        goal = CLICK_GOAL_SECONDS if name.startswith("add a point") else GOAL_SECONDS
        print(f"- {name}: {seconds:.2f} s (goal {goal:g} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default=",".join(p.slug for p in PRESETS), help="gallery presets, in order")
    parser.add_argument("--pages", default="2,3,4,5,6,7,8,9,1", help="the pages' keys, in order")
    args = parser.parse_args()
    presets = args.presets.split(",")
    unknown = [slug for slug in presets if slug not in PRESETS_BY_SLUG]
    if unknown:
        parser.error(f"unknown presets {unknown}; the gallery has {', '.join(PRESETS_BY_SLUG)}")
    pages = [int(key) for key in args.pages.split(",")]
    with streamlit_server("app.py", cwd=Path(__file__).resolve().parents[1], timeout=300) as url:
        table, clicks = talk(url, presets, pages)
    print_table(table, clicks)


if __name__ == "__main__":
    main()
