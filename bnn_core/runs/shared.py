"""Finished runs shared by every replica of the app: one folder of run folders, keyed by a hash of the config.

When several app processes serve one room (``deploy/run.sh``, or machines behind a load balancer with a shared
file system), each has its own :class:`~bnn_core.runs.cache.RunCache` in memory. This store is the tier below
them all, so that a link opened on one replica and then on another trains once.

The folder holds, for each run, ``<key>``: a run folder exactly as :func:`~bnn_core.runs.store.save_run` writes
it (a link swapped in by one atomic rename, so a reader finds the whole run or none) and
:func:`~bnn_core.runs.restore.restore_run` reads back. Beside them:

- ``.locks/<key>.lock``: held (``flock``) by the one process training that config; the others wait on it and
  then load the run. The operating system drops it if its process dies, and a waiter then trains instead.
- ``.progress/<key>.json``: the training's latest progress, which the waiting processes show meanwhile.
- ``.prune.lock``: one pruner at a time.

The store is bounded: after every save, the least recently used runs go (a read touches its entry's link) until
at most ``max_runs`` remain, taking at most ``max_bytes`` together. Only runs on built-in data are kept: a run
on a user's upload never reaches this folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

from filelock import FileLock, Timeout

from ..config import BUILTIN_DATASETS, RunConfig
from ..engine.train import Progress, ProgressCallback
from ..errors import BNNInputError
from ..experiment import TrainedRun
from ..version import __version__
from .restore import restore_run
from .store import delete_run, save_run

ENV = "BNN_SHARED_RUNS"  # the folder every replica shares; unset: no shared tier
MAX_RUNS = 256
MAX_BYTES = 2**30  # a default iris run takes about 1.6 MB (20,000 epochs of history.csv)
WAIT_SECONDS = 0.25  # how often a waiting process reads the training's progress
LOCKS, PROGRESS, PRUNE_LOCK = ".locks", ".progress", ".prune.lock"
_LOG = logging.getLogger(__name__)


def run_key(config: RunConfig) -> str:
    """The entry's name: a hash of every setting and of this package's version (another version may train the
    same settings differently, so it never reads this one's runs)."""
    text = json.dumps({"config": config.to_flat(), "bnn_core": __version__}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class SharedRuns:
    """Finished runs in the folder ``root``, shared by processes and machines: at most ``max_runs`` of them and
    ``max_bytes`` together, the least recently used out first."""

    def __init__(self, root: str | Path, max_runs: int = MAX_RUNS, max_bytes: int = MAX_BYTES) -> None:
        self.root = Path(os.path.abspath(root))
        self.max_runs, self.max_bytes = max_runs, max_bytes
        for folder in (self.root / LOCKS, self.root / PROGRESS):
            folder.mkdir(parents=True, exist_ok=True)

    @classmethod
    def from_env(cls) -> SharedRuns | None:
        """The store in ``$BNN_SHARED_RUNS``, or None when it is unset (one process: the memory tier alone)."""
        folder = os.environ.get(ENV)
        return cls(folder) if folder else None

    def __len__(self) -> int:
        return len(self._entries())

    def get(self, config: RunConfig) -> TrainedRun | None:
        """The run for ``config`` read from the folder (a new object), or None."""
        entry = self.root / run_key(config)
        if not entry.is_symlink():
            return None
        with contextlib.suppress(OSError):  # the mark of use; pruned meanwhile is a miss below
            os.utime(entry, follow_symlinks=False)
        try:
            run = restore_run(entry)
        except (BNNInputError, OSError):
            return None  # pruned while read, or damaged: a miss, and the next save replaces it
        return run if run.config == config else None

    def put(self, run: TrainedRun) -> None:
        """Keep a finished run on built-in data (anything else is ignored), then prune to the bounds.

        A store that cannot be written (full, read-only) costs only the sharing: the run is still the caller's,
        and the failure goes to the log.
        """
        if run.fit.cancelled or run.data.dataset.name not in BUILTIN_DATASETS:
            return
        try:
            save_run(run, self.root / run_key(run.config))
            self.prune()
        except (BNNInputError, OSError) as err:
            _LOG.warning("The shared run store %s kept no copy of a run: %s", self.root, err)

    def get_or_train(
        self,
        config: RunConfig,
        train: Callable[[ProgressCallback], TrainedRun],
        on_progress: ProgressCallback | None = None,
    ) -> TrainedRun:
        """The run for ``config``: in the folder, trained meanwhile by another process, or trained here.

        One process trains a config at a time; the others wait for its lock, hearing its progress through
        ``on_progress`` every :data:`WAIT_SECONDS`, and then read its run. An exception ``on_progress`` raises
        ends the wait or the training.
        """
        run = self.get(config)
        if run is not None:
            return run
        key = run_key(config)
        with self._claim(key, on_progress):
            run = self.get(config)  # trained by the process that held the lock before
            if run is not None:
                return run
            run = train(self._reporting(key, on_progress))
            self.put(run)
            return run

    def prune(self) -> None:
        """Drop the least recently used runs until the bounds hold (one pruner at a time, across processes)."""
        with FileLock(self.root / PRUNE_LOCK, fallback_to_soft=False):
            used = []
            for entry in self._entries():
                with contextlib.suppress(OSError):  # deleted meanwhile
                    used.append((entry.lstat().st_mtime, entry, _folder_bytes(entry)))
            used.sort()  # oldest use first
            count, total = len(used), sum(size for _, _, size in used)
            for _, entry, size in used:
                if count <= self.max_runs and total <= self.max_bytes:
                    break
                delete_run(entry)
                # A process waiting on this lock file may then train the run a second time: harmless (the save is
                # atomic), and it keeps the folder from collecting one lock file for every config ever trained.
                (self.root / LOCKS / f"{entry.name}.lock").unlink(missing_ok=True)
                count, total = count - 1, total - size

    def _entries(self) -> list[Path]:
        return [entry for entry in self.root.iterdir() if entry.is_symlink()]

    @contextlib.contextmanager
    def _claim(self, key: str, on_progress: ProgressCallback | None) -> Iterator[None]:
        """Hold the training lock of ``key``, relaying the holder's progress while waiting for it.

        filelock's native lock (``flock``), never a soft one: the system drops it with a killed process.
        """
        lock = FileLock(self.root / LOCKS / f"{key}.lock", fallback_to_soft=False)
        progress = self.root / PROGRESS / f"{key}.json"
        while True:
            try:
                lock.acquire(timeout=WAIT_SECONDS)
                break
            except Timeout:
                heard = _read_progress(progress)
                if heard is not None and on_progress is not None:
                    on_progress(heard)
        try:
            yield
        finally:
            progress.unlink(missing_ok=True)
            lock.release()

    def _reporting(self, key: str, on_progress: ProgressCallback | None) -> ProgressCallback:
        """``on_progress``, also writing the progress for the waiting processes every :data:`WAIT_SECONDS`."""
        path, last = self.root / PROGRESS / f"{key}.json", [0.0]

        def report(progress: Progress) -> bool | None:
            if time.monotonic() - last[0] >= WAIT_SECONDS:
                last[0] = time.monotonic()
                _write_progress(path, progress)
            return on_progress(progress) if on_progress is not None else None

        return report


def _folder_bytes(entry: Path) -> int:
    """The bytes of the files of the run ``entry`` links to."""
    return sum(file.stat().st_size for file in entry.resolve().iterdir() if file.is_file())


def _write_progress(path: Path, progress: Progress) -> None:
    """Replace the progress file in one rename, so a reader never sees half of it; a failed write only costs the
    waiting processes one report."""
    scratch = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    try:
        scratch.write_text(json.dumps(asdict(progress)), encoding="utf-8")
        os.replace(scratch, path)
    except OSError:
        scratch.unlink(missing_ok=True)


def _read_progress(path: Path) -> Progress | None:
    try:
        fields = json.loads(path.read_text(encoding="utf-8"))
        return Progress(**{**fields, "layer_sigma": tuple(fields.get("layer_sigma", ()))})
    except (OSError, ValueError, TypeError):
        return None
