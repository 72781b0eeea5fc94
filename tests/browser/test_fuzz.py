"""Sixty seeded random rapid actions against the real app in headless Chromium: no exception, no stuck run, a
clean server log (the driver is tests/support/fuzzing.py; benchmarks/fuzz.py runs it longer)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from tests.support.browser import chromium_path
from tests.support.fuzzing import log_records, run_fuzz

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # the inner loop (-m 'not slow') leaves these to CI

if chromium_path() is None and os.environ.get("CI"):
    raise RuntimeError("CI needs Chromium for the browser tests: apt-get install -y chromium")

SEED = 1  # its 60 actions draw every kind at least twice
ACTIONS = 60


@pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (apt-get install -y chromium)")
def test_sixty_random_rapid_actions_leave_no_exception_or_stuck_run(tmp_path: Path) -> None:
    run = run_fuzz(ACTIONS, SEED, tmp_path / "server.log")
    assert not run.failures, run.replay()
    # The driver really drove the app, and fast: a broken selector, or a driver that waited for every run to end,
    # would otherwise pass as "nothing went wrong".
    done = Counter(step.kind for step in run.steps if step.outcome == "done")
    assert sum(done.values()) >= ACTIONS // 2, run.replay()
    assert done["train"] and done["reload"] and done["page link"], run.replay()
    assert any(step.training for step in run.steps), run.replay()  # some action landed in a training


# Lines as a Streamlit 1.67 server prints them.
LOG = """2026-12-02 14:17:23.623 Uvicorn server started on 127.0.0.1:40453

  You can now view your Streamlit app in your browser.

  URL: http://127.0.0.1:40453

2026-12-02 14:21:27.669 Uncaught app execution
Traceback (most recent call last):
  File "/app/app.py", line 49, in <module>
    navigation.run()
ImportError: cannot import name 'refusal' from 'ui.training'
2026-12-02 14:21:28.100 WARNING streamlit.elements.lib.policies: The widget with key "form_seed" was created with \
a default value but also had its value set via the Session State API.
Stack (most recent call last):
  File "/venv/streamlit/runtime/scriptrunner/exec_code.py", line 129, in exec_func_with_error_handling
    result = func()
2026-12-02 14:21:29.000 WARNING streamlit.runtime.scriptrunner.script_runner: Couldn't find fragment with id 1f2e.
2026-12-02 14:21:30.000 INFO something else entirely"""


def test_the_log_check_tells_failures_from_warnings_and_notes() -> None:
    records = log_records([(step, line) for step, line in enumerate(LOG.splitlines())])
    assert [record.kind() for record in records] == [None, "log", "warning", "log", "note"]
    assert records[1].lines[-1].startswith("ImportError")  # the traceback belongs to its record
    assert records[1].step == 6  # the step after which its first line was read
