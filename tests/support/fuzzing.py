"""A seeded fuzzer for the real app: random rapid actions in one headless Chromium session against one
``streamlit run app.py``, checked the way a user would notice trouble, and the server's log read as it grows.

The actions: Train (with new epochs in the form, sometimes a new seed or dataset), Stop during a training,
Resample, the ``r`` and ``p`` keys, page switches by link or by the 1-9 keys, reloads, the main page's axes,
CSV uploads on the Data page (good and bad files), and the gallery's preset arrows. Between actions the driver
waits a random 0-300 ms, never for the app, so actions land in the middle of each other's runs.

The checks: after every action, no Streamlit exception on the page; every few actions and at the end, the app
finishes its run within a timeout and leaves no spinner or progress bar behind; all along, no "Traceback",
"Exception" or "Couldn't find fragment" in the server's log. Streamlit's warning about a widget with a default
value also set through the Session State API, and uncaught errors in the browser, are reported, not failed.

Each action's kind and parameters come from ``random.Random(seed)`` alone, never from what the page shows, so
a seed replays the same sequence; whether an action found its button depends on timing, and its step says so.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from tests.support.browser import IDLE, chromium, streamlit_server

# How often each kind of action is drawn (relative weights).
WEIGHTS = {"train": 18, "stop": 7, "resample": 14, "key r": 10, "key p": 4, "page link": 8, "page key": 8,
           "reload": 4, "axis": 8, "upload": 7, "preset": 6}  # fmt: skip
FAILURES = ("exception", "stuck", "log", "driver")  # the kinds of problem that fail a run
FAILURE_PATTERNS = ("Traceback", "Exception", "Couldn't find fragment")
DEFAULT_VALUE_WARNING = "was created with a default value but also had its value set via the Session State API"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")  # Streamlit's log lines start with one
BANNER = ("Uvicorn server started", "You can now view your Streamlit app", "URL:")

MAX_PAUSE_S = 0.3
ELEMENT_TIMEOUT_MS = 4_000  # a button or field that is not there by then counts as missed, not as a failure
FIRST_PAGE_TIMEOUT_MS = 240_000  # a fresh server imports torch and friends, then draws the first run
MAIN_PAGE_SHARE = 0.4  # page switches go to the main page this often (Resample and the axes go there anyway)
TRAIN_EPOCHS = (200, 3000)  # quick trainings: 0.1-1 s here, with the evaluation
STOP_EPOCHS = (40_000, 100_000)  # long enough to be stopped by hand: 2-10 s here, by the load
STOP_AFTER_S = 1.0  # Stop is pressed up to this long after its button shows
# Never wait after a click: the app's URL updates look like navigations to Playwright, which then waits for them.
NO_WAIT = {"timeout": ELEMENT_TIMEOUT_MS, "no_wait_after": True}
APPEAR_TIMEOUT_MS = 15_000  # for what an action itself started: a training's Stop button, a page it opened
SEEDS = (1000, 1_000_000)  # far from the gallery presets' seeds, so that a new seed is a new training

STOP_BUTTON = ".st-key-stop_model button, .st-key-stop_twin button"
RESAMPLE_BUTTON = ".st-key-resample button"
CSV_INPUT = '.st-key-csv_upload input[type="file"]'
USE_CSV_BUTTON = ".st-key-use_csv button"
NAV_LINKS = '[data-testid="stTopNavLink"]'
DATA_PAGE = 7  # the Data page's place in the navigation, after the main page and six others
EXCEPTIONS_JS = """() => Array.from(document.querySelectorAll('[data-testid="stException"]'))
    .map(el => el.innerText.trim())"""
# What a finished run should not leave on screen; null while a run is going again.
LEFT_BEHIND_JS = """idle => document.querySelector(idle) === null ? null : {
    spinners: document.querySelectorAll('[data-testid="stSpinner"]').length,
    progress: document.querySelectorAll('[data-testid="stProgress"]').length,
    stop: document.querySelectorAll('.st-key-stop_model, .st-key-stop_twin').length,
}"""
SETTLE_LOOKS, SETTLE_GAP_S = 3, 0.5  # a click's rerun may start just after the previous run ended: look again
BUSY_JS = "([stop, idle]) => [document.querySelector(stop) !== null, document.querySelector(idle) === null]"


def evaluate(page: Page, script: str, arg: object = None, tries: int = 5) -> object:
    """``page.evaluate``, tried again while a reload replaces the page's JavaScript context under it."""
    for _ in range(tries - 1):
        try:
            return page.evaluate(script, arg)
        except PlaywrightError as error:
            if "context was destroyed" not in str(error):
                raise
            time.sleep(0.2)
    return page.evaluate(script, arg)


