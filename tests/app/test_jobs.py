"""A page's background job ends with its result or one sentence, whatever its work does (ui/server/jobs.py)."""

from __future__ import annotations

import time

import pytest

from bnn_core import BNNInputError
from ui.server import jobs


def _finished(job: jobs.Job) -> jobs.Job:
    deadline = time.monotonic() + 30
    while not job.finished and time.monotonic() < deadline:
        time.sleep(0.01)
    assert job.finished
    return job


def _fail(error: Exception):
    def work() -> None:
        raise error

    return work


def test_a_job_ends_with_its_result() -> None:
    job = _finished_start(lambda: 6 * 7)
    assert job.result == 42 and job.error is None


def test_a_refused_input_ends_the_job_with_its_own_sentence() -> None:
    job = _finished_start(_fail(BNNInputError("Seeds must be whole numbers from 0 to 9, not 'x'.")))
    assert job.result is None and job.error == "Seeds must be whole numbers from 0 to 9, not 'x'."


@pytest.mark.parametrize("error", [ZeroDivisionError("division by zero"), RuntimeError("out of memory")])
def test_any_other_failure_ends_the_job_with_a_sentence_not_silence(error: Exception) -> None:
    job = _finished_start(_fail(error))
    assert job.result is None
    expected = f"The test job stopped on an unexpected {type(error).__name__}; the server's log has the details."
    assert job.error == expected


def _finished_start(work) -> jobs.Job:
    job: jobs.Job = jobs.Job()
    jobs.start(job, "test job", work)
    return _finished(job)
