"""Finished runs shared by every user of one server: bounded, least recently used first out, trained once.

A room that opens the same link at once asks for the same run many times over. The first
caller trains it; every other caller for that config waits, watching the first one's
progress, and then receives the finished run. Each caller gets its own copy, so nothing a
session does to its run reaches another. If the training caller fails or is stopped, one
of the waiting callers trains instead. Keep only runs on built-in data here, never a
user's upload.

With a :class:`~bnn_core.runs.shared.SharedRuns` below it, this cache is one process's tier
of a store every replica of the app shares: a run missing here is read from the shared
folder, or trained by one process of them all, and every run trained here goes there too.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..config import RunConfig
from ..engine.train import Progress, ProgressCallback
from ..experiment import TrainedRun
from .shared import SharedRuns

MAX_RUNS = 32
MAX_BYTES = 256 * 2**20
WAIT_SECONDS = 0.25  # how often a waiting caller hears the training caller's progress


def run_bytes(run: TrainedRun) -> int:
    """Roughly the memory a run holds: its weights, data and per-point arrays."""
    arrays = [run.data.dataset.x, run.data.dataset.y, run.data.is_test, run.data.x, run.data.y]
    arrays += list(run.model.state_dict().values())
    arrays += [getattr(run.fit.history, name) for name in ("ce", "kl", "total", "train_accuracy")]
    per_point = run.evaluation.bands if run.task == "regression" else run.evaluation.uncertainty
    arrays += [getattr(per_point, name) for name in vars(per_point)] + [run.evaluation.first_draw]
    return sum(a.nbytes if isinstance(a, np.ndarray) else a.element_size() * a.nelement() for a in arrays)


@dataclass
class _Training:
    """A run being trained by one caller, watched by the others."""

    done: threading.Event = field(default_factory=threading.Event)
    progress: Progress | None = None
    run: TrainedRun | None = None  # set when training succeeded


class RunCache:
    """Finished runs by config, at most ``max_runs`` of them and ``max_bytes`` together; above ``shared``, the
    store of every replica, if given."""

    def __init__(self, max_runs: int = MAX_RUNS, max_bytes: int = MAX_BYTES, shared: SharedRuns | None = None) -> None:
        self.max_runs, self.max_bytes, self.shared = max_runs, max_bytes, shared
        self._runs: OrderedDict[RunConfig, tuple[TrainedRun, int]] = OrderedDict()
        self._training: dict[RunConfig, _Training] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._runs)

    @property
    def bytes(self) -> int:
        return sum(size for _, size in self._runs.values())

    def clear(self) -> int:
        """Forget every finished run kept here (a training under way is left to finish); return how many.

        The shared store below, if any, keeps its copies: a later caller reads them from there.
        """
        with self._lock:
            dropped = len(self._runs)
            self._runs.clear()
        return dropped

    def get(self, config: RunConfig) -> TrainedRun | None:
        """A copy of the finished run for ``config``, kept here or in the shared store, or None."""
        with self._lock:
            kept = self._runs.get(config)
            if kept is not None:
                self._runs.move_to_end(config)
        if kept is not None:
            return copy.deepcopy(kept[0])
        run = self.shared.get(config) if self.shared is not None else None
        if run is None:
            return None
        with self._lock:  # the next caller here skips the disk
            self._store(run)
        return copy.deepcopy(run)

    def put(self, run: TrainedRun) -> None:
        """Keep a finished run (a copy), dropping the least recently used beyond the bounds; and in the shared
        store, if there is one."""
        kept = copy.deepcopy(run)
        with self._lock:
            self._store(kept)
        if self.shared is not None:
            self.shared.put(kept)

    def get_or_train(
        self,
        config: RunConfig,
        train: Callable[[ProgressCallback], TrainedRun],
        on_progress: ProgressCallback | None = None,
    ) -> TrainedRun:
        """A copy of the run for ``config``: kept, trained meanwhile by another caller, read from the shared store
        (perhaps after waiting for another process to train it), or trained here by ``train``.

        ``on_progress`` hears the training's progress every :data:`WAIT_SECONDS` or more often, whoever
        trains; an exception it raises (a Streamlit rerun, say) ends the wait or the training.
        """
        while True:
            with self._lock:
                kept = self._runs.get(config)
                if kept is not None:
                    self._runs.move_to_end(config)
                    return copy.deepcopy(kept[0])
                training = self._training.get(config)
                leading = training is None
                if leading:
                    training = self._training[config] = _Training()
            if leading:
                return copy.deepcopy(self._train(config, training, train, on_progress))
            result = self._wait(training, on_progress)
            if result is not None:
                return copy.deepcopy(result)  # otherwise the training caller failed: try again, perhaps as leader

    def _train(
        self,
        config: RunConfig,
        training: _Training,
        train: Callable[[ProgressCallback], TrainedRun],
        on_progress: ProgressCallback | None,
    ) -> TrainedRun:
        def report(progress: Progress) -> bool | None:
            training.progress = progress
            return on_progress(progress) if on_progress is not None else None

        try:
            run = train(report) if self.shared is None else self.shared.get_or_train(config, train, report)
            if not run.fit.cancelled:
                training.run = run
                with self._lock:
                    self._store(run)
            return run
        finally:
            with self._lock:
                del self._training[config]
            training.done.set()

    @staticmethod
    def _wait(training: _Training, on_progress: ProgressCallback | None) -> TrainedRun | None:
        while not training.done.wait(WAIT_SECONDS):
            if on_progress is not None and training.progress is not None:
                on_progress(training.progress)
        return training.run

    def _store(self, run: TrainedRun) -> None:
        """Keep ``run`` as most recently used, then drop from the other end to the bounds (lock held)."""
        size = run_bytes(run)
        if size > self.max_bytes:
            return
        self._runs[run.config] = (run, size)
        self._runs.move_to_end(run.config)
        while len(self._runs) > self.max_runs or self.bytes > self.max_bytes:
            self._runs.popitem(last=False)