def _csv(header: str, rows: list[str]) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def _csv_files() -> dict[str, bytes]:
    """Two files the app accepts and three it refuses, each refusal at a different stage."""
    r = random.Random(0)
    blobs = [f"{r.gauss(c, 1):.3f},{r.gauss(-c, 1):.3f},{r.random():.3f},{'abc'[c]}" for c in range(3)
             for _ in range(30)]  # fmt: skip
    mixed = [f"{r.uniform(0, 10):.2f};{r.choice(['red', 'blue'])};{r.gauss(5, 1):.2f};{r.choice(['yes', 'no'])}"
             for _ in range(60)]  # fmt: skip
    return {
        "fuzz-blobs.csv": _csv("x1,x2,x3,species", blobs),
        "fuzz-mixed.csv": _csv("size;colour;weight;label", mixed),
        "fuzz-empty.csv": b"",  # refused by the preview
        "fuzz-repeated.csv": _csv("a,a,label", ["1,2,x", "3,4,y"]),  # refused by the preview
        "fuzz-one-class.csv": _csv("a,b,label", [f"{i},{2 * i},same" for i in range(20)]),  # refused by training
    }


CSV_FILES = _csv_files()
PREVIEW_REFUSES = ("fuzz-empty.csv", "fuzz-repeated.csv")  # no "Use this CSV and train" button for these


@dataclass(frozen=True)
class Step:
    """One action as it happened."""

    index: int  # from 1
    kind: str  # a key of WEIGHTS
    detail: str  # what was done, or why it was skipped or missed
    outcome: str  # "done"; "skipped": its button is not on this page; "missed": not there in time
    training: bool  # a training's Stop button was on screen when the action began
    running: bool  # a script run was going when the action began
    seconds: float  # how long the action took, without the pause after it


@dataclass(frozen=True)
class Problem:
    """Something a check found, after step ``step`` (0: before the first action)."""

    step: int
    what: str  # "exception", "stuck", "log" or "driver" (failures); "warning" or "browser" (reported)
    text: str


@dataclass
class FuzzRun:
    """A whole run: its steps, what the checks found, and how long it took."""

    seed: int
    steps: list[Step] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # other log records, neither failures nor warnings
    seconds: float = 0.0
    first_page_seconds: float = 0.0  # of which: the server's start and the first page

    @property
    def failures(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.what in FAILURES]

    def replay(self) -> str:
        """The seed, every step and every problem: what it takes to reproduce a failure."""
        lines = [f"seed {self.seed}, {len(self.steps)} actions "
                 f"(python benchmarks/fuzz.py --seed {self.seed} --actions {len(self.steps)}):"]  # fmt: skip
        for step in self.steps:
            flags = "".join((" [training]" if step.training else "", " [running]" if step.running else ""))
            lines.append(f"{step.index:4d} {step.seconds:5.1f} s {step.kind:<9} {step.detail}{flags}")
        lines += [f"after step {p.step}: {p.what}: {p.text}" for p in self.problems]
        return "\n".join(lines)


@dataclass
class LogRecord:
    """One entry of the server's log: a line and the lines that belong to it (a stack, a traceback)."""

    step: int  # the step after which its first line was read
    lines: list[str]

    def kind(self) -> str | None:
        """What this is: "log" (a failure), "warning" (the default-value one), "note", or None (the banner)."""
        if any(line.startswith("Traceback") for line in self.lines):
            return "log"
        if DEFAULT_VALUE_WARNING in self.lines[0]:
            return "warning"  # before the other patterns: its stack may name Streamlit's exception handlers
        if any(pattern in line for line in self.lines for pattern in FAILURE_PATTERNS):
            return "log"
        if all(not line.strip() or any(words in line for words in BANNER) for line in self.lines):
            return None
        return "note"


