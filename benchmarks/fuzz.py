"""Random rapid actions against the real app, many of them: a table of what was done and what went wrong.

    python benchmarks/fuzz.py [--actions 300] [--seed 0] [--check-every 10] [--log PATH]

One headless Chromium session drives one fresh ``streamlit run app.py`` (the driver and its checks
are in tests/support/fuzzing.py; tests/browser/test_fuzz.py runs 60 actions of it). Exits with 1 if any
check failed: an exception on the page, a run that never ended or left a spinner or progress bar behind,
a "Traceback", "Exception" or "Couldn't find fragment" in the server's log, or a driver error. Then it prints
every step, for the seed replays the same actions.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.browser import ROOT
from tests.support.fuzzing import WEIGHTS, FuzzRun, run_fuzz

CHECKS = {  # problem kind: its row in the table
    "exception": "exceptions on the page",
    "stuck": "stuck runs or spinners",
    "log": "log problems (Traceback, Exception, Couldn't find fragment)",
    "driver": "driver errors (the browser or page gone)",
    "warning": "default value + Session State warnings (reported)",
    "browser": "uncaught errors in the browser (reported)",
}


def code_line() -> str:
    """The commit under test, and how many files differ from it: the app may change while others work on it."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    changed = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True)
    return f"code: {head.stdout.strip() or 'unknown'}, {len(changed.stdout.splitlines())} files changed or new"


def print_actions(run: FuzzRun) -> None:
    print(f"| {'action':<9} | {'drawn':>5} | {'done':>5} | {'skipped':>7} | {'missed':>6} | {'in training':>11} "
          f"| {'in a run':>8} | {'median s':>8} |")  # fmt: skip
    print(f"|{'-' * 11}|{'-' * 7}|{'-' * 7}|{'-' * 9}|{'-' * 8}|{'-' * 13}|{'-' * 10}|{'-' * 10}|")
    for kind in [*WEIGHTS, "all"]:
        steps = [step for step in run.steps if kind in (step.kind, "all")]
        outcomes = Counter(step.outcome for step in steps)
        median = statistics.median(step.seconds for step in steps) if steps else 0.0
        print(f"| {kind:<9} | {len(steps):5d} | {outcomes['done']:5d} | {outcomes['skipped']:7d} "
              f"| {outcomes['missed']:6d} | {sum(step.training for step in steps):11d} "
              f"| {sum(step.running for step in steps):8d} | {median:8.2f} |")  # fmt: skip
    print("in training: a training's Stop button was on screen when the action began; in a run: the app was running")


def print_checks(run: FuzzRun) -> None:
    found = Counter(problem.what for problem in run.problems)
    width = max(len(row) for row in CHECKS.values())
    print(f"| {'check':<{width}} | {'count':>5} |")
    print(f"|{'-' * (width + 2)}|{'-' * 7}|")
    for what, row in CHECKS.items():
        print(f"| {row:<{width}} | {found[what]:5d} |")
    print(f"| {'wall time (s)':<{width}} | {run.seconds:5.0f} |")
    print(f"| {'  of which the server start and first page':<{width}} | {run.first_page_seconds:5.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=300, help="how many random actions")
    parser.add_argument("--seed", type=int, default=0, help="draws the actions and their parameters")
    parser.add_argument("--check-every", type=int, default=10, help="wait for the app to finish every N actions")
    parser.add_argument("--log", type=Path, help="the server's output (default: a file in the temp folder)")
    args = parser.parse_args()
    log = args.log or Path(tempfile.gettempdir()) / f"bnn-fuzz-seed{args.seed}.log"
    steps = log.with_suffix(".steps.txt")
    run = run_fuzz(args.actions, args.seed, log, check_every=args.check_every)
    steps.write_text(run.replay() + "\n")
    print(f"Fuzz: seed {args.seed}, {args.actions} actions, one headless Chromium session (1280×900), one server")
    print(f"{code_line()}\nserver log: {log}; every step: {steps}\n")
    print_actions(run)
    print()
    print_checks(run)
    for problem in run.problems:
        print(f"\nafter step {problem.step}, {problem.what}:\n{problem.text}")
    missed = [step for step in run.steps if step.outcome == "missed"]
    if missed:  # not failures (the button was not there in time), but a lost click would show here first
        print("\nMissed actions:", *(f"{step.index:4d} {step.kind:<9} {step.detail}" for step in missed), sep="\n")
    if run.notes:
        print("\nOther server log lines:", *run.notes, sep="\n")
    if run.failures:
        print("\nFAILED. To reproduce:\n" + run.replay())
        sys.exit(1)


if __name__ == "__main__":
    main()
