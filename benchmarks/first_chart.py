"""No waiting: time to the first chart on a fresh server, cold (numba's cache empty) and warm, and to switch presets.

    python benchmarks/first_chart.py [--repeats 3]

For each repeat a new ``streamlit run app.py`` is started and a new headless Chromium page
opens it. Inside the page, the script's "Loading PyTorch…" caption marks the imports: the
time is taken from the moment it goes (the imports are done) to the first animation frame
with both charts drawn, and also from the page load. "Cold" gives the server an empty
numba cache, so everything compiles: the noise generator while the server imports, the
trainer's kernels once the first page is drawn (during the preset switches). Then every
gallery preset is stepped through with the → button, timing the click until the new
preset's posterior sample is drawn. Last, the time to read each gallery run from disk.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bnn_core.runs.gallery import PRESETS
from bnn_core.runs.restore import restore_run
from tests.support.browser import chromium, streamlit_server, wait_idle

ROOT = Path(__file__).resolve().parents[1]

# Poll every animation frame: note when the loading caption was last seen, and when both charts are there.
FIRST_CHART = """async () => {
    const start = performance.now();
    let captionGone = null, seen = false;
    const charts = () => Array.from(document.querySelectorAll('.js-plotly-plot'))
        .filter(d => d.layout && d.layout.title && /^(True labels|Posterior sample #)/
            .test(String(d.layout.title.text).replace(/<[^>]*>/g, '')));  // Streamlit's theme may wrap it in <b>
    return await new Promise(resolve => {
        const poll = () => {
            const caption = document.body.innerText.includes('Loading PyTorch');
            if (caption) { seen = true; captionGone = null; }
            else if (seen && captionGone === null) captionGone = performance.now();
            if (charts().length >= 2) resolve([performance.now() - start, captionGone === null ? null
                : performance.now() - captionGone, seen]);
            else requestAnimationFrame(poll);
        };
        poll();
    });
}"""

NEXT_PRESET = """async ([title]) => {
    const next = () => document.querySelector('.st-key-preset_next button');
    const sample = () => Array.from(document.querySelectorAll('.js-plotly-plot')).find(d => d.layout
        && d.layout.title && String(d.layout.title.text).startsWith('Posterior sample #'));
    await new Promise(resolve => { const wait = () => next() && sample() ? resolve() : requestAnimationFrame(wait);
                                   wait(); });
    const old = sample(), oldData = old.data;  // the chart stays on screen until the new one replaces it
    const start = performance.now();
    next().click();
    const done = () => {
        const strip = document.querySelector('.st-key-status_strip');
        const now = sample();
        return strip && strip.innerText.includes(title) && now && (now !== old || now.data !== oldData);
    };
    return await new Promise(resolve => {
        const poll = () => done() ? resolve(performance.now() - start) : requestAnimationFrame(poll);
        poll();
    });
}"""


@contextmanager
def numba_cache(cold: bool, warm_folder: str):
    """An empty numba cache folder for a cold start, or the warmed one."""
    saved = os.environ.get("NUMBA_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="bnn-cold-numba-") as empty:
        os.environ["NUMBA_CACHE_DIR"] = empty if cold else warm_folder
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop("NUMBA_CACHE_DIR", None)
            else:
                os.environ["NUMBA_CACHE_DIR"] = saved


def first_chart(browser: object, script: str, cold: bool, warm_folder: str) -> tuple[float, float | None, list[float]]:
    """(ms from page load, ms after the imports, ms per preset switch) for ``script`` on a new server."""
    with numba_cache(cold, warm_folder), streamlit_server(script, cwd=ROOT, timeout=300) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(url, wait_until="commit")
        from_load, after_imports, _ = page.evaluate(FIRST_CHART)
        wait_idle(page, timeout_ms=600_000)
        switches = []
        if script == APP:
            for preset in [*PRESETS[1:], PRESETS[0]]:
                switches.append(page.evaluate(NEXT_PRESET, [preset.title]))
                wait_idle(page)
        page.close()
    return from_load, after_imports, switches


CASES = {  # name: (script, cold numba cache)
    "app, cold numba cache": ("app.py", True),
    "app, warm": ("app.py", False),
    "floor page (imports + 2 charts)": ("benchmarks/floor_app.py", False),
}
APP = "app.py"


def _row(name: str, runs: list[tuple[float, float | None, list[float]]]) -> str:
    loads = [r[0] for r in runs]
    after = [r[1] for r in runs if r[1] is not None]
    shown = f"{statistics.median(after):.0f} | {min(after):.0f}–{max(after):.0f}" if after else "n/a | n/a"
    return f"| {name} | {statistics.median(loads):.0f} | {shown} |"


def load_times(repeats: int = 5) -> dict[str, list[float]]:
    """ms to read each gallery run from disk as a whole run (what the server does once per preset)."""
    restore_run(ROOT / "gallery" / PRESETS[0].slug)  # the first read imports and warms the reader
    times: dict[str, list[float]] = {preset.slug: [] for preset in PRESETS}
    for _ in range(repeats):
        for preset in PRESETS:
            start = time.perf_counter()
            restore_run(ROOT / "gallery" / preset.slug)
            times[preset.slug].append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="fresh servers per case")
    args = parser.parse_args()
    warm_folder = tempfile.mkdtemp(prefix="bnn-warm-numba-")
    results: dict[str, list[tuple[float, float | None, list[float]]]] = {name: [] for name in CASES}
    with chromium() as browser:
        first_chart(browser, APP, cold=False, warm_folder=warm_folder)  # fills the warm cache
        for _ in range(args.repeats):
            for name, (script, cold) in CASES.items():  # alternating, so load on the machine hits all alike
                results[name].append(first_chart(browser, script, cold, warm_folder))
    print(f"First chart on a fresh server, headless Chromium 1280×720, {args.repeats} servers each (ms)")
    print("| page | from page load (median) | after the imports (median) | after the imports (range) |")
    print("|---|---|---|---|")
    for name, runs in results.items():
        print(_row(name, runs))
    print(f"\nSwitching to the next gallery preset, right after the first chart, {len(PRESETS)} switches a server (ms)")
    print("| server | switches | median | min | max |")
    print("|---|---|---|---|---|")
    for name, runs in results.items():
        switches = [ms for run in runs for ms in run[2]]
        if switches:
            low, high = min(switches), max(switches)
            print(f"| {name} | {len(switches)} | {statistics.median(switches):.0f} | {low:.0f} | {high:.0f} |")
    print("\nReading a gallery run from disk (restore_run, in this process, 5 times each, ms)")
    print("| preset | median | min | max |")
    print("|---|---|---|---|")
    for slug, times in load_times().items():
        print(f"| {slug} | {statistics.median(times):.0f} | {min(times):.0f} | {max(times):.0f} |")


if __name__ == "__main__":
    main()
