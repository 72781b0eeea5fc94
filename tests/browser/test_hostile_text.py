"""Hostile text in Chromium: values from a link, a CSV and a run zip are drawn as the text they are.

A link's values reach the app's warning; a CSV's file name, headers and labels, and a run zip's names, reach
headings, captions, the legend, slider and metric labels and the charts' labels. Each holds a Markdown link, a
Markdown image, raw HTML, a bare URL, an e-mail address, a control or bidi character, or 100 KB. On every page
the DOM must hold no link or image they made, the browser must request nothing but the app's own server, no
script may run, and the warning must read the values as they were written.
"""

from __future__ import annotations

import csv
import io
import os
import re
from urllib.parse import urlencode, urlsplit

import pytest

from bnn_core import RunConfig, TrainConfig, read_csv, train_run
from bnn_core.runs.archive import run_zip
from tests.support.browser import browser_page, chromium_path, streamlit_server, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if chromium_path() is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Chromium for the browser tests: apt-get install -y chromium")
    pytest.skip("Chromium is not installed (apt-get install -y chromium)", allow_module_level=True)

LURES = ("evil.example", "127.0.0.1:9")  # the hosts the hostile values point at
# The app's own request beyond its server: Streamlit fetches a page's Material icon, as the tab's icon, from Google.
APP_OWN = "https://fonts.gstatic.com/s/i/short-term/release/materialsymbolsrounded/"
LINK = {
    "page": "[Log in again](http://evil.example/login)",
    "with": "![t](http://127.0.0.1:9/track.png)",
    "preset": "<img src=http://127.0.0.1:9/x.png onerror=alert(1)>",
    "x": "see www.evil.example or mail@evil.example",
    "epochs": "\u202e5 <script>alert(1)</script>\x07",
    "y": "<a href=http://evil.example/y>y</a> " + "a" * 100_000,
}
FEATURES = ("[f](http://evil.example/a)", "<img src=http://127.0.0.1:9/f.png>", "www.evil.example")
LABEL = '<a href="http://evil.example/label">kind</a>'
CLASSES = ("![c](http://127.0.0.1:9/c.png)", '<b style="cursor:url(http://127.0.0.1:9/c.cur),auto">q</b>')
FILE = "[Log in](https:evil.example) <img src=http://127.0.0.1:9/n.png>.csv"

# Every link and image in the page, and the text of its alerts.
DOM_JS = """() => ({
    hrefs: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
    images: Array.from(document.querySelectorAll('img')).map(img => img.src),
    svgLinks: Array.from(document.querySelectorAll('svg a')).map(a => a.getAttribute('href') || ''),
    alerts: Array.from(document.querySelectorAll('[data-testid="stAlert"]')).map(a => a.innerText),
    exceptions: Array.from(document.querySelectorAll('[data-testid="stException"]')).map(e => e.innerText),
})"""


def _hostile_csv() -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow([*FEATURES, LABEL])
    writer.writerows([k % 7, (k * 3) % 5, k % 4 * 1.5, CLASSES[k % 2]] for k in range(60))
    return text.getvalue().encode()


@pytest.fixture(scope="module")
def hostile_zip() -> bytes:
    dataset = read_csv(_hostile_csv(), LABEL, name=FILE)
    assert dataset.feature_names == FEATURES and dataset.class_names == tuple(sorted(CLASSES))
    return run_zip(train_run(dataset, RunConfig(train=TrainConfig(epochs=30), samples=10, seed=3)))


def _assert_only_text(page, url: str, requests: list[str], where: str) -> dict:
    """No link or image the hostile values made, no request beyond the server, no exception; the DOM's summary."""
    wait_idle(page)
    dom = page.evaluate(DOM_JS)
    assert not dom["exceptions"], (where, dom["exceptions"])
    assert dom["hrefs"], where  # the check sees links: the navigation's own, at least
    for address in dom["hrefs"] + dom["images"] + dom["svgLinks"]:  # the app's own links carry the link's text
        parts = urlsplit(address)
        assert parts.scheme in ("", "data", "blob") or parts.netloc == urlsplit(url).netloc, (where, address)
    outside = [r for r in requests if not r.startswith((url, "data:", "blob:", "about:", APP_OWN))]
    assert not outside and not any(lure in r for r in requests[1:] for lure in LURES), (where, outside)
    return dom


def _visible(text: str) -> str:
    return text.replace("\u200b", "")


def _go(page, title: str) -> None:
    """Click the top navigation's link to ``title`` (a click keeps the session; a new address would not)."""
    page.locator('[data-testid="stTopNavLink"]', has_text=title).locator("span").first.click()
    page.wait_for_timeout(500)
    wait_idle(page)


def test_hostile_values_are_drawn_as_text_and_fetch_nothing(hostile_zip: bytes) -> None:
    with streamlit_server() as url, browser_page(1400, 900) as page:
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.on("dialog", lambda dialog: pytest.fail(f"a script ran: {dialog.message}"))

        page.goto(f"{url}/?{urlencode(LINK)}&seed=3&seed=5&hold=1e308,1,1,1")
        page.wait_for_selector('[data-testid="stAlert"]', timeout=240_000)
        dom = _assert_only_text(page, url, requests, "the link's warning")
        warning = _visible(next(text for text in dom["alerts"] if "parameters were not used" in text))
        for shown in (LINK["page"], LINK["with"], LINK["preset"], LINK["x"], "\\u202e5 <script>alert(1)</script>\\x07",
                      "'<a href=http://evil.example/y>y</a> aaaa", f"({len(LINK['y']):,} characters)",
                      "seed is given 2 times ('3', '5')", "hold puts sepal length (cm) at 1e+308"):  # fmt: skip
            assert shown in warning, shown
        assert len(warning) < 3000  # 100 KB cut to a line

        _go(page, "Data")
        upload = page.locator('[data-testid="stFileUploader"]')
        upload.filter(has_text="Your CSV").locator("input[type=file]").set_input_files(
            files=[{"name": FILE, "mimeType": "text/csv", "buffer": _hostile_csv()}]
        )
        page.wait_for_timeout(1000)
        _assert_only_text(page, url, requests, "the CSV's preview")
        upload.filter(has_text="A run zip").locator("input[type=file]").set_input_files(
            files=[{"name": f"{FILE}.zip", "mimeType": "application/zip", "buffer": hostile_zip}]
        )
        page.get_by_role("button", name="Load the zip").click()
        page.wait_for_timeout(1000)
        dom = _assert_only_text(page, url, requests, "the run zip loaded")
        assert any(f"Loaded {FILE}.zip" in _visible(text) for text in dom["alerts"]), dom["alerts"]
        page.get_by_role("button", name="Use this CSV and train").click()  # with the zip's 30 epochs, now the form's
        page.wait_for_timeout(1000)
        _assert_only_text(page, url, requests, "the CSV trained")
        heading = page.locator("h3", has_text="In use").first.inner_text()
        assert re.sub(r"\s+", " ", _visible(heading)).startswith("In use: csv:[Log in](https:evil.example) <img")

        seen = ""
        for title in ("Train and resample", "Truck", "Uncertainty map", "Calibration", "Weights"):
            _go(page, title)
            page.wait_for_timeout(1500)  # the charts draw after the script run
            _assert_only_text(page, url, requests, title)
            seen += _visible(page.locator("body").inner_text())
        for name in (*FEATURES, *CLASSES):  # in the legend, and the truck's slider labels, as written
            assert name in seen, name
