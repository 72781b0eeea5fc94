"""Memory after a room closes: does the server give back what 8 browser sessions took?

    python benchmarks/memory.py [--rooms 2] [--sessions 8] [--trainings 5] [--epochs 3000] [--ttl 20] [--arenas 2]

One ``streamlit run app.py`` (``server.disconnectedSessionTTL`` set to ``--ttl`` seconds, 120 by default in
Streamlit, so that the janitor of ``ui/server/sessions.py`` releases closed sessions sooner) and one headless Chromium:

1. Warm-up: one session trains iris and breast_cancer, visits Methods (its table and the maps of what is ready:
   the page trains nothing on arrival) and the map, and closes; once the janitor has released it, the memory is
   read: the level before, with every import done and every kernel compiled.
2. A room: N sessions at once (a browser context each), each training ``--trainings`` times (iris and
   breast_cancer in turn, a new seed each, so nothing comes from the server's run cache), then visiting Methods
   and the Uncertainty map, then the main page again; then every session closes. Once the janitor has released
   them, the memory is read again (and the peak since the reading before).
3. Step 2 again, ``--rooms`` times in all: memory a room leaves behind grows room after room; what is bounded
   (the run cache: 32 runs at most) does not.

Prints the readings as a table, and exits with 1 if the last reading is more than ``--allowed`` MB (60) above
the level before, or a session saw an exception or a click never finished. The figure is in docs/server.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
from itertools import count
from pathlib import Path

from load import PAGE_JS, Session, log_lines, memory_mb, reset_peak
from playwright.async_api import Browser, async_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.browser import CHROMIUM_ARGS, chromium_path, streamlit_process
from ui.server.heap import ARENAS

DATASETS = ("iris", "breast_cancer")
FIRST_SEED = 7000  # far from the gallery presets' and the other benchmarks' seeds
RELEASED = re.compile(r"Released (\d+) closed session\(s\); (\d+) still open")  # the janitor's log line
PAGE_SECONDS = 900  # the Methods page's table and maps for each session: slow with 8 at once on 2 cores
# The Methods page is drawn: its heading, the table, and the script run over.
METHODS_DRAWN = """() => document.querySelector('[data-test-script-state="notRunning"]') !== null
  && (document.querySelector('h1') || {}).textContent?.startsWith('Is a BNN worth it')
  && document.querySelector('[data-testid="stTable"]') !== null"""


async def open_session(browser: Browser, name: str, url: str, problems: list[str]) -> Session:
    """A new session (a browser context of its own) on the app's first page, drawn."""
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    await context.add_init_script(script=PAGE_JS)
    page = await context.new_page()
    await page.goto(url)
    session = Session(name, context, page, problems, [])
    await session.loaded()
    return session


async def visit_methods(session: Session) -> None:
    """Click the Methods link; wait until its table is drawn."""
    if session.broken:
        return
    link = session.page.locator('[data-testid="stTopNavLink"]', has_text="Methods")
    await link.locator("span").first.click()
    try:
        await session.page.wait_for_function(METHODS_DRAWN, timeout=PAGE_SECONDS * 1000)
    except Exception as error:  # Playwright's timeout: named, and the session goes no further
        session.problems.append(f"{session.name}: the Methods page was not drawn: {str(error).splitlines()[0]}")
        session.broken = True
    await session.check("the Methods page")


async def workday(session: Session, trainings: int, epochs: int, seeds: count) -> None:
    """Train ``trainings`` times, then Methods, the map and the main page again."""
    for index in range(trainings):
        dataset, seed = DATASETS[index % len(DATASETS)], next(seeds)
        await session.fill_form(dataset, seed, epochs=epochs)
        await session.train(dataset, seed)
    await visit_methods(session)
    await session.go("Uncertainty map")
    await session.go("Train and resample")


async def released(log: Path, since: int, seconds: float) -> bool:
    """Wait until the janitor's log, after its first ``since`` characters, says no session is left open (0 still
    open), up to ``seconds``. (A session Streamlit forgot by itself meanwhile is not in its count.)"""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = RELEASED.findall(log.read_text(errors="replace")[since:])
        if found and found[-1][1] == "0":
            return True
        await asyncio.sleep(2)
    return False


