"""Many users on one server: N real browser sessions sharing one ``streamlit run app.py``, all at once.

    python benchmarks/load.py [--sessions 1,4,8] [--trainings 3] [--neighbour] [--quick]

Each session is its own Playwright browser context in one headless Chromium, so each is a separate
Streamlit session: a thread of the one server process. Every training uses a seed of its own: the
server shares finished runs between sessions by their full config and a gallery preset needs no
training, so a repeated config would time a cache hit. Times are taken inside the page, from the
click until the script run has finished and the new content is in the page.

1. Warm-up: one session opens the fresh server (its imports), trains and opens the map (the compiles).
2. Alone: the same session runs K rounds. A round trains on iris and then on breast_cancer; after each
   training it presses Resample a few times, opens the Uncertainty map (the plain twin trains and the
   map is computed) and switches pages (main, map, main: nothing left to compute). This is the baseline.
3. For each N > 1: N new sessions open the app at once and run K rounds, all pressing Train at the same
   moment. Then one of them presses Resample while the N−1 others train on breast_cancer, K times.
4. The first session trains 100,000 epochs × 1,000 units on iris while a new one presses Resample; Stop.
The server's memory (RSS and its peak) is read between phases: before and after each N, and N seconds
after its sessions close.
The browsers run on the same cores as the server, at niceness 19 by default (--browser-nice): in a room each
browser has a machine of its own. The CPU table says how much each side took.
Exits with 1 if a session showed a Streamlit exception, a spinner outlived its run, or a click never
finished (a lost click or a stuck run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

import numpy as np
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from playwright.async_api import Error as PlaywrightError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neighbour import neighbour

from tests.support.browser import CHROMIUM_ARGS, Server, chromium_path, streamlit_process

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ("iris", "breast_cancer")
MAIN, MAP = "Train and resample", "Uncertainty map"
FRESH = "Open the app, fresh server (imports)"
OPS = (FRESH, "Open the app", "Train iris", "Train breast_cancer", "Resample", "Uncertainty map (twin + map)",
       "Page switch")  # fmt: skip
LONG_EPOCHS, LONG_UNITS = 100_000, 1000
FIRST_SEED = 1000  # far from the gallery presets' seeds, so that no training is a preset
LOG_PATTERNS = ("Error", "Exception", "Traceback", "Couldn't find fragment", "was created with a default value")
TIMEOUT_S = {"open": 300, "train": 300, "resample": 60, "page": 300, "stop": 60}
CLOCK = os.sysconf("SC_CLK_TCK")

# Installed in every page: what to click, when a click's work is done, and a timer that watches for it.
PAGE_JS = """
window.__load = (() => {
  const BUTTON_WAIT_MS = 10000;
  const strip = s => String(s || '').replace(/<[^>]*>/g, '');
  const charts = () => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(d => d.layout && d.layout.title);
  const titles = () => charts().map(d => strip(d.layout.title.text));
  const idle = () => document.querySelector('[data-test-script-state="notRunning"]') !== null;
  const heading = () => { const h = document.querySelector('h1'); return h ? h.textContent : ''; };
  const onMain = () => heading().startsWith('A Bayesian neural network')
    && titles().some(t => t.startsWith('Posterior sample #'));
  const button = text => Array.from(document.querySelectorAll('button')).find(b => b.innerText.trim() === text);
  const CLICK = {
    train: () => Array.from(document.querySelectorAll('[data-testid="stSidebar"] button'))
      .find(b => b.innerText.trim() === 'Train'),
    resample: () => document.querySelector('.st-key-resample button'),
    stop: () => button('Stop'),
    link: title => {  // the page change listens on the link's inside (see ui/page.py)
      const links = Array.from(document.querySelectorAll('[data-testid="stTopNavLink"]'));
      const a = links.find(a => a.innerText.includes(title));
      return a && (a.querySelector('span') || a);
    },
  };
  const DONE = {
    main: () => idle() && onMain(),
    map: () => idle() && heading().startsWith('Where does it know') && titles().some(t => t.startsWith('BNN ('))
      && titles().some(t => t.startsWith('Plain network:')),
    sample: k => idle() && onMain() && titles().includes('Posterior sample #' + k),
    // The chart's download name carries the run's dataset and seed (ui/state.py run_label): the new run is drawn.
    trained: name => idle() && onMain() && charts().some(d => d._context && d._context.toImageButtonOptions
      && d._context.toImageButtonOptions.filename === name),
    progress: text => document.body.textContent.includes(text),
    stopped: () => idle() && onMain() && document.body.textContent.includes('Training stopped after'),
  };
  // Checked on every change to the page (and four times a second, for the deadline), not every frame:
  // eight pages polling every frame took a core of the two the server runs on.
  const until = (ready, start, deadline) => new Promise(resolve => {
    let finished = false, timer = null;
    const observer = new MutationObserver(() => check());
    const finish = result => { finished = true; observer.disconnect(); clearTimeout(timer); resolve(result); };
    const check = () => {
      const now = performance.now();
      if (finished) return;
      if (ready()) finish({ ms: now - start });
      else if (now > deadline) finish({ ms: null, why: `not done after ${((now - start) / 1000).toFixed(0)} s, `
        + `script ${idle() ? 'finished' : 'still running'}` });
    };
    const tick = () => { check(); if (!finished) timer = setTimeout(tick, 250); };
    observer.observe(document.documentElement, { subtree: true, childList: true, attributes: true,
                                                 characterData: true });
    tick();
  });
  const status = () => (document.querySelector('[data-testid="stStatusWidget"]') || {}).innerText || '';
  const describe = () => `heading ${JSON.stringify(heading())}, charts ${JSON.stringify(titles())}, script `
    + `${idle() ? 'finished' : 'running'}, ${document.querySelectorAll('[data-testid="stException"]').length} `
    + `exception(s), status ${JSON.stringify(status())}`;
  return {
    // A button missing when its click is due (the page mid-run, say) is waited for, up to BUTTON_WAIT_MS, and
    // what the page showed meanwhile is reported: a user would click once it is back.
    measure: async ([click, clickArg, done, doneArg, timeoutMs]) => {
      let target = CLICK[click](clickArg), late = null;
      if (!target) {
        const seen = describe(), asked = performance.now();
        const found = await until(() => Boolean(CLICK[click](clickArg)), asked, asked + BUTTON_WAIT_MS);
        if (found.ms === null) {
          return { ms: null, why: `no ${click} button on the page for ${BUTTON_WAIT_MS / 1000} s; it showed ${seen}` };
        }
        target = CLICK[click](clickArg);
        late = `the ${click} button came back after ${found.ms.toFixed(0)} ms; the page showed ${seen}`;
      }
      const start = performance.now();
      target.click();
      return { ...(await until(() => DONE[done](doneArg), start, start + timeoutMs)), late };
    },
    // From the navigation's start, for a page that is loading.
    loaded: ([done, timeoutMs]) => until(DONE[done], 0, performance.now() + timeoutMs),
    sampleShown: () => {
      const title = titles().find(t => t.startsWith('Posterior sample #'));
      return title === undefined ? null : Number(title.slice('Posterior sample #'.length));
    },
    exceptions: () => Array.from(document.querySelectorAll('[data-testid="stException"]'))
      .map(e => e.innerText.slice(0, 300)),
    // The summary's "Training time" card: the engine's optimisation loop, in seconds (one decimal).
    engineSeconds: () => {
      const card = Array.from(document.querySelectorAll('[data-testid="stMetric"]'))
        .find(e => e.textContent.startsWith('Training time'));
      return card ? parseFloat(card.querySelector('[data-testid="stMetricValue"]').textContent) : null;
    },
    spinners: () => idle() ? document.querySelectorAll('[data-testid="stSpinner"]').length : 0,
  };
})();
"""


def reset_peak(pid: int) -> bool:
    """Start process ``pid``'s peak (VmHWM) afresh, so that the next reading's peak is the time since (Linux)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def memory_mb(pid: int) -> tuple[float, float]:
    """(resident now, resident at its peak) of process ``pid`` in MB, from /proc/PID/status."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


@dataclass(frozen=True)
class Cpu:
    """CPU seconds used so far: by the server, the browsers (with this script), the neighbour, the whole machine."""

    wall: float
    server: float
    browsers: float
    neighbour: float
    machine: float


def _processes() -> dict[int, tuple[int, float]]:
    """pid → (parent pid, CPU seconds of it and of its children it has reaped), for every process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # it ended meanwhile
                continue
            found[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]) / CLOCK)
    return found


