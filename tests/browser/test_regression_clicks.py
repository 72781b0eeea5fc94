"""Click to add and remove points on a regression in headless Chromium: plotly reports clicks on points only, so the
bands chart holds an invisible grid of them; a click anywhere adds a point there, a click on a point removes it,
and Clear brings the data and the model back.

The chart is read only once it has stopped moving: the page sizes it to the window after plotly first draws it, and
a click aimed from the first drawing's axes landed elsewhere. Clear leaves as many rows as the removal did, so its
redraw is recognised by the rows changing, not by their count."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest

from tests.support.browser import browser_page, chromium_path, streamlit_server, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if chromium_path() is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Chromium for the browser tests: apt-get install -y chromium")
    pytest.skip("Chromium is not installed (apt-get install -y chromium)", allow_module_level=True)

# The bands chart's data rows as plotly holds them, and where the first training row is on screen.
ROWS_JS = """() => {
    const div = Array.from(document.querySelectorAll('.js-plotly-plot')).find(d => d.layout && d.layout.title
        && d.layout.title.text.startsWith('Data, mean'));
    if (!div) return null;
    const rows = div._fullData.filter(t => t.name === 'train rows' || t.name === 'test rows');
    const train = rows.find(t => t.name === 'train rows');
    const xa = div._fullLayout.xaxis, ya = div._fullLayout.yaxis, box = div.getBoundingClientRect();
    return { count: rows.reduce((n, t) => n + t.x.length, 0), xs: rows.flatMap(t => Array.from(t.x)),
             ys: rows.flatMap(t => Array.from(t.y)),
             first: [box.left + xa._offset + xa.l2p(train.x[0]), box.top + ya._offset + ya.l2p(train.y[0])],
             plot: [box.left + xa._offset, box.top + ya._offset, xa._length, ya._length],
             xRange: xa.range, yRange: ya.range };
}"""


def _still(page, ready: Callable[[dict], bool] = lambda rows: True) -> dict:
    """The bands chart's rows once ``ready(rows)`` holds, the script run is over and two reads 0.3 s apart agree
    (the data and where the chart is on screen)."""
    deadline = time.monotonic() + 120
    last = None
    while time.monotonic() < deadline:
        wait_idle(page)
        rows = page.evaluate(ROWS_JS)
        if rows is not None and ready(rows) and rows == last:
            return rows
        last = rows
        page.wait_for_timeout(300)
    raise TimeoutError(f"the bands chart did not settle: {last}")


def test_a_click_adds_a_point_a_click_on_a_point_removes_one_and_clear_restores() -> None:
    with streamlit_server() as base, browser_page(1600, 1000) as page:
        page.goto(f"{base}/?dataset=cubic&epochs=1000")
        before = _still(page)
        assert before["count"] == 20
        left, top, width, height = before["plot"]
        page.mouse.click(left + 0.9 * width, top + 0.25 * height)  # an empty place, upper right
        added = _still(page, lambda rows: rows["count"] == 21)
        x_low, x_high = before["xRange"]
        y_low, y_high = before["yRange"]
        new_x, new_y = next((x, y) for x, y in zip(added["xs"], added["ys"], strict=True) if x not in before["xs"])
        assert new_x == pytest.approx(x_low + 0.9 * (x_high - x_low), abs=0.03 * (x_high - x_low))
        assert new_y == pytest.approx(y_high - 0.25 * (y_high - y_low), abs=0.04 * (y_high - y_low))
        assert page.get_by_text("csv:cubic (edited)").count() >= 1  # the sidebar's dataset is the edited set
        page.mouse.click(*added["first"])  # on a training row
        removed = _still(page, lambda rows: rows["count"] == 20)
        assert sorted(removed["xs"]) != sorted(before["xs"])  # one of the original rows is gone, the click stays
        page.get_by_role("button", name="Clear").click()
        restored = _still(page, lambda rows: sorted(rows["xs"]) != sorted(removed["xs"]))
        assert sorted(restored["xs"]) == pytest.approx(sorted(before["xs"]))