async def room(browser: Browser, url: str, args: argparse.Namespace, seeds: count, problems: list[str]) -> float:
    """N sessions at once, each a workday; closed when all are done. Returns the seconds their work took."""
    started = time.monotonic()
    names = [f"session {k + 1}" for k in range(args.sessions)]
    sessions = await asyncio.gather(*(open_session(browser, name, url, problems) for name in names))
    await asyncio.gather(*(workday(session, args.trainings, args.epochs, seeds) for session in sessions))
    seconds = time.monotonic() - started
    for session in sessions:
        await session.close()
    return seconds


async def run(args: argparse.Namespace, log: Path) -> int:
    problems: list[str] = []
    seeds = count(FIRST_SEED)
    options = ("--server.disconnectedSessionTTL", str(args.ttl))
    readings: list[tuple[str, float, float | None]] = []  # (when, RSS MB, peak MB since the previous reading)
    with streamlit_process(log=log, options=options) as server:
        print(f"server PID {server.pid}, its log {log}", file=sys.stderr)

        async def settled(when: str, since: int) -> None:
            if not await released(log, since, args.ttl + 120):
                problems.append(f"{when}: the janitor did not release every closed session")
            await asyncio.sleep(args.settle)
            rss, peak = memory_mb(server.pid)
            readings.append((when, rss, peak if len(readings) else None))
            reset_peak(server.pid)
            print(f"{when}: {rss:.0f} MB (peak {peak:.0f} MB)", file=sys.stderr)

        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium_path(), headless=True,
                                                       args=CHROMIUM_ARGS)  # fmt: skip
            warm = await open_session(browser, "warm-up", server.url, problems)
            await workday(warm, len(DATASETS), args.epochs, seeds)
            since = len(log.read_text(errors="replace"))
            await warm.close()
            await settled("before the room (the warm-up's session released)", since)
            for number in range(1, args.rooms + 1):
                seconds = await room(browser, server.url, args, seeds, problems)
                since = len(log.read_text(errors="replace"))
                print(f"room {number}: {seconds:.0f} s of work", file=sys.stderr)
                await settled(f"after room {number} closed and was released", since)
            await browser.close()
    before = readings[0][1]
    print(
        f"Memory after a room closes: {args.rooms} room(s) of {args.sessions} browser sessions, each training "
        f"{args.trainings} times ({args.epochs:,} epochs, iris and breast_cancer in turn), then visiting Methods "
        f"and the map; server.disconnectedSessionTTL {args.ttl} s, readings {args.settle:g} s after the release; "
        f"MALLOC_ARENA_MAX {args.arenas or 'unset'}"
    )
    print("| when | server RSS (MB) | above before | peak since the reading before (MB) |")
    print("|---|---|---|---|")
    for when, rss, peak in readings:
        print(f"| {when} | {rss:.0f} | {rss - before:+.0f} | {'' if peak is None else f'{peak:.0f}'} |")
    growth = readings[-1][1] - before
    problems += [f"server log: {line}" for line in log_lines(log)]
    for problem in problems:
        print(f"problem: {problem}")
    print(f"last reading − before: {growth:+.0f} MB (allowed: +{args.allowed:g})")
    return 1 if problems or growth > args.allowed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=8, help="browser sessions in the room (default 8)")
    parser.add_argument("--trainings", type=int, default=5, help="trainings per session (default 5)")
    parser.add_argument("--epochs", type=int, default=3000, help="epochs of each training (default 3000)")
    parser.add_argument("--ttl", type=int, default=20, help="server.disconnectedSessionTTL, s (default 20)")
    parser.add_argument("--settle", type=float, default=30, help="s after a release before the reading (default 30)")
    parser.add_argument("--rooms", type=int, default=2, help="rooms one after another (default 2): a leak grows")
    parser.add_argument("--allowed", type=float, default=60, help="MB the server may keep above its level before")
    arenas = f"the server's MALLOC_ARENA_MAX (default {ARENAS}, as deploy/run.sh sets it; 0: glibc's default)"
    parser.add_argument("--arenas", type=int, default=ARENAS, help=arenas)
    args = parser.parse_args()
    os.environ.pop("MALLOC_ARENA_MAX", None)
    if args.arenas > 0:  # the server inherits this process's environment
        os.environ["MALLOC_ARENA_MAX"] = str(args.arenas)
    with tempfile.TemporaryDirectory(prefix="bnn-memory-") as folder:
        sys.exit(asyncio.run(run(args, Path(folder) / "server.log")))


if __name__ == "__main__":
    main()
