"""Every page is a slide: in presenter mode at 1280×720 each chart page fits the window, its charts wholly on
screen, nothing to scroll; in normal mode the first screen shows each page's main chart. Screenshots of every
page are kept in the test's folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.browser import browser_page, chromium_path, streamlit_server
from tests.support.layout import GEOMETRY_JS, settle, slide_problems, visit

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if chromium_path() is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Chromium for the browser tests: apt-get install -y chromium")
    pytest.skip("Chromium is not installed (apt-get install -y chromium)", allow_module_level=True)

SLIDES = {1: "main", 2: "map", 3: "truck", 4: "calibration", 5: "weights", 6: "methods", 7: "sweep"}
CHARTS = {1: 2, 2: 2, 3: 1, 4: 2, 5: 4, 6: 1, 7: 1}  # the main charts of a classification preset's slide
CLASSIFICATION_ONLY = {3}  # a regression run gets a sentence there instead
PRESETS = ("textbook", "two-moons", "breast-cancer", "cubic")  # iris, 2 and 30 features, a regression
FIRST_SCREEN_PX = 250  # in normal mode, at least this much of a page's main chart is on the first screen


def _after_training_tab(page) -> dict:
    """The Weights page's second tab: each layer's histograms and the KL per layer."""
    page.get_by_role("tab", name="After training: the weights").click()
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
        ".some(d => d.layout.title.text.endsWith('means μ') && d.getBoundingClientRect().height)"
    )
    return settle(page)


def test_every_chart_page_is_a_slide_in_presenter_mode(tmp_path: Path) -> None:
    problems = []
    with streamlit_server() as url, browser_page(1280, 720) as page:
        for preset in PRESETS:
            page.goto(f"{url}/?present=1&preset={preset}")
            page.wait_for_selector(".js-plotly-plot", timeout=240_000)
            for key, name in SLIDES.items():
                visit(page, key)
                geometry = page.evaluate(GEOMETRY_JS)
                page.screenshot(path=str(tmp_path / f"{preset}-{key}-{name}.png"))
                problems += slide_problems(geometry, f"{preset}, {name}")
                regression_elsewhere = preset == "cubic" and key in CLASSIFICATION_ONLY
                wanted = 0 if regression_elsewhere else 1 if preset == "cubic" else CHARTS[key]
                if len(geometry["charts"]) < wanted:
                    problems.append(f"{preset}, {name}: {len(geometry['charts'])} charts on screen, not {wanted}")
                if name == "weights" and preset != "cubic":
                    geometry = _after_training_tab(page)
                    page.screenshot(path=str(tmp_path / f"{preset}-{key}-{name}-after.png"))
                    problems += slide_problems(geometry, f"{preset}, weights after training")
                    assert len(geometry["charts"]) >= 4  # three histograms of the first layer, and the KL
    assert not problems, "\n".join(problems)


def test_every_presets_line_fits_the_strip_above_the_charts(tmp_path: Path) -> None:
    """→ through the whole gallery in both modes: no preset's line on what to notice is cut."""
    problems = []
    with streamlit_server() as url, browser_page(1280, 720) as page:
        for mode in ("present=1&", ""):
            page.goto(f"{url}/?{mode}preset=article")
            page.wait_for_selector(".js-plotly-plot", timeout=240_000)
            settle(page)
            for step in range(9):
                page.screenshot(path=str(tmp_path / f"strip-{mode[:7]}{step}.png"))
                overflow = page.evaluate(GEOMETRY_JS)["stripOverflow"]
                if overflow > 1:
                    problems.append(f"{page.url}: the strip cuts {overflow} px")
                search = page.url.split("?")[1]
                page.locator("h1").first.click()
                page.keyboard.press("ArrowRight")
                page.wait_for_function("s => window.location.search.slice(1) !== s", arg=search, timeout=60_000)
                settle(page)
    assert not problems, "\n".join(problems)


def _leave_presenter_mode_on_the_methods_page(page, tmp_path: Path) -> None:
    """Exit on the Methods slide: the page is laid out for normal mode, its table back and its maps no longer
    sized to the window."""
    visit(page, 6)
    page.get_by_role("button", name="Exit presenter mode").click()
    page.wait_for_function("() => !window.location.search.includes('present=1')", timeout=60_000)
    settle(page)
    page.screenshot(path=str(tmp_path / "methods-after-exit.png"))
    assert page.locator('[data-testid="stSidebar"]').is_visible()
    assert page.locator('[data-testid="stTable"]').count() == 1
    assert page.locator('[class*="st-key-fit_chart"]').count() == 0


def test_the_first_screen_shows_each_pages_main_chart_in_normal_mode(tmp_path: Path) -> None:
    """Presenter mode left on the Methods page, then every page in normal mode."""
    problems = []
    with streamlit_server() as url, browser_page(1280, 720) as page:
        page.goto(f"{url}/?present=1&preset=textbook")
        page.wait_for_selector(".js-plotly-plot", timeout=240_000)
        _leave_presenter_mode_on_the_methods_page(page, tmp_path)
        for key, name in SLIDES.items():
            visit(page, key)
            geometry = page.evaluate(GEOMETRY_JS)
            page.screenshot(path=str(tmp_path / f"normal-{key}-{name}.png"))
            first = min(geometry["charts"], key=lambda chart: chart["box"]["top"])["box"]
            shown = min(first["bottom"], geometry["height"]) - max(first["top"], 0)
            if shown < min(FIRST_SCREEN_PX, first["height"]):
                problems.append(f"{name}: {shown:.0f} px of its main chart on the first screen")
    assert not problems, "\n".join(problems)
