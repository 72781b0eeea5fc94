"""Slow work a page starts and then watches: a background thread that reports its progress, takes a Cancel and
ends with a result or one sentence of error. The thread never touches Streamlit; the page reads the job."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from streamlit.logger import get_logger

from bnn_core import BNNInputError

_LOG = get_logger(__name__)  # the server's log
P = TypeVar("P")  # what the work reports as it goes
R = TypeVar("R")  # what it returns


@dataclass(eq=False, kw_only=True)
class Job(Generic[P, R]):
    """One background computation: its latest progress, its result or error, and whether it has ended."""

    progress: P | None = None
    result: R | None = None
    error: str | None = None  # one sentence: the work refused its input, or failed
    finished: bool = False
    cancel: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.perf_counter)

    def seconds(self) -> float:
        """Wall time since the job was created."""
        return time.perf_counter() - self.started


def start(job: Job[P, R], name: str, work: Callable[[], R]) -> None:
    """Run ``work()`` in a daemon thread called ``name``; its result, or one sentence of error, lands in ``job``,
    and ``job.finished`` is set last.

    A BNNInputError's sentence is shown as it is. Any other failure is a bug: its traceback goes to the server's
    log and the page says what stopped, so the user is never left with a job that ended with nothing.
    """

    def run() -> None:
        try:
            job.result = work()
        except BNNInputError as err:
            job.error = str(err)
        except Exception as err:  # a thread's exception would otherwise vanish: the page must hear of it
            _LOG.exception("The background %s failed", name)
            job.error = f"The {name} stopped on an unexpected {type(err).__name__}; the server's log has the details."
        finally:
            job.finished = True

    threading.Thread(target=run, name=name, daemon=True).start()
