"""A room on one server, the server measured whole: N sessions over Streamlit's own protocol, one real browser.

    python benchmarks/room.py [--sessions 1,4,8] [--rounds 3] [--neighbour] [--replicas N] [--quick]

``load.py`` drives every session with a real browser, and on one 2-core machine those browsers take most of the
cores (1.5 of 2 with 8 tabs), so it measures the browsers as much as the server. Here each of the N sessions is
a plain websocket client that speaks Streamlit's protocol (``BackMsg`` / ``ForwardMsg``) to the real
``streamlit run app.py``: it opens a link that names a model (``?dataset=iris&seed=…``), so the app trains that
model live in the session's script run exactly as for a tab that opened the link, streams every progress bar,
loss-curve redraw and chart to the client, and the client reads them all, but draws nothing. That is the
server's whole work for the room (Streamlit's protocol, the session threads, the GIL, the run cache), with the
browsers' drawing left to the machines a room brings. One real headless Chromium session meanwhile presses
Resample and times each press in the page until the next sample's chart is drawn.

1. Warm-up: the server's imports, and one training of each dataset (the compiles).
2. Alone: K rounds of one session opening a link that trains iris, then one for breast_cancer (a new seed
   each time: the server shares finished runs by their settings). The browser presses Resample alone. This
   baseline runs again after step 3, and the ratios divide by the median of both. Then new sessions open one
   link again and again once its run is shared: the main page's own work, with no training.
3. For each N > 1, K rounds: N sessions open such links at the same moment (a new seed each); each training's
   time from the request to its script run's end is divided by the median alone. Then the browser presses
   Resample again and again while N − 1 sessions train breast_cancer, K times.
4. One session opens a link that trains 100,000 epochs × 1,000 units on iris; once its progress shows, the
   browser presses Resample for a while; then the session sends Stop and the time until its run ends is taken.
The server's memory is read before and after each N, and after their sessions have been gone for --linger s.
Exits with 1 if a session saw an exception or an error, a run never ended, or the browser lost a click.

With ``--replicas N`` the server is ``deploy/run.sh N``: N app processes behind HAProxy sharing one run store, every
session and the browser going through the proxy (each lands where HAProxy puts it; the table counts them). Its
memory and CPU are then those of all the replicas and the proxy, and a last table gives the throughput of the
crowded rounds: trainings a minute, and the p95s of a training and of a Resample beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

import numpy as np
import websockets
from load import (
    LONG_EPOCHS,
    LONG_UNITS,
    PAGE_JS,
    Cpu,
    Session,
    _processes,
    _tree,
    cpu_now,
    keep_browsers_niced,
    machine_line,
    memory_mb,
    print_beside,
    print_cpu,
    print_memory,
    report_problems,
    reset_peak,
    stats_cells,
)
from neighbour import neighbour
from playwright.async_api import async_playwright
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.browser import CHROMIUM_ARGS, Server, chromium_path, replicas_process, streamlit_process

DATASETS = ("iris", "breast_cancer")
FIRST_SEED = 5000  # far from the gallery presets' seeds, so that no link names a preset
READY_SEED = 4999  # the one link every ready-page visit opens
RUN_TIMEOUT_S = 600
RELEASED = re.compile(r"Released (\d+) closed session\(s\); (\d+) still open")  # the janitor's log line
TRAINING_TIME = "Training time"  # the summary card with the engine's own loop time (ui/summary.py)


@dataclass
class Visit:
    """One script run of a protocol session: how long it took, and what the page it built showed."""

    ms: float | None = None  # request → the run's end; None if it never ended
    trained: bool = False  # a progress bar was streamed: the link's model was trained, not found ready
    engine_seconds: float | None = None  # the summary's "Training time" card (0.1 s steps)
    problems: list[str] = field(default_factory=list)


class ProtocolSession:
    """A browser tab without the browser: one websocket session on the server, speaking Streamlit's protocol."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url.replace("http://", "ws://", 1) + "/_stcore/stream"
        self.name = name
        self.socket: websockets.ClientConnection | None = None
        self.replica = "–"  # the replica HAProxy chose (its X-BNN-Replica header), or – without a proxy

    async def connect(self) -> None:
        # Large ForwardMsgs (charts) come whole: the client never tells the server it has cached any.
        self.socket = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=None)
        self.replica = self.socket.response.headers.get("X-BNN-Replica", "–")

    async def run(self, query: str, progress_seen: asyncio.Event | None = None) -> Visit:
        """Ask for a script run of the main page with URL query ``query``; read everything until the run ends."""
        message = BackMsg()
        message.rerun_script.query_string = query
        started = time.perf_counter()
        await self.socket.send(message.SerializeToString())
        visit = Visit()
        try:
            async with asyncio.timeout(RUN_TIMEOUT_S):
                while not self._read(ForwardMsg.FromString(await self.socket.recv()), visit, progress_seen):
                    pass
        except TimeoutError:
            visit.problems.append(f"{self.name}: ?{query} had not ended after {RUN_TIMEOUT_S} s")
            return visit
        visit.ms = (time.perf_counter() - started) * 1000
        return visit

    def _read(self, message: ForwardMsg, visit: Visit, progress_seen: asyncio.Event | None) -> bool:
        """Note what ``message`` shows; True once it ends the script run."""
        kind = message.WhichOneof("type")
        if kind == "script_finished":
            return message.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY
        if kind != "delta" or message.delta.WhichOneof("type") != "new_element":
            return False
        element = message.delta.new_element
        shown = element.WhichOneof("type")
        if shown == "progress":
            visit.trained = True
            if progress_seen is not None:
                progress_seen.set()
        elif shown == "exception":
            visit.problems.append(f"{self.name}: exception {element.exception.message[:200]!r}")
        elif shown == "alert" and element.alert.format == element.alert.ERROR:
            visit.problems.append(f"{self.name}: error {element.alert.body[:200]!r}")
        elif shown == "metric" and element.metric.label == TRAINING_TIME:
            visit.engine_seconds = float(element.metric.body.split()[0])
        return False

    async def stop(self) -> None:
        """Press Stop: end the script run that is going on (the app keeps the model it had)."""
        message = BackMsg()
        message.stop_script = True
        await self.socket.send(message.SerializeToString())

    async def wait_end(self) -> float | None:
        """Milliseconds until the current script run ends, or None after the timeout."""
        started, visit = time.perf_counter(), Visit()
        try:
            async with asyncio.timeout(RUN_TIMEOUT_S):
                while True:
                    message = ForwardMsg.FromString(await self.socket.recv())
                    if message.WhichOneof("type") == "script_finished":
                        return (time.perf_counter() - started) * 1000
                    self._read(message, visit, None)
        except TimeoutError:
            return None

    async def close(self) -> None:
        await self.socket.close()