def _tree(root: int, processes: dict[int, tuple[int, float]]) -> set[int]:
    """``root`` and all its descendants."""
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, (parent, _) in processes.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return tree


def cpu_now(server: int, busy: int | None) -> Cpu:
    """CPU used so far by the ``server`` process, the ``busy`` neighbour, this script's other children, and all."""
    processes = _processes()
    server_tree = _tree(server, processes)
    busy_tree = _tree(busy, processes) if busy else set()
    mine = _tree(os.getpid(), processes) - server_tree - busy_tree

    def seconds(pids: set[int]) -> float:
        return sum(processes[pid][1] for pid in pids)

    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    machine = (sum(ticks) - ticks[3] - ticks[4]) / CLOCK  # everything but idle and iowait
    return Cpu(time.monotonic(), seconds(server_tree), seconds(mine), seconds(busy_tree), machine)


@dataclass
class Session:
    """One browser session; a click that never finishes breaks it, and its later clicks are skipped."""

    name: str
    context: BrowserContext
    page: Page
    problems: list[str]
    notes: list[str]  # what went oddly but was not lost: a button that came late
    broken: bool = False

    async def measure(
        self, what: str, click: str, done: str, click_arg: str | None = None, done_arg: str | int | None = None
    ) -> float | None:
        """Milliseconds from the click until the work is done, or None (and a problem) if it never was."""
        if self.broken:
            return None
        arguments = [click, click_arg, done, done_arg, TIMEOUT_S[what] * 1000]
        result = await self.page.evaluate("a => window.__load.measure(a)", arguments)
        await self.check(f"{what} ({done_arg or click_arg or done})")
        return self._ms(what, result)

    async def loaded(self) -> float | None:
        """Milliseconds from the page's navigation until its first run has finished and its charts are drawn."""
        result = await self.page.evaluate("a => window.__load.loaded(a)", ["main", TIMEOUT_S["open"] * 1000])
        await self.check("opening the app")
        return self._ms("opening the app", result)

    def _ms(self, what: str, result: dict) -> float | None:
        if result.get("late"):
            self.notes.append(f"{self.name}: {what}: {result['late']}")
        if result["ms"] is None:
            self.problems.append(f"{self.name}: {what}: {result['why']}")
            self.broken = True
        return result["ms"]

    async def check(self, after: str) -> None:
        """Note any Streamlit exception on the page, or a spinner still shown once the run has finished."""
        exceptions = await self.page.evaluate("window.__load.exceptions()")
        found = [f"exception after {after}: {text!r}" for text in exceptions]
        if await self.page.evaluate("window.__load.spinners()"):
            found.append(f"a spinner still shown after {after} had finished")
        for problem in (f"{self.name}: {text}" for text in found):
            if problem not in self.problems:  # an exception stays on the page: name it once
                self.problems.append(problem)

    async def fill_form(self, dataset: str, seed: int, epochs: int | None = None, units: int | None = None) -> None:
        """Put the dataset, seed (and optionally epochs and units) into the sidebar form, without pressing Train."""
        if self.broken:
            return
        try:
            await self._choose_dataset(dataset)
            numbers = {"Seed": seed, "Epochs": epochs, "Units per layer": units}
            for label, value in numbers.items():
                if value is not None:
                    box = self.page.get_by_role("spinbutton", name=label)
                    await box.fill(str(value), timeout=60_000)
                    await box.press("Tab")  # the number is taken when the field loses the focus
        except PlaywrightError as error:
            self.problems.append(f"{self.name}: the sidebar form could not be filled: {error.message.splitlines()[0]}")
            self.broken = True

    async def _choose_dataset(self, dataset: str) -> None:
        for attempt in range(1, 4):
            await self.page.get_by_role("combobox", name="Dataset").click(timeout=60_000)
            try:
                await self.page.get_by_role("option", name=dataset, exact=True).click(timeout=2000)
                return
            except PlaywrightError:  # the list now and then closes again at once; a second click opens it
                print(f"{self.name}: the dataset list closed before a choice, try {attempt}", file=sys.stderr)
                await self.page.keyboard.press("Escape")
        raise PlaywrightError(f"{dataset} could not be chosen in the Dataset list")

    async def train(self, dataset: str, seed: int) -> float | None:
        """Press Train (the form already filled) and time it until the new run's sample chart is drawn."""
        return await self.measure("train", "train", "trained", done_arg=f"{dataset}-seed{seed}-sample-0")

    async def engine_seconds(self) -> float | None:
        """The engine's own training time of the run on screen, as its summary shows it."""
        return await self.page.evaluate("() => window.__load.engineSeconds()")

    async def resample(self) -> float | None:
        """Press Resample; time it until the next posterior sample's chart is drawn."""
        shown = await self.page.evaluate("() => window.__load.sampleShown()")
        if shown is None:
            return await self.measure("resample", "resample", "sample")  # no chart: the problem is named there
        return await self.measure("resample", "resample", "sample", done_arg=shown + 1)

    async def go(self, title: str) -> float | None:
        """Click the top navigation's link to page ``title``; time it until that page's charts are drawn."""
        return await self.measure("page", "link", "main" if title == MAIN else "map", click_arg=title)

    async def close(self) -> None:
        """Check the page a last time, and close the tab: the server sees the session disconnect."""
        if not self.broken:
            await self.check("the last click")
        await self.context.close()