def log_records(lines: list[tuple[int, str]]) -> list[LogRecord]:
    """Group ``(step, line)`` pairs into records: a timestamped line, or a thread's uncaught exception, starts one.

    A traceback joins the record above it ("Uncaught app execution", say), which it explains.
    """
    records: list[LogRecord] = []
    for step, line in lines:
        if not records or TIMESTAMP.match(line) or line.startswith("Exception in thread"):
            records.append(LogRecord(step, [line]))
        else:
            records[-1].lines.append(line)
    return records


class ServerLog:
    """The server's output file, read as it grows; each complete line tagged with the step it was read after."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = 0
        self._partial = b""
        self.lines: list[tuple[int, str]] = []

    def read(self, step: int) -> None:
        with self._path.open("rb") as file:
            file.seek(self._offset)
            data = self._partial + file.read()
        self._offset += len(data) - len(self._partial)
        *complete, self._partial = data.split(b"\n")
        self.lines += [(step, line.decode(errors="replace")) for line in complete]


class Checker:
    """The checks, with what they found: an exception shown once is reported once, not after every action."""

    def __init__(self, page: Page, log: ServerLog, idle_timeout_s: float) -> None:
        self.page = page
        self.log = log
        self.idle_timeout_s = idle_timeout_s
        self.problems: list[Problem] = []
        self._shown: set[str] = set()  # exceptions on the page now, already reported
        self._browser_errors: list[str] = []
        page.on("pageerror", lambda error: self._browser_errors.append(str(error)))

    def check(self, step: int, settle: bool) -> None:
        """After step ``step``: the page's exceptions, the browser's errors; with ``settle``, that the app idles."""
        if settle:
            self._settle(step)
        self._exceptions(step)
        self.problems += [Problem(step, "browser", error) for error in self._browser_errors]
        self._browser_errors.clear()
        self.log.read(step)

    def finish(self) -> list[Problem]:
        """All problems, with the log's records among them."""
        records = [(r.step, r.kind(), "\n".join(r.lines)) for r in log_records(self.log.lines)]
        logged = [Problem(step, kind, text) for step, kind, text in records if kind in ("log", "warning")]
        return sorted(self.problems + logged, key=lambda problem: problem.step)

    def log_notes(self) -> list[str]:
        """Log records that are neither failures nor warnings, nor the startup banner."""
        return ["\n".join(r.lines) for r in log_records(self.log.lines) if r.kind() == "note"]

    def _exceptions(self, step: int) -> None:
        shown = set(evaluate(self.page, EXCEPTIONS_JS))
        self.problems += [Problem(step, "exception", text) for text in sorted(shown - self._shown)]
        self._shown = shown

    def _settle(self, step: int) -> None:
        """The run ends within the timeout and leaves no spinner, progress bar or Stop button behind.

        Play's ticks rerun the sample every 0.8 s: a look that finds a run going again is not a failure.
        """
        left_behind = None
        for _ in range(SETTLE_LOOKS):
            try:
                self.page.wait_for_selector(IDLE, state="attached", timeout=self.idle_timeout_s * 1000)
            except PlaywrightError:
                self.problems.append(Problem(step, "stuck", f"still running after {self.idle_timeout_s:.0f} s"))
                self.page.reload()  # go on from a fresh session: the rest of the run would only see this one
                return
            time.sleep(SETTLE_GAP_S)
            left = evaluate(self.page, LEFT_BEHIND_JS, IDLE)
            if left is not None and not any(left.values()):
                return
            left_behind = left or left_behind
        if left_behind:
            self.problems.append(Problem(step, "stuck", f"the run has ended but these are still shown: {left_behind}"))


Action = Callable[["Fuzzer", random.Random], str]  # says what it did, or "skipped: why"


