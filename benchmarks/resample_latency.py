"""Resample latency in a real browser: click → redrawn chart, for the app and for a bare Streamlit page.

Both pages are served and measured in the same run, alternating clicks, so the
machine's load affects both alike. The time is taken inside the page, from the
click to the first animation frame where the chart's title shows the new draw.

    python benchmarks/resample_latency.py [--clicks 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.browser import chromium, streamlit_server, wait_idle

CLICK_UNTIL_TITLE = """async ([expected]) => {
    const strip = s => (s || '').replace(/<[^>]*>/g, '');
    const shown = () => Array.from(document.querySelectorAll('.js-plotly-plot'))
        .some(d => d.layout && d.layout.title && strip(d.layout.title.text) === expected);
    const start = performance.now();
    document.querySelector('.st-key-resample button').click();
    return await new Promise(resolve => {
        const poll = () => shown() ? resolve(performance.now() - start) : requestAnimationFrame(poll);
        poll();
    });
}"""


def measure(page: object, expected: str) -> float:
    """Milliseconds from the Resample click until a chart titled ``expected`` is drawn."""
    millis = page.evaluate(CLICK_UNTIL_TITLE, [expected])
    wait_idle(page)
    return float(millis)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=15, help="measured clicks per page (after 3 warm-up clicks)")
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    with (
        streamlit_server("app.py", cwd=root) as app_url,
        streamlit_server("benchmarks/bare_app.py", cwd=root) as bare_url,
        chromium() as browser,
    ):
        app = browser.new_page(viewport={"width": 1600, "height": 1000})
        bare = browser.new_page(viewport={"width": 1600, "height": 1000})
        app.goto(app_url)
        app.wait_for_selector(".st-key-resample button", timeout=600_000)  # the first visit trains a model
        wait_idle(app, timeout_ms=600_000)
        bare.goto(bare_url)
        bare.wait_for_selector(".st-key-resample button", timeout=60_000)
        wait_idle(bare)
        times: dict[str, list[float]] = {"app: Resample": [], "bare page": []}
        for click in range(1, args.clicks + 4):
            app_ms = measure(app, f"Posterior sample #{click}")
            bare_ms = measure(bare, f"Draw {click}")
            if click > 3:
                times["app: Resample"].append(app_ms)
                times["bare page"].append(bare_ms)
    for name, values in times.items():
        print(name, " ".join(f"{v:.0f}" for v in values), file=sys.stderr)
    bare_median = statistics.median(times["bare page"])
    print(f"Resample latency, {args.clicks} clicks each, headless Chromium 1600×1000 (ms)")
    print(f"| {'page':<15} | {'median':>7} | {'min':>6} | {'max':>6} | {'× bare':>6} |")
    print(f"|{'-' * 17}|{'-' * 9}|{'-' * 8}|{'-' * 8}|{'-' * 8}|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name:<15} | {median:7.0f} | {min(values):6.0f} | {max(values):6.0f} | {median / bare_median:6.2f} |")


if __name__ == "__main__":
    main()
