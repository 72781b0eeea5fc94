"""The stage in headless Chromium: a copied link opens the same picture elsewhere, presenter mode fits 1280×720,
and the presenter keys."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.support.browser import chromium, chromium_path, streamlit_server, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if chromium_path() is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Chromium for the browser tests: apt-get install -y chromium")
    pytest.skip("Chromium is not installed (apt-get install -y chromium)", allow_module_level=True)

# The right-hand chart's points as plotly holds them (decoded: plotly 7 sends numpy arrays base64-encoded).
SAMPLE_POINTS_JS = """() => {
    const div = Array.from(document.querySelectorAll('.js-plotly-plot')).find(d => d.layout && d.layout.title
        && d.layout.title.text.startsWith('Posterior sample #'));
    if (!div) return null;
    const trace = div._fullData[0];
    return { title: div.layout.title.text, x: Array.from(trace.x), y: Array.from(trace.y),
             color: Array.from(trace.marker.color), size: Array.from(trace.marker.size),
             xaxis: div.layout.xaxis.title.text, yaxis: div.layout.yaxis.title.text };
}"""


def _sample(page) -> dict:
    return page.evaluate(SAMPLE_POINTS_JS)


def _wait_for_title(page, text: str, timeout_ms: float = 120_000) -> None:
    page.wait_for_function(
        """t => Array.from(document.querySelectorAll('.js-plotly-plot')).some(d => d.layout && d.layout.title
            && d.layout.title.text === t)""",
        arg=text,
        timeout=timeout_ms,
    )


# The button each key presses (the digits press the navigation's links).
_KEY_TARGETS = {"r": ".st-key-resample button", "p": ".st-key-play button", "ArrowLeft": ".st-key-preset_prev button",
                "ArrowRight": ".st-key-preset_next button"}  # fmt: skip


def _press(page, key: str) -> None:
    """Press ``key`` with the page focused, once its listener and its button are drawn.

    The browser draws the sidebar and the listener a little after the charts, and can report the
    script run finished before it has drawn them all.
    """
    target = _KEY_TARGETS.get(key, '[data-testid="stTopNavLink"]')
    page.wait_for_function("s => window.__bnnKeys && document.querySelector(s)", arg=target)
    page.locator("h1").first.click()  # the page has the focus, not a field
    page.keyboard.press(key)


def test_a_copied_link_opens_the_same_picture_in_a_fresh_browser(tmp_path: Path) -> None:
    with streamlit_server() as url, chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        page = context.new_page()
        page.goto(url)
        _wait_for_title(page, "Posterior sample #0")
        wait_idle(page)
        _press(page, "ArrowRight")  # the next gallery preset: the textbook ELBO
        page.wait_for_function("() => window.location.search.includes('preset=textbook')")
        for k in (1, 2):
            _press(page, "r")
            _wait_for_title(page, f"Posterior sample #{k}")
        page.get_by_role("button", name="View").click()
        page.get_by_role("combobox", name="Vertical axis").click()  # the select box opens
        page.get_by_role("option", name="petal width (cm)").click()
        page.wait_for_function("() => window.location.search.includes('y=petal')")
        wait_idle(page)
        page.keyboard.press("Escape")
        page.locator("button.bnn-copy-link").click()
        copied = page.evaluate("() => navigator.clipboard.readText()")
        assert copied == page.url and "sample=2" in copied and "preset=textbook" in copied
        here = _sample(page)
        page.screenshot(path=str(tmp_path / "before-link.png"))

        elsewhere = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
        elsewhere.goto(copied)
        _wait_for_title(elsewhere, "Posterior sample #2")
        wait_idle(elsewhere)
        there = _sample(elsewhere)
        elsewhere.screenshot(path=str(tmp_path / "after-link.png"))
        assert there == here  # the same model, sample #2 and axes: point for point
        assert there["yaxis"] == "petal width (cm)"


def test_presenter_mode_fits_a_projector_and_the_keys_work(tmp_path: Path) -> None:
    with streamlit_server() as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(f"{url}/?present=1&preset=textbook")
        _wait_for_title(page, "Posterior sample #0")
        wait_idle(page)
        # Under load the sample chart can be titled before the rest of the page is drawn.
        page.wait_for_selector(".st-key-resample button", timeout=60_000)
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
            ".filter(el => el.getBoundingClientRect().height > 0).length === 2",
            timeout=60_000,
        )
        time.sleep(0.5)
        page.screenshot(path=str(tmp_path / "presenter-1280x720.png"))
        layout = page.evaluate("""() => {
            const main = document.querySelector('[data-testid="stMain"]');
            const box = (el) => el.getBoundingClientRect();
            const charts = Array.from(document.querySelectorAll('.js-plotly-plot')).map(box).filter(b => b.height > 0);
            const resample = box(document.querySelector('.st-key-resample button'));
            const sidebar = document.querySelector('[data-testid="stSidebar"]');
            return { scroll: main.scrollHeight - main.clientHeight, bottoms: charts.map(b => b.bottom),
                     tops: charts.map(b => b.top), resample: [resample.top, resample.bottom],
                     sidebar: sidebar ? box(sidebar).width : 0, height: window.innerHeight };
        }""")
        assert layout["scroll"] <= 1, layout  # nothing to scroll to
        assert len(layout["bottoms"]) == 2 and max(layout["bottoms"]) <= layout["height"], layout
        assert layout["resample"][0] >= 0 and layout["resample"][1] <= layout["height"], layout
        assert layout["sidebar"] == 0, layout

        _press(page, "p")  # play: a new sample about every 0.8 s
        _wait_for_title(page, "Posterior sample #2", timeout_ms=20_000)
        _press(page, "p")  # pause
        wait_idle(page)
        time.sleep(2.0)
        paused = _sample(page)["title"]
        time.sleep(2.0)
        assert _sample(page)["title"] == paused

        _press(page, "ArrowRight")
        page.wait_for_function("() => window.location.search.includes('preset=tight-prior')")
        _press(page, "ArrowLeft")
        page.wait_for_function("() => window.location.search.includes('preset=textbook')")
        _press(page, "2")
        page.wait_for_selector("h1:has-text('Where does it know')", timeout=60_000)
        wait_idle(page)
        assert "present=1" in page.url and "preset=textbook" in page.url  # the state survives the page switch
        _press(page, "1")
        _wait_for_title(page, "Posterior sample #0")


def test_keys_never_fire_while_typing(tmp_path: Path) -> None:
    with streamlit_server() as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        _wait_for_title(page, "Posterior sample #0")
        wait_idle(page)
        seed = page.get_by_role("spinbutton", name="Seed")
        seed.click()
        for key in ("r", "p", "2", "ArrowRight"):
            page.keyboard.press(key)
        time.sleep(1.5)
        wait_idle(page)
        assert _sample(page)["title"] == "Posterior sample #0"
        assert "preset=article" in page.url and page.locator("h1:has-text('A Bayesian')").count() == 1


def test_a_link_straight_to_a_page_has_the_whole_frame(tmp_path: Path) -> None:
    with streamlit_server() as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(f"{url}/uncertainty_map?show=epistemic")
        page.wait_for_function("() => window.location.search.includes('preset=article')")  # the URL follows
        wait_idle(page)
        assert "show=epistemic" in page.url
        assert page.locator('[data-testid="stTopNavLink"]').count() == 9  # every page of app.py
        assert page.locator(".st-key-preset_next button").count() == 1  # the sidebar, with the gallery
        page.screenshot(path=str(tmp_path / "map-from-a-link.png"))


# Every animation frame from the first paint: where the title and the first chart are (null while absent).
TRACK_TOPS_JS = """() => {
    window.__tops = [];
    const track = () => {
        const top = s => { const e = document.querySelector(s); return e ? Math.round(e.getBoundingClientRect().top)
                                                                         : null; };
        window.__tops.push([top('h1'), top('[class*="st-key-fit_chart"] .main-svg')]);
        requestAnimationFrame(track);
    };
    requestAnimationFrame(track);
}"""


def test_the_first_page_stays_where_it_is_first_drawn(tmp_path: Path) -> None:
    """A first visit: from the frame the title appears in, it never moves, nor does the first chart once drawn.

    The styles came with the page once, and were applied about half a second after it: the title shrank and
    everything moved up by 140-220 px (ui/style.py)."""
    with streamlit_server(log=tmp_path / "server.log") as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.add_init_script(script=f"({TRACK_TOPS_JS})()")
        page.goto(url)
        _wait_for_title(page, "Posterior sample #0")
        wait_idle(page)
        page.wait_for_timeout(1500)  # frames after the script run ends: styles or scripts still arriving
        tops = page.evaluate("() => window.__tops")
    titles = {title for title, _ in tops if title is not None}
    charts = {chart for _, chart in tops if chart is not None}
    assert len(titles) == 1, f"the title moved: {sorted(titles)}"
    assert len(charts) == 1, f"the first chart moved: {sorted(charts)}"
