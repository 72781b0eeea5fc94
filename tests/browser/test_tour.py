"""The real app in headless Debian Chromium: Train, Resample three times, the r key, Stop, every page."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.support.browser import browser_page, chromium_path, streamlit_server, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if chromium_path() is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Chromium for the browser tests: apt-get install -y chromium")
    pytest.skip("Chromium is not installed (apt-get install -y chromium)", allow_module_level=True)

# The plotly figures on the page, as the browser holds them.
CHARTS_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(div => {
    const box = div.getBoundingClientRect();
    return {
        title: ((div.layout && div.layout.title && div.layout.title.text) || '').replace(/<[^>]*>/g, ''),
        hover: div.data.map(trace => (trace.hovertext || []).join('|')).join('||'),
        left: box.left, top: box.top, width: box.width,
    };
})"""


def _charts(page) -> dict[str, dict]:
    return {chart["title"]: chart for chart in page.evaluate(CHARTS_JS)}


def _sample_chart(page) -> dict:
    return next(chart for title, chart in _charts(page).items() if title.startswith("Posterior sample #"))


def _wait_for_sample(page, k: int, timeout_ms: float = 60_000) -> None:
    page.wait_for_function(
        """k => Array.from(document.querySelectorAll('.js-plotly-plot')).some(d => d.layout && d.layout.title
            && d.layout.title.text.replace(/<[^>]*>/g, '') === 'Posterior sample #' + k)""",
        arg=k,
        timeout=timeout_ms,
    )


def _no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def test_train_resample_and_stop_in_a_real_browser(tmp_path: Path) -> None:
    with streamlit_server() as url, browser_page(1600, 1000) as page:
        page.goto(url)
        _wait_for_sample(page, 0, timeout_ms=240_000)  # the first visit trains the default model
        wait_idle(page)
        _no_exception(page)

        epochs = page.get_by_role("spinbutton", name="Epochs")
        epochs.fill("200")
        page.get_by_role("button", name="Train", exact=True).click()
        page.wait_for_selector("text=Trained 200 steps", timeout=120_000)
        wait_idle(page)
        _no_exception(page)

        first_true, first_sample = _charts(page)["True labels"], _sample_chart(page)
        assert abs(first_true["top"] - first_sample["top"]) < 2  # side by side, aligned
        assert first_true["left"] + first_true["width"] <= first_sample["left"]
        for k in (1, 2, 3):
            page.locator(".st-key-resample button").first.click()
            _wait_for_sample(page, k)
        wait_idle(page)
        after = _sample_chart(page)
        assert after["hover"] != first_sample["hover"]  # new sample, new probabilities
        assert "Sample #3:" in after["hover"]
        assert _charts(page)["True labels"]["hover"] == first_true["hover"]

        page.locator("h1").first.click()  # focus the page, not a field
        page.keyboard.press("r")
        _wait_for_sample(page, 4)
        wait_idle(page)
        page.screenshot(path=str(tmp_path / "main-after-resample.png"))
        _no_exception(page)

        # A run long enough to stop by hand: 1000 units take about 1 ms a step, so 100,000 steps take minutes.
        epochs.fill("100000")
        page.get_by_role("spinbutton", name="Units per layer").fill("1000")
        page.get_by_role("button", name="Train", exact=True).click()
        page.wait_for_selector("text=of 100,000 ·", timeout=60_000)  # the first progress report
        page.get_by_role("button", name="Stop", exact=True).click()
        page.wait_for_selector("text=Training stopped after", timeout=60_000)
        wait_idle(page)
        assert _sample_chart(page)["title"].startswith("Posterior sample #4")  # the same model and sample as before
        assert page.locator("text=Trained 200 steps").count() == 1  # still the 200-step model
        page.screenshot(path=str(tmp_path / "main-after-stop.png"))
        _no_exception(page)


PAGES = {  # link: (heading, plotly charts on the page)
    "Uncertainty map": ("Where does it know", 2),
    "Truck": ("Show it a truck", 1),
    "Calibration": ("Is it as often right as it is sure?", 3),
    "Methods": ("Is a BNN worth it?", 1),  # one figure: the BNN's and the shipped twin's maps; the rest on a click
    "Sweep": ("Sweep the prior and the KL weight", 1),
    "Data": ("The data", 2),
    "How it works": ("How a Bayesian neural network works", 0),
}


def test_every_page_renders_without_an_exception(tmp_path: Path) -> None:
    with streamlit_server() as url, browser_page(1280, 720) as page:
        page.goto(url)
        _wait_for_sample(page, 0, timeout_ms=240_000)
        wait_idle(page)
        for title, (heading, charts) in PAGES.items():
            page.get_by_role("link", name=title).first.click()
            page.wait_for_selector(f"h1:has-text('{heading}')", timeout=60_000)
            wait_idle(page)
            _no_exception(page)
            page.wait_for_function(f"() => document.querySelectorAll('.js-plotly-plot').length >= {charts}")
            page.screenshot(path=str(tmp_path / f"{title.replace(' ', '_').lower()}.png"), full_page=True)
        page.get_by_role("link", name="Uncertainty map").first.click()
        page.wait_for_selector(".js-plotly-plot", timeout=60_000)
        wait_idle(page)
        titles = [chart["title"] for chart in page.evaluate(CHARTS_JS)]
        assert titles == ["BNN (100 samples): confidence", "Plain network: confidence"]


def test_a_closed_session_is_released_once_it_can_no_longer_reconnect(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    # Streamlit may resume a closed tab for disconnectedSessionTTL seconds; 2 here, so the janitor acts in the test.
    with streamlit_server(options=("--server.disconnectedSessionTTL", "2"), log=log) as url:
        with browser_page(1280, 720) as page:
            page.goto(url)
            _wait_for_sample(page, 0, timeout_ms=240_000)
            assert "Released" not in log.read_text()  # an open tab keeps its state
        deadline = time.monotonic() + 60
        while "Released 1 closed session(s); 0 still open." not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(1)