@dataclass
class Room:
    """The shared server, the browser, and everything measured."""

    browser: Browser
    server: Server
    busy: int | None
    rounds: int  # per session; a round trains on each of DATASETS
    resamples: int  # Resample presses after each training
    switches: tuple[str, ...]  # the pages visited after the map's first visit
    epochs: int  # of every training but the long one
    linger: float | None  # seconds between closing the largest room and the last memory reading; None: N
    seeds: Iterator[int] = field(default_factory=lambda: count(FIRST_SEED))
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ops: dict[int, dict[str, list[float]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    engine: dict[int, dict[str, list[float]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    cpu_per_op: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))
    beside_training: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    long_run: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    memory: list[tuple[str, float, float | None]] = field(default_factory=list)  # (when, RSS, peak since), MB
    peak_reset: bool = False
    cpu: list[tuple[str, Cpu, Cpu]] = field(default_factory=list)
    opened: int = 0

    async def open(self) -> Session:
        """A new session (its own browser context) on the app's first page."""
        self.opened += 1
        context = await self.browser.new_context(viewport={"width": 1280, "height": 720})
        await context.add_init_script(script=PAGE_JS)
        page = await context.new_page()
        await page.goto(self.server.url)
        return Session(f"session {self.opened}", context, page, self.problems, self.notes)

    async def timed(self, n: int, op: str, click: Awaitable[float | None]) -> None:
        """Record the milliseconds ``click`` measures; alone, also the CPU the server and the browsers spent."""
        before = self.cpu_now() if n == 1 else None
        ms = await click
        if ms is None:
            return
        self.ops[n][op].append(ms)
        if before is not None:
            after = self.cpu_now()
            self.cpu_per_op[op].append((after.server - before.server, after.browsers - before.browsers))

    def cpu_now(self) -> Cpu:
        return cpu_now(self.server.pid, self.busy)

    def remember_memory(self, when: str) -> None:
        """Read the server's RSS, and its peak since the previous reading (None where the peak is not resettable)."""
        rss, peak = memory_mb(self.server.pid)
        self.memory.append((when, rss, peak if self.peak_reset or not self.memory else None))
        self.peak_reset = reset_peak(self.server.pid)


async def work_round(room: Room, session: Session, n: int, dataset: str, start: asyncio.Barrier) -> None:
    """Train on ``dataset`` with a new seed when every session is ready, then resample, open the map, switch pages."""
    seed = next(room.seeds)
    await session.fill_form(dataset, seed, epochs=room.epochs)
    await start.wait()
    await room.timed(n, f"Train {dataset}", session.train(dataset, seed))
    seconds = await session.engine_seconds()
    if seconds is not None:
        room.engine[n][dataset].append(seconds)
    for _ in range(room.resamples):
        await room.timed(n, "Resample", session.resample())
    await room.timed(n, "Uncertainty map (twin + map)", session.go(MAP))
    for title in room.switches:
        await room.timed(n, "Page switch", session.go(title))


async def rounds(room: Room, sessions: list[Session], n: int) -> None:
    """``room.rounds`` rounds of every session at once, each training starting together (see :func:`work_round`)."""
    for _ in range(room.rounds):
        for dataset in DATASETS:
            start = asyncio.Barrier(len(sessions))
            await asyncio.gather(*(work_round(room, s, n, dataset, start) for s in sessions))


async def resample_beside_training(room: Room, sessions: list[Session], dataset: str) -> None:
    """The first session presses Resample again and again while all the others train on ``dataset``."""
    clicker, trainers = sessions[0], sessions[1:]
    seeds = [next(room.seeds) for _ in trainers]
    pairs = list(zip(trainers, seeds, strict=True))
    await asyncio.gather(*(t.fill_form(dataset, seed, epochs=room.epochs) for t, seed in pairs))
    training = asyncio.gather(*(t.train(dataset, seed) for t, seed in pairs))
    while not training.done() and not clicker.broken:
        ms = await clicker.resample()
        if ms is not None:
            room.beside_training[len(sessions)].append(ms)
    await training


async def open_sessions(room: Room, n: int) -> list[Session]:
    """``n`` sessions opening the app at once; their time to the first chart is recorded."""
    sessions = list(await asyncio.gather(*(room.open() for _ in range(n))))
    for ms in await asyncio.gather(*(s.loaded() for s in sessions)):
        if ms is not None:
            room.ops[n]["Open the app"].append(ms)
    return sessions


async def warm_up(room: Room, datasets: tuple[str, ...]) -> Session:
    """One session alone first: the server's imports, the trainer's and the twin's compiles, the datasets read."""
    before = room.cpu_now()
    session = await room.open()
    ms = await session.loaded()
    if ms is not None:
        room.ops[1][FRESH].append(ms)
    for dataset in datasets:
        seed = next(room.seeds)
        await session.fill_form(dataset, seed, epochs=room.epochs)
        await session.train(dataset, seed)
        await session.go(MAP)
        await session.go(MAIN)
    room.cpu.append(("warm-up (1 session)", before, room.cpu_now()))
    return session


async def alone(room: Room, session: Session) -> None:
    """One session's rounds, with nobody else busy: the baseline of every operation."""
    before = room.cpu_now()
    await rounds(room, [session], 1)
    room.cpu.append(("1 session (alone)", before, room.cpu_now()))


async def together(room: Room, n: int) -> None:
    """``n`` sessions at once: their rounds, then Resample beside the others' training; the memory around them."""
    room.remember_memory(f"before {n} sessions")
    before = room.cpu_now()
    sessions = await open_sessions(room, n)
    await rounds(room, sessions, n)
    for _ in range(room.rounds):
        await resample_beside_training(room, sessions, "breast_cancer")  # the longer training of the two
    room.cpu.append((f"{n} sessions", before, room.cpu_now()))
    room.remember_memory(f"after {n} sessions × {room.rounds} round(s), sessions open")
    for session in sessions:
        await session.close()
    linger = n if room.linger is None else room.linger
    await asyncio.sleep(linger)
    room.remember_memory(f"{linger:g} s after they closed")


async def long_training(room: Room, trainer: Session, clicker: Session, seconds: float) -> None:
    """``trainer`` starts a long run while ``clicker`` presses Resample for ``seconds``; then Stop."""
    before = room.cpu_now()
    await trainer.fill_form("iris", next(room.seeds), epochs=LONG_EPOCHS, units=LONG_UNITS)
    await trainer.measure("train", "train", "progress", done_arg=f"of {LONG_EPOCHS:,} ·")
    end = time.monotonic() + seconds
    while time.monotonic() < end and not clicker.broken:
        ms = await clicker.resample()
        if ms is not None:
            room.long_run["Resample"].append(ms)
    ms = await trainer.measure("stop", "stop", "stopped")
    if ms is not None:
        room.long_run["Stop → 'Training stopped'"].append(ms)
    room.cpu.append(("long run + Resample", before, room.cpu_now()))


def stats_cells(values: list[float], digits: int = 0) -> str:
    """'n | p50 | p95 | max' cells for a table row."""
    if not values:
        return "0 | – | – | –"
    cells = (np.quantile(values, 0.5), np.quantile(values, 0.95), max(values))
    return f"{len(values)} | " + " | ".join(f"{v:.{digits}f}" for v in cells)


def print_operations(room: Room) -> None:
    print("\n1. Each operation, click → run finished and the new content drawn (ms); alone, also the CPU it took")
    print("| sessions | operation | n | p50 | p95 | max | server CPU p50 | browser CPU p50 |")
    print("|---|---|---|---|---|---|---|---|")
    for n, ops in sorted(room.ops.items()):
        for op, values in sorted(ops.items(), key=lambda item: OPS.index(item[0])):
            spent = room.cpu_per_op.get(op) if n == 1 else None
            cpu = (
                " | ".join(f"{statistics.median(part) * 1000:.0f}" for part in zip(*spent, strict=True))
                if spent
                else " | "
            )
            print(f"| {n}{' (alone)' if n == 1 else ''} | {op} | {stats_cells(values)} | {cpu} |")


def print_slowdown(room: Room) -> None:
    print("\n2. N sessions pressing Train at once: each training's time ÷ the same training alone (p50);")
    print("   'engine ×': the same for the training loop alone, as the run's summary reports it (0.1 s steps)")
    print("| sessions | dataset | alone p50 (ms) | n | p50 × | p95 × | max × | goal ≤ | met | engine alone (s) "
          "| engine × p50 |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n, ops in sorted(room.ops.items()):
        if n == 1:
            continue
        goal = max(n / 2, 1) * 1.5  # two cores: two trainings side by side cost nothing, more share them
        for dataset in DATASETS:
            alone = room.ops[1][f"Train {dataset}"]
            if not alone:
                continue
            base = statistics.median(alone)
            ratios = [ms / base for ms in ops[f"Train {dataset}"]]
            met = "yes" if ratios and max(ratios) <= goal else "no"
            engine_alone, engine = room.engine[1][dataset], room.engine[n][dataset]
            engine_base = statistics.median(engine_alone) if engine_alone else 0.0
            engine_ratio = f"{statistics.median(engine) / engine_base:.1f}" if engine and engine_base else "–"
            print(f"| {n} | {dataset} | {base:.0f} | {stats_cells(ratios, 2)} | {goal:g} | {met} | "
                  f"{engine_base:.1f} | {engine_ratio} |")  # fmt: skip


def print_beside(title: str, rows: dict[str, list[float]], extra: dict[str, list[float]] | None = None) -> None:
    print(f"\n{title}")
    print("| while | n | p50 | p95 | max | p95 < 1 s |\n|---|---|---|---|---|---|")
    for name, values in rows.items():
        met = "yes" if values and np.quantile(values, 0.95) < 1000 else "no"
        print(f"| {name} | {stats_cells(values)} | {met} |")
    for name, values in (extra or {}).items():
        print(f"| {name} | {stats_cells(values)} | |")


def print_memory(room: Room, number: int = 5) -> None:
    if not room.memory:
        return
    print(f"\n{number}. The server's memory (VmRSS of the streamlit process, MB; the peak is VmHWM since the row "
          "above)")  # fmt: skip
    print("| when | RSS | vs the warm-up | peak since the row above |\n|---|---|---|---|")
    first = room.memory[0][1]
    for when, rss, peak in room.memory:
        print(f"| {when} | {rss:.0f} | {rss - first:+.0f} | {'n/a' if peak is None else f'{peak:.0f}'} |")
    print("Streamlit keeps a closed tab's session for server.disconnectedSessionTTL (120 s by default) in case it")
    print("reconnects: a reading sooner than that shows what is still held, not a leak (see --linger).")


def print_cpu(room: Room, number: int = 6) -> None:
    cores = os.cpu_count() or 1
    print(f"\n{number}. CPU during each phase (cores busy on average, of {cores})")
    print("| phase | wall (s) | server | browsers + this script | neighbour | rest of the machine |")
    print("|---|---|---|---|---|---|")
    for name, a, b in room.cpu:
        wall = b.wall - a.wall
        parts = [(b.server - a.server), (b.browsers - a.browsers), (b.neighbour - a.neighbour)]
        rest = max(b.machine - a.machine - sum(parts), 0.0)
        print(f"| {name} | {wall:.0f} | " + " | ".join(f"{p / wall:.2f}" for p in [*parts, rest]) + " |")


def log_lines(log: Path) -> list[str]:
    """The server log's lines naming an error, an exception, a lost fragment or a widget-default warning."""
    lines = log.read_text(errors="replace").splitlines()
    # A request for a static file names it, and Streamlit's alert icons are ErrorOutline.*.js: not an error.
    lines = [line for line in lines if '"GET /static/' not in line]
    counts = Counter(line.strip() for line in lines if any(p in line for p in LOG_PATTERNS))
    return [f"{n}× {line}" if n > 1 else line for line, n in counts.items()]


def _load(average: tuple[float, float, float]) -> str:
    return " / ".join(f"{v:.2f}" for v in average)


def machine_line(start_load: tuple[float, float, float], neighbour_on: bool) -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU")  # fmt: skip
    busy = "a NumPy matmul loop in another process (one core)" if neighbour_on else "none"
    return (f"Machine: {os.cpu_count()} cores ({model}); load average (1/5/15 min) {_load(start_load)} at the start, "
            f"{_load(os.getloadavg())} at the end; neighbour: {busy}")  # fmt: skip


def renice_browsers(server: int, busy: int | None, nice: int) -> None:
    """Set this script's other descendants (the browsers) to niceness ``nice`` at least, their threads and their
    scheduling group alike.

    Playwright starts Chromium in a session of its own, so with the kernel's autogroup scheduling it is a group
    of its own, and the kernel shares the cores between groups first: niced threads alone would still take half
    of them. Chromium also raises its GPU and display threads to −8 when it may (as root), and niceness is per
    thread on Linux, so every thread is set, again and again, as new renderers and threads appear.
    An autogroup is a whole session: the Playwright driver shares this script's, and so the server's, so only the
    groups of sessions other than the server's are set.
    """
    processes = _processes()
    others = _tree(server, processes) | (_tree(busy, processes) if busy else set()) | {os.getpid()}
    server_session = os.getsid(server)
    for pid in _tree(os.getpid(), processes) - others:
        with contextlib.suppress(OSError):  # no autogroups on this kernel, or it ended meanwhile
            if os.getsid(pid) != server_session:
                Path(f"/proc/{pid}/autogroup").write_text(str(nice))
        for task in Path(f"/proc/{pid}/task").glob("*"):
            with contextlib.suppress(OSError, ValueError):  # it ended meanwhile
                tid = int(task.name)
                if os.getpriority(os.PRIO_PROCESS, tid) < nice:
                    os.setpriority(os.PRIO_PROCESS, tid, nice)


async def keep_browsers_niced(server: int, busy: int | None, nice: int) -> None:
    """:func:`renice_browsers` twice a second, until cancelled."""
    while True:
        renice_browsers(server, busy, nice)
        await asyncio.sleep(0.5)


async def run(args: argparse.Namespace, log: Path) -> int:
    """The whole benchmark on one server; prints the tables and returns the exit code."""
    start_load, started = os.getloadavg(), time.monotonic()
    counts = sorted({int(n) for n in args.sessions.split(",")})
    with streamlit_process(log=log) as server, neighbour(args.neighbour) as busy:
        print(f"server PID {server.pid} (for py-spy), its log {log}", file=sys.stderr)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium_path(), headless=True,
                                                       args=CHROMIUM_ARGS)  # fmt: skip
            niced = (asyncio.create_task(keep_browsers_niced(server.pid, busy, args.browser_nice))
                     if args.browser_nice > 0 else None)  # fmt: skip
            switches = (MAIN,) if args.quick else (MAIN, MAP, MAIN)
            room = Room(browser, server, busy, args.trainings, args.resamples, switches, args.epochs, args.linger)
            # The warm-up's session goes on alone, then stays open and idle (as a tab left open does) while the
            # others come and go; at the end it trains the long run beside a newly opened session.
            trainer = await warm_up(room, DATASETS[:1] if args.quick else DATASETS)
            room.remember_memory("after the warm-up")  # the baseline: imports done, kernels compiled
            await alone(room, trainer)
            room.remember_memory("after 1 session alone")
            for n in (n for n in counts if n > 1):
                await together(room, n)
            clicker = (await open_sessions(room, 1))[0]  # also the app's opening time with nobody else busy
            await long_training(room, trainer, clicker, args.long_seconds)
            room.remember_memory("after the long run and Stop")
            for session in (trainer, clicker):
                await session.close()
            if niced is not None:
                niced.cancel()
            await browser.close()
        print(f"Many users on one server: {', '.join(map(str, counts))} browser sessions at once, {args.trainings} "
              f"round(s) each, {args.epochs:,} epochs a training, headless Chromium 1280×720 (one browser, a context "
              "per session)")  # fmt: skip
        print(machine_line(start_load, args.neighbour) + f"; browsers at niceness {args.browser_nice}")
        print_operations(room)
        print_slowdown(room)
        beside = {f"{n - 1} other session{'s' if n > 2 else ''} train": v for n, v in room.beside_training.items()}
        print_beside("3. Resample while the other sessions train (ms)", beside)
        long = {f"{LONG_EPOCHS:,} epochs × {LONG_UNITS:,} units train elsewhere": room.long_run["Resample"]}
        stop = {k: v for k, v in room.long_run.items() if k != "Resample"}
        print_beside("4. Resample beside one long training, then Stop (ms)", long, stop)
        print_memory(room)
        print_cpu(room)
    return report_problems(log, room.problems, started, room.notes)


def report_problems(log: Path, problems: list[str], started: float, notes: list[str]) -> int:
    """Print the server log's telling lines, the sessions' problems and notes and the wall time; 1 if any problem,
    else 0."""
    lines = log_lines(log)
    print(f"\nServer log lines naming {', '.join(repr(p) for p in LOG_PATTERNS)}: {len(lines) or 'none'}")
    for line in lines:
        print(f"  {line}")
    print(f"Problems seen in the sessions: {len(problems) or 'none'}")
    for problem in problems:
        print(f"  {problem}")
    print(f"Clicks that waited for their button (not problems: the click then went through): {len(notes) or 'none'}")
    for note in notes:
        print(f"  {note}")
    print(f"Wall time: {time.monotonic() - started:.0f} s")
    return 1 if problems else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="1,4,8", help="comma-separated session counts (default 1,4,8)")
    parser.add_argument("--trainings", type=int, default=3, help="rounds per session (iris, breast_cancer)")
    parser.add_argument("--resamples", type=int, default=5, help="Resample presses after each training")
    parser.add_argument("--long-seconds", type=float, default=20, help="how long to press Resample beside the long run")
    parser.add_argument("--epochs", type=int, default=3000, help="epochs of each training (the app's default)")
    parser.add_argument("--linger", type=float, help="seconds after the largest room closes to read the memory (N)")
    parser.add_argument("--neighbour", action="store_true", help="keep one core busy with another process meanwhile")
    parser.add_argument("--browser-nice", type=int, default=19, help="the browsers' niceness (0-19; default 19): "
                        "they take only the cores the server leaves, as browsers on the users' own machines would; "
                        "0 runs them as the server's equals")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="a smoke run: 300 epochs, 1 press and 1 page switch "
                        "after each training, 4 s beside the long run")  # fmt: skip
    args = parser.parse_args()
    if not 0 <= args.browser_nice <= 19:
        parser.error(f"--browser-nice must be from 0 to 19, not {args.browser_nice}")
    if args.quick:
        args.resamples, args.long_seconds, args.epochs = 1, 4, 300
    with tempfile.TemporaryDirectory(prefix="bnn-load-") as folder:
        sys.exit(asyncio.run(run(args, Path(folder) / "server.log")))


if __name__ == "__main__":
    main()