@dataclass
class Room:
    """The shared server, the one browser session, and everything measured."""

    server: Server
    busy: int | None
    browser_session: Session
    rounds: int
    epochs: int
    seeds: Iterator[int] = field(default_factory=lambda: count(FIRST_SEED))
    problems: list[str] = field(default_factory=list)
    trainings: dict[int, dict[str, list[Visit]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    resample: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    ready: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # dataset → ms
    memory: list[tuple[str, float, float | None]] = field(default_factory=list)
    peak_reset: bool = False
    cpu: list[tuple[str, Cpu, Cpu]] = field(default_factory=list)
    opened: int = 0
    replicas: Counter[str] = field(default_factory=Counter)  # sessions per replica
    rounds_seconds: dict[int, dict[str, list[float]]] = field(  # wall time of each crowded round
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )

    def cpu_now(self) -> Cpu:
        return cpu_now(self.server.pid, self.busy)

    def remember_memory(self, when: str) -> None:
        """The server's RSS (all replicas' and the proxy's with --replicas) and the peak since the last reading."""
        pids = _tree(self.server.pid, _processes())
        readings = [memory_mb(pid) for pid in pids]
        rss, peak = sum(r for r, _ in readings), sum(p for _, p in readings)  # the peaks' sum: an upper bound
        self.memory.append((when, rss, peak if self.peak_reset or not self.memory else None))
        self.peak_reset = all([reset_peak(pid) for pid in pids])

    def link(self, dataset: str, epochs: int | None = None, units: int | None = None) -> str:
        """The query of a link naming a new model on ``dataset``."""
        query = f"dataset={dataset}&seed={next(self.seeds)}&epochs={epochs or self.epochs}"
        return query + (f"&hidden={units}" if units else "")

    async def sessions(self, n: int) -> list[ProtocolSession]:
        opened = []
        for _ in range(n):
            self.opened += 1
            opened.append(ProtocolSession(self.server.url, f"protocol session {self.opened}"))
        await asyncio.gather(*(s.connect() for s in opened))
        self.replicas.update(s.replica for s in opened)
        return opened

    async def trainings_at_once(self, n: int, dataset: str, kept: bool = True) -> None:
        """``n`` new sessions open a link naming a new ``dataset`` model at the same moment, then close; ``kept``:
        their times go into the trainings table."""
        sessions = await self.sessions(n)
        started = time.perf_counter()
        visits = await asyncio.gather(*(s.run(self.link(dataset)) for s in sessions))
        if kept:
            self.rounds_seconds[n][dataset].append(time.perf_counter() - started)
        for session in sessions:
            await session.close()
        for visit in visits:
            self.note(visit, f"a link training {dataset}")
            if kept:
                self.trainings[n][dataset].append(visit)

    def note(self, visit: Visit, what: str) -> None:
        self.problems.extend(visit.problems)
        if visit.ms is not None and not visit.trained:
            self.problems.append(f"{what} finished without training (a run was found ready)")

    async def ready_pages(self, dataset: str, visits: int) -> None:
        """New sessions open one link ``visits`` times after it has been trained once: the main page's own work
        for a run that is ready (the shared run cache), with no training."""
        query = f"dataset={dataset}&seed={READY_SEED}&epochs={self.epochs}"
        for visit in range(visits + 1):
            (session,) = await self.sessions(1)
            seen = await session.run(query)
            await session.close()
            self.problems.extend(seen.problems)
            if visit and seen.ms is not None:  # the first visit trains it
                self.ready[dataset].append(seen.ms)

    async def press_resample(self, label: str, until: asyncio.Future | None = None, presses: int = 0) -> None:
        """The browser presses Resample ``presses`` times, or until ``until`` is done, and keeps each time."""
        pressed = 0
        while not self.browser_session.broken and (pressed < presses if until is None else not until.done()):
            ms = await self.browser_session.resample()
            if ms is not None:
                self.resample[label].append(ms)
            pressed += 1


async def warm_up(room: Room) -> None:
    """The server's imports (a first visit) and the compiles (a training of each dataset)."""
    before = room.cpu_now()
    for dataset in DATASETS:
        await room.trainings_at_once(1, dataset, kept=False)
    room.cpu.append(("warm-up (1 session)", before, room.cpu_now()))


async def alone(room: Room, presses: int, when: str) -> None:
    """One session's K rounds with nobody else busy, and the browser's Resample presses: the baseline. It runs
    before and after the crowded phases, so that a shared machine's drift between them shows in its spread."""
    before = room.cpu_now()
    for _ in range(room.rounds):
        for dataset in DATASETS:
            await room.trainings_at_once(1, dataset)
    await room.press_resample("nobody else busy", presses=presses)
    for dataset in DATASETS:
        await room.ready_pages(dataset, presses)
    room.cpu.append((f"1 session alone, {when}", before, room.cpu_now()))


async def together(room: Room, n: int, linger: float) -> None:
    """``n`` sessions training at once, K rounds; then Resample beside n − 1 trainings; the memory around them."""
    room.remember_memory(f"before {n} sessions")
    before = room.cpu_now()
    for _ in range(room.rounds):
        for dataset in DATASETS:
            await room.trainings_at_once(n, dataset)
    room.cpu.append((f"{n} sessions train at once", before, room.cpu_now()))
    before = room.cpu_now()
    others = f"{n - 1} other session{'s train' if n > 2 else ' trains'} breast_cancer"
    for _ in range(room.rounds):
        training = asyncio.ensure_future(room.trainings_at_once(n - 1, "breast_cancer", kept=False))
        await room.press_resample(others, until=training)
        await training
    room.cpu.append((f"Resample beside {n - 1} trainings", before, room.cpu_now()))
    room.remember_memory(f"after {n} sessions, all closed")
    await asyncio.sleep(linger)
    room.remember_memory(f"{linger:g} s later")


async def long_training(room: Room, seconds: float) -> None:
    """One session trains 100,000 epochs × 1,000 units on iris while the browser presses Resample; then Stop."""
    before = room.cpu_now()
    (session,) = await room.sessions(1)
    progress = asyncio.Event()
    run = asyncio.ensure_future(session.run(room.link("iris", LONG_EPOCHS, LONG_UNITS), progress))
    await progress.wait()
    pressing = asyncio.ensure_future(asyncio.sleep(seconds))
    await room.press_resample(f"{LONG_EPOCHS:,} epochs × {LONG_UNITS:,} units train elsewhere", until=pressing)
    run.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await run
    await session.stop()
    ms = await session.wait_end()
    if ms is None:
        room.problems.append(f"the long run had not ended {RUN_TIMEOUT_S} s after Stop")
    else:
        room.resample["Stop → the long run's script ends"].append(ms)
    await session.close()
    room.cpu.append(("long run + Resample", before, room.cpu_now()))


def print_trainings(room: Room) -> None:
    print("\n1. Trainings: a link's request → its script run's end (ms), and each ÷ the median alone (alone: the "
          "rounds before and after the crowded ones)")  # fmt: skip
    print("| sessions at once | dataset | n | p50 | p95 | max | p50 × | p95 × | max × | goal ≤ | met | "
          "engine alone (s) | engine × p50 |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n, by_dataset in sorted(room.trainings.items()):
        goal = max(n / 2, 1) * 1.5  # two cores: two trainings side by side cost nothing, more share them
        for dataset in DATASETS:
            visits = [v for v in by_dataset.get(dataset, []) if v.ms is not None]
            alone = [v for v in room.trainings[1].get(dataset, []) if v.ms is not None]
            if not visits or not alone:
                continue
            base = _median([v.ms for v in alone])
            ratios = [v.ms / base for v in visits]
            met = "–" if n == 1 else ("yes" if max(ratios) <= goal else "no")
            engine_alone = _median([v.engine_seconds for v in alone if v.engine_seconds])
            engine = _median([v.engine_seconds for v in visits if v.engine_seconds])
            engine_ratio = f"{engine / engine_alone:.1f}" if engine and engine_alone else "–"
            ratio_cells = stats_cells(ratios, 2).split(" | ", 1)[1]
            print(f"| {n} | {dataset} | {stats_cells([v.ms for v in visits])} | {ratio_cells} | {goal:g} | {met} | "
                  f"{engine_alone or 0:.1f} | {engine_ratio} |")  # fmt: skip


def print_scale(room: Room, replicas: int, number: int) -> None:
    """Throughput of the crowded rounds: trainings a minute (all of a round's trainings over its wall time), with
    the p50 and p95 of a training and the p95 of the browser's Resample beside n − 1 trainings."""
    print(f"\n{number}. Throughput: {max(replicas, 1)} replica(s) "
          f"{'behind HAProxy' if replicas else '(one streamlit run app.py, no proxy)'}; sessions (the browser's too) "
          "per replica: "
          + ", ".join(f"{name} {count}" for name, count in sorted(room.replicas.items())))  # fmt: skip
    print("| replicas | sessions at once | dataset | trainings | trainings / min | Train p50 (s) | Train p95 (s) | "
          "Resample p95 beside n − 1 trainings (s) |\n|---|---|---|---|---|---|---|---|")  # fmt: skip
    for n, by_dataset in sorted(room.rounds_seconds.items()):
        beside = next((values for label, values in room.resample.items() if label.startswith(f"{n - 1} other")), [])
        resample = f"{np.quantile(beside, 0.95) / 1000:.2f}" if beside else "–"
        for dataset, seconds in by_dataset.items():
            times = [v.ms / 1000 for v in room.trainings[n][dataset] if v.ms is not None]
            rate = len(times) / sum(seconds) * 60
            print(f"| {max(replicas, 1)} | {n} | {dataset} | {len(times)} | {rate:.0f} | "
                  f"{np.quantile(times, 0.5):.2f} | {np.quantile(times, 0.95):.2f} | {resample} |")  # fmt: skip


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


async def run(args: argparse.Namespace, log: Path) -> int:
    """The whole benchmark on one server; prints the tables and returns the exit code."""
    start_load, started = os.getloadavg(), time.monotonic()
    counts = sorted({int(n) for n in args.sessions.split(",") if int(n) > 1})
    serving = replicas_process(args.replicas, log.parent / "shared-runs", log=log) if args.replicas else None
    with serving or streamlit_process(log=log) as server, neighbour(args.neighbour) as busy:
        print(f"server PID {server.pid} (for py-spy), its log {log}", file=sys.stderr)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium_path(), headless=True,
                                                       args=CHROMIUM_ARGS)  # fmt: skip
            niced = (asyncio.create_task(keep_browsers_niced(server.pid, busy, args.browser_nice))
                     if args.browser_nice > 0 else None)  # fmt: skip
            context = await browser.new_context(viewport={"width": 1280, "height": 720})
            await context.add_init_script(script=PAGE_JS)
            page = await context.new_page()
            response = await page.goto(server.url)
            clicker = Session("browser session", context, page, [], [])
            room = Room(server, busy, clicker, args.rounds, args.epochs, problems=clicker.problems)
            room.replicas[response.headers.get("x-bnn-replica", "–")] += 1  # its cookie keeps it there
            await clicker.loaded()
            await warm_up(room)
            room.remember_memory("after the warm-up")
            await alone(room, args.presses, "before")
            for n in counts:
                await together(room, n, args.linger)
            await alone(room, args.presses, "after")
            await long_training(room, args.long_seconds)
            await clicker.close()
            if niced is not None:
                niced.cancel()
            await browser.close()
        print(f"A room on one server: {', '.join(map(str, [1, *counts]))} protocol sessions at once, {args.rounds} "
              f"round(s), {args.epochs:,} epochs a training; one headless Chromium session (1280×720) presses "
              "Resample")  # fmt: skip
        print(machine_line(start_load, args.neighbour) + f"; the browser at niceness {args.browser_nice}")
        print_trainings(room)
        stop = {k: v for k, v in room.resample.items() if k.startswith("Stop")}
        presses = {k: v for k, v in room.resample.items() if k not in stop}
        print_beside("2. The browser's Resample, click → the next sample's chart drawn (ms)", presses, stop)
        print("\n3. A link to a run that is ready (trained once, then shared): request → the page's run ended (ms)")
        print("| dataset | n | p50 | p95 | max |\n|---|---|---|---|---|")
        for dataset, values in room.ready.items():
            print(f"| {dataset} | {stats_cells(values)} |")
        print_memory(room, 4)
        print_cpu(room, 5)
        print_scale(room, args.replicas, 6)
    janitor = RELEASED.findall(log.read_text(errors="replace"))
    released, still_open = sum(int(n) for n, _ in janitor), (janitor[-1][1] if janitor else "–")
    print(f"\nSessions opened: {room.opened + 1} (the browser's too). The janitor (ui/server/sessions.py) released "
          f"{released} closed for longer than server.disconnectedSessionTTL; Streamlit forgets such sessions itself "
          f"when another disconnects, which took the others. Tracked after its last release: {still_open}")  # fmt: skip
    return report_problems(log, room.problems, started, room.browser_session.notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="1,4,8", help="comma-separated session counts (default 1,4,8)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per count; a round trains iris, breast_cancer")
    parser.add_argument("--presses", type=int, default=20, help="Resample presses with nobody else busy")
    parser.add_argument("--long-seconds", type=float, default=20, help="how long to press Resample beside the long run")
    parser.add_argument("--epochs", type=int, default=3000, help="epochs of each training (the app's default)")
    parser.add_argument("--linger", type=float, default=140,
                        help="seconds after a count's sessions close to read the memory (default 140: Streamlit "
                             "keeps a closed session 120 s)")  # fmt: skip
    parser.add_argument("--neighbour", action="store_true", help="keep one core busy with another process meanwhile")
    parser.add_argument("--replicas", type=int, default=0,
                        help="serve with deploy/run.sh REPLICAS (HAProxy in front; needs haproxy); default 0: one "
                             "streamlit run app.py, no proxy")  # fmt: skip
    parser.add_argument(
        "--browser-nice",
        type=int,
        default=0,
        help="the browser's niceness (0-19; default 0: it stands for a user's own machine)",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: 300 epochs, 1 round, 2 presses, 2 s "
                        "beside the long run, 1 s linger")  # fmt: skip
    args = parser.parse_args()
    if not 0 <= args.browser_nice <= 19:
        parser.error(f"--browser-nice must be from 0 to 19, not {args.browser_nice}")
    if args.quick:
        args.rounds, args.presses, args.long_seconds, args.epochs, args.linger = 1, 2, 2, 300, 1
    with tempfile.TemporaryDirectory(prefix="bnn-room-") as folder:
        sys.exit(asyncio.run(run(args, Path(folder) / "server.log")))


if __name__ == "__main__":
    main()
