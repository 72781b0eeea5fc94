"""A talk venue may have no internet: a tour of every page, in both modes, asks nothing of any server but the app's.

Every request the browser makes is recorded; one that leaves the server is refused (as it would fail offline) and
fails the test. Streamlit turns a ``:material/…:`` page icon into a favicon from Google's font server, which is what
this once caught (14 requests on a tour).
"""

from __future__ import annotations

import os

import pytest

from tests.support.browser import chromium, chromium_path, streamlit_server, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if chromium_path() is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Chromium for the browser tests: apt-get install -y chromium")
    pytest.skip("Chromium is not installed (apt-get install -y chromium)", allow_module_level=True)

PAGES = 9


def _tour(page) -> None:
    """Every page by its key, 1 to 9, waiting for each to finish drawing."""
    for key in range(1, PAGES + 1):
        page.wait_for_function("() => window.__bnnKeys && document.querySelector('[data-testid=stTopNavLink]')")
        page.locator("h1").first.click()
        page.keyboard.press(str(key))
        page.wait_for_function("k => document.querySelectorAll('[data-testid=stTopNavLink]')[k - 1]"
                               ".getAttribute('aria-current') === 'page'", arg=key, timeout=60_000)  # fmt: skip
        wait_idle(page)


def test_a_tour_of_every_page_asks_nothing_of_an_outside_server() -> None:
    with streamlit_server() as url, chromium() as browser:
        outside: list[str] = []
        local = 0

        def route(request_route) -> None:
            nonlocal local
            target = request_route.request.url
            if target.startswith(url) or target.startswith(("data:", "blob:")):
                local += 1
                request_route.continue_()
            else:
                outside.append(target)
                request_route.abort()  # as it would fail with no internet

        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.route("**/*", route)
        page.goto(url)
        page.wait_for_selector(".js-plotly-plot", timeout=240_000)
        wait_idle(page)
        _tour(page)
        page.goto(f"{url}/?present=1&preset=two-moons")  # presenter mode: another session, another first page
        page.wait_for_selector(".js-plotly-plot", timeout=120_000)
        wait_idle(page)
        _tour(page)
        assert local > 20  # the recording saw the app's own requests
        assert outside == []
        # The navigation's icons are drawn with the Material Symbols font that Streamlit serves itself.
        assert page.evaluate("() => document.fonts.check('24px \"Material Symbols Rounded\"', 'map')")
        icon = page.locator('[data-testid="stTopNavLink"] [data-testid="stIconMaterial"]').first
        assert icon.bounding_box()["width"] > 10