class Fuzzer:
    """The actions, each drawing all its random choices before it looks at the page."""

    def __init__(self, page: Page, seed: int) -> None:
        self.page = page
        self.rng = random.Random(seed)

    def step(self, index: int) -> Step:
        kind = self.rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
        r = random.Random(self.rng.getrandbits(64))  # this action's own draws: the next kinds never depend on them
        pause = r.uniform(0, MAX_PAUSE_S)
        training, running = evaluate(self.page, BUSY_JS, [STOP_BUTTON, IDLE])
        started = time.perf_counter()
        try:
            detail = ACTIONS[kind](self, r)
        except PlaywrightError as error:
            detail = f"missed: {_last_words(error)}"
        seconds = time.perf_counter() - started
        time.sleep(pause)
        outcome = detail.split(":")[0] if detail.startswith(("skipped:", "missed:")) else "done"
        return Step(index, kind, detail, outcome, training, running, seconds)

    def train(self, r: random.Random) -> str:
        epochs, seed, dataset_at = r.randrange(*TRAIN_EPOCHS, 100), r.randrange(*SEEDS), r.random()
        change_seed, change_dataset = r.random() < 0.5, r.random() < 0.2
        self._fill("Epochs", epochs)
        detail = f"Train {epochs} epochs"
        if change_seed:
            self._fill("Seed", seed)
            detail += f", seed {seed}"
        if change_dataset:
            detail += f", dataset {self._choose('Dataset', dataset_at)}"
        self._click_train()
        return detail

    def stop(self, r: random.Random) -> str:
        epochs, seed, wait = r.randrange(*STOP_EPOCHS, 1000), r.randrange(*SEEDS), r.uniform(0, STOP_AFTER_S)
        stop = self.page.locator(STOP_BUTTON).first
        if stop.count():
            stop.click(**NO_WAIT)
            return "Stop the training on screen"
        self._fill("Epochs", epochs)
        self._fill("Seed", seed)
        self._click_train()
        stop.wait_for(timeout=APPEAR_TIMEOUT_MS)
        time.sleep(wait)
        stop.click(**NO_WAIT)
        return f"Train {epochs} epochs, seed {seed}; Stop {wait:.2f} s after it shows"

    def resample(self, r: random.Random) -> str:
        way = self._to_main_page()
        self.page.locator(RESAMPLE_BUTTON).first.click(**NO_WAIT)
        return f"{way}Resample"

    def key_r(self, r: random.Random) -> str:
        return self._press("r")

    def key_p(self, r: random.Random) -> str:
        return self._press("p")

    def page_link(self, r: random.Random) -> str:
        index = self._page_index(r)
        link = self.page.locator(NAV_LINKS).nth(index)
        name = link.inner_text(timeout=ELEMENT_TIMEOUT_MS).splitlines()[-1]  # the text after the icon's name
        link.click(**NO_WAIT)
        return f"link {name!r}"

    def page_key(self, r: random.Random) -> str:
        return self._press(str(self._page_index(r) + 1))

    def reload(self, r: random.Random) -> str:
        self.page.reload(timeout=60_000)
        return "reload (a new session, from the URL)"

    def axis(self, r: random.Random) -> str:
        axis, at = r.choice(("Horizontal axis", "Vertical axis")), r.random()
        way = self._to_main_page()
        self.page.get_by_role("button", name="View", exact=True).first.click(**NO_WAIT)
        chosen = self._choose(axis, at)
        self.page.keyboard.press("Escape")  # close the pop-over
        return f"{way}{axis}: {chosen}"

    def upload(self, r: random.Random) -> str:
        name, use = r.choice(list(CSV_FILES)), r.random() < 0.7
        chooser = self.page.locator(CSV_INPUT)
        if not chooser.count():
            self.page.locator(NAV_LINKS).nth(DATA_PAGE).click(**NO_WAIT)
            chooser.wait_for(state="attached", timeout=APPEAR_TIMEOUT_MS)
        chooser.set_input_files(files=[{"name": name, "mimeType": "text/csv", "buffer": CSV_FILES[name]}], **NO_WAIT)
        if name in PREVIEW_REFUSES or not use:
            return f"upload {name}"
        button = self.page.locator(USE_CSV_BUTTON)
        button.wait_for(timeout=APPEAR_TIMEOUT_MS)
        button.click(**NO_WAIT)
        return f"upload {name}, Use this CSV and train"

    def preset(self, r: random.Random) -> str:
        following, by_key = r.random() < 0.5, r.random() < 0.5
        if by_key:
            return self._press("ArrowRight" if following else "ArrowLeft")
        return self._click_if_there(f".st-key-preset_{'next' if following else 'prev'} button", "preset button")

    def _to_main_page(self) -> str:
        """Open the main page unless it is on screen, and wait for its Resample button; say how it got there.

        Resample and the axes are the main page's: pressed elsewhere, they would mostly find nothing to press.
        """
        if self.page.locator(RESAMPLE_BUTTON).count():
            return ""
        self.page.locator(NAV_LINKS).first.click(**NO_WAIT)
        self.page.locator(RESAMPLE_BUTTON).first.wait_for(timeout=APPEAR_TIMEOUT_MS)
        return "link 'Train and resample', then "

    def _page_index(self, r: random.Random) -> int:
        return 0 if r.random() < MAIN_PAGE_SHARE else r.randrange(1, 6)

    def _fill(self, label: str, value: int) -> None:
        self.page.get_by_role("spinbutton", name=label, exact=True).fill(str(value), timeout=ELEMENT_TIMEOUT_MS)

    def _choose(self, label: str, at: float) -> str:
        """Open the select box ``label`` and pick the option at fraction ``at`` of its list; return its text."""
        self.page.get_by_role("combobox", name=label, exact=True).click(**NO_WAIT)
        options = self.page.get_by_role("option")
        options.first.wait_for(timeout=ELEMENT_TIMEOUT_MS)
        option = options.nth(int(at * options.count()))
        text = option.inner_text(timeout=ELEMENT_TIMEOUT_MS)
        option.click(**NO_WAIT)
        return text

    def _click_train(self) -> None:
        self.page.get_by_role("button", name="Train", exact=True).click(**NO_WAIT)

    def _click_if_there(self, selector: str, name: str) -> str:
        button = self.page.locator(selector).first
        if not button.count():
            return f"skipped: no {name} on this page"
        button.click(**NO_WAIT)
        return name

    def _press(self, key: str) -> str:
        """Press ``key`` with no field focused, as a presenter would (the app ignores keys typed into a field)."""
        self.page.evaluate("() => document.activeElement && document.activeElement.blur()")
        self.page.keyboard.press(key)
        return f"press {key}"


def _last_words(error: PlaywrightError) -> str:
    """A Playwright error's first line and the last line of its call log, which says what it waited for."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if len(lines) == 1 else f"{lines[0]} ({lines[-1]})"


ACTIONS: dict[str, Action] = {kind: getattr(Fuzzer, kind.replace(" ", "_")) for kind in WEIGHTS}


def run_fuzz(actions: int, seed: int, log: Path, check_every: int = 10, idle_timeout_s: float = 90) -> FuzzRun:
    """``actions`` random actions drawn from ``seed`` against a fresh server whose output goes to ``log``.

    Every action is followed by the quick checks, every ``check_every``-th and the last also by the wait for the
    app to finish its run (at most ``idle_timeout_s``).
    """
    run = FuzzRun(seed)
    started = time.perf_counter()
    with streamlit_server(timeout=120, log=log) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        checker = Checker(page, ServerLog(log), idle_timeout_s)
        page.goto(url)
        page.wait_for_selector(RESAMPLE_BUTTON, timeout=FIRST_PAGE_TIMEOUT_MS)
        checker.check(0, settle=True)
        run.first_page_seconds = time.perf_counter() - started
        fuzzer = Fuzzer(page, seed)
        try:
            for index in range(1, actions + 1):
                run.steps.append(fuzzer.step(index))
                checker.check(index, settle=index % check_every == 0 or index == actions)
        except PlaywrightError as error:  # the browser or the page is gone: report it with the steps so far
            checker.problems.append(Problem(len(run.steps), "driver", str(error)))
        run.problems = checker.finish()
        run.notes = checker.log_notes()
    run.seconds = time.perf_counter() - started
    return run
