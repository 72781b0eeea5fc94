"""Run directories on disk: safetensors + JSON + CSV, written atomically (read back by :mod:`bnn_core.runs.loading`).

A run directory holds:

- ``model.safetensors``: the state_dict under torchbnn's key names, loadable into plain torchbnn layers (and a
  regression run's one noise log σ, in the network's units, under ``noise.log_sigma``);
- ``config.json``: every setting, names, the scaler and package versions;
- ``metrics.json``, ``predictions.csv`` and ``history.csv``.

Nothing is pickled. A run's files are written to a new version folder under
``.bnn_runs/<name>/`` and the run's path is a symbolic link to it, replaced with one
atomic rename: an interrupted save never leaves a half-written or missing run. Runs named by
a user (the app's Save) go through :func:`run_path`, so no name leaves its folder.

Saving a run is POSIX-only: the atomic swap of a symbolic link by rename, and the fsync of a folder, have no
equivalent here on Windows. The lock is filelock's, so this module itself imports on any system, and what only
reads a run or writes a run's files into a folder (:func:`write_run_files`: the zip export, the gallery) does
not depend on POSIX through it.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import platform
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock
from safetensors.torch import save

from ..errors import BNNInputError
from ..experiment import TrainedRun
from ..limits import MAX_RUN_NAME
from ..version import __version__
from .export import predictions_frame, regression_frame

FORMAT_VERSION = 1
MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.csv"
HISTORY_FILE = "history.csv"
RUN_FILES = (MODEL_FILE, CONFIG_FILE, METRICS_FILE, PREDICTIONS_FILE, HISTORY_FILE)
STORE = ".bnn_runs"  # beside a run's link: <name>/<version>/ folders holding its files
LOCK_FILE = ".lock"
UNVERSIONED = "unversioned-"  # a run saved as a plain folder by an earlier version, moved into the store


def package_versions() -> dict[str, str]:
    """Versions that produced a run, recorded in ``config.json``."""
    versions = {"python": platform.python_version()}
    versions["bnn_core"] = __version__
    for package in ("torch", "torchbnn", "numpy", "scikit-learn", "safetensors"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "unknown"
    return versions


def run_config_json(run: TrainedRun) -> dict[str, Any]:
    """The content of ``config.json`` for ``run``."""
    dataset, scaler, target_scaler = run.data.dataset, run.data.scaler, run.data.target_scaler
    return {
        "format_version": FORMAT_VERSION,
        **run.config.to_flat(),
        "dataset": dataset.name,
        "feature_names": list(dataset.feature_names),
        "class_names": list(dataset.class_names),
        "scaler": scaler.to_dict() if scaler is not None else None,
        "target_scaler": target_scaler.to_dict() if target_scaler is not None else None,
        "label_column": dataset.label_column,
        "ignored_columns": list(dataset.ignored_columns),
        "versions": package_versions(),
    }


def save_run(run: TrainedRun, out_dir: str | Path) -> Path:
    """Write ``run`` to ``out_dir`` atomically and return its path.

    ``out_dir`` may be new, empty, or an earlier run (which is replaced). The files go to a
    new version folder, ``.bnn_runs/<name>/<version>/`` beside ``out_dir``, and ``out_dir``
    is a symbolic link to it. Replacing a run is one atomic rename of that link: a save
    killed at any moment leaves either the old run or the new one. The next save removes
    what a killed save left behind. A save that fails leaves the earlier run as it was, and
    removes what it made (missing parent folders included).

    Raises:
        BNNInputError: ``out_dir`` is a file, the current folder, a folder that holds something
            other than a run, or a link this package did not make; or it is not writable.
    """
    out = Path(os.path.abspath(out_dir))
    check_run_target(out)
    store = out.parent / STORE / out.name
    created = [folder for folder in (out.parent, *out.parent.parents) if not folder.exists()]
    version = store / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
    try:
        with _locked(store):
            try:
                _remove_leftovers(out, store)
                version.mkdir()
                write_run_files(run, version)
                _point(out, version)
                _remove_leftovers(out, store)  # the version just replaced
            except BaseException:
                _undo(out, store, version)
                raise
    except BaseException as err:
        for folder in (store.parent, *created):  # innermost first; only empty ones go
            with contextlib.suppress(OSError):
                folder.rmdir()
        if isinstance(err, OSError):
            raise BNNInputError(f"Cannot write the run to {out}: {err.strerror or err}.") from None
        raise
    return out


def delete_run(out: str | Path) -> None:
    """Remove the run :func:`save_run` wrote to ``out``: its link first (so no reader finds a half-deleted run),
    then its versions and its store, all under the store's lock. A missing run is no error.

    A save to the same name meanwhile waits for the lock, then makes the store again (see :func:`_locked`).
    """
    out = Path(os.path.abspath(out))
    store = out.parent / STORE / out.name
    if not store.is_dir():  # nothing saved, or only a dangling link left
        if out.is_symlink():
            out.unlink(missing_ok=True)
        return
    with _locked(store):
        if out.is_symlink():
            out.unlink()
        for entry in store.iterdir():
            if entry.name != LOCK_FILE:
                shutil.rmtree(entry, ignore_errors=True)
        (store / LOCK_FILE).unlink(missing_ok=True)  # safe: a waiting save checks it locked the file still there
        with contextlib.suppress(OSError):
            store.rmdir()


def _target(out: Path) -> Path | None:
    """The version folder ``out`` links to, or None if it is not a link."""
    return out.resolve() if out.is_symlink() else None


def _undo(out: Path, store: Path, version: Path) -> None:
    """After a failed save, with the lock held: drop the new version unless the link already points at it; if
    nothing is saved under this name, drop the name's store too."""
    if _target(out) != version.resolve():
        shutil.rmtree(version, ignore_errors=True)
    if not out.exists():
        (store / LOCK_FILE).unlink(missing_ok=True)  # safe: a waiting save checks it locked the file still there
        with contextlib.suppress(OSError):
            store.rmdir()


NOISE_KEY = "noise.log_sigma"  # model.safetensors: a regression run's one noise log σ


def model_state(run: TrainedRun) -> dict[str, torch.Tensor]:
    """What ``model.safetensors`` holds: the network's state_dict, and the noise log σ unless σ is per input."""
    state = {key: value.detach().contiguous() for key, value in run.model.state_dict().items()}
    if run.task == "regression" and run.likelihood.noise != "heteroscedastic":
        state[NOISE_KEY] = run.likelihood.log_sigma.detach().reshape(1).double().contiguous()  # float64, as trained
    return state


def write_run_files(run: TrainedRun, folder: Path) -> None:
    """Every run file, flushed to disk, so the link never points at a half-written run.

    The weights are written as the other files are, with the process's umask: safetensors' own ``save_file``
    makes its file through a private temporary one, mode 0600, so a run folder shared on a server (or copied
    for a colleague) had every file readable but its model.
    """
    (folder / MODEL_FILE).write_bytes(save(model_state(run)))
    _write_json(folder / CONFIG_FILE, run_config_json(run))
    _write_json(folder / METRICS_FILE, run.metrics)
    if run.task == "regression":
        predictions = regression_frame(run.data, run.evaluation.bands)
    else:
        predictions = predictions_frame(run.data, run.evaluation.uncertainty)
    predictions.to_csv(folder / PREDICTIONS_FILE, index=False)
    run.fit.history.frame().to_csv(folder / HISTORY_FILE, index=False)
    for name in RUN_FILES:
        _fsync(folder / name)
    _fsync(folder)


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _point(out: Path, version: Path) -> None:
    """Make ``out`` a link to ``version`` with one atomic rename (after clearing an empty or pre-link folder)."""
    aside = None
    if out.is_dir() and not out.is_symlink():
        if any(out.iterdir()):
            # A run saved before runs were versioned becomes a version itself, then the link replaces it. Until
            # the link is in place, load_run finds it in the store (see _recovered) and no save deletes it.
            aside = version.parent / f"{UNVERSIONED}{uuid.uuid4().hex[:8]}"
            out.rename(aside)
        else:
            out.rmdir()
    link = out.parent / f".{out.name}.link-{uuid.uuid4().hex[:8]}"
    try:
        link.symlink_to(os.path.relpath(version, out.parent))
        os.replace(link, out)
    except BaseException:
        link.unlink(missing_ok=True)
        if aside is not None:
            aside.rename(out)
        raise
    _fsync(out.parent)


@contextlib.contextmanager
def _locked(store: Path) -> Iterator[None]:
    """Hold an exclusive lock on a run's version store, so two saves to one name never clean up each other.

    The lock is filelock's native one (``flock`` on POSIX): the operating system drops it when its process dies,
    so a killed save never blocks the next. A failed first save deletes the lock file and the store while
    holding it. A save that was waiting on the deleted file does not take it: filelock checks that the file it
    locked still has a name and otherwise tries again, on the file then in place; and if the store itself is
    gone, this function makes it again. No soft-lock fallback: a lock that is only a marker file would not be
    dropped with a killed process, and deleting it would unlock it.
    """
    lock = FileLock(store / LOCK_FILE, fallback_to_soft=False)
    while True:
        store.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):  # the store was deleted while this save waited
            lock.acquire()
            break
    try:
        yield
    finally:
        lock.release()


def _remove_leftovers(out: Path, store: Path) -> None:
    """Delete every version but the one ``out`` points to, and link files a killed save left (lock held).

    While ``out`` is no link, a run moved aside by a killed first versioned save is its only copy: it stays.
    """
    current = _target(out)
    for entry in store.iterdir():
        keep = entry.name == LOCK_FILE or (current is None and entry.name.startswith(UNVERSIONED))
        if not keep and entry.resolve() != current:
            shutil.rmtree(entry, ignore_errors=True)
    for link in out.parent.glob(f".{glob.escape(out.name)}.link-*"):
        link.unlink(missing_ok=True)


_NAME_CHARACTERS = re.compile(r"[A-Za-z0-9._-]+")


def run_path(folder: str | Path, name: str) -> Path:
    """Where a run named ``name`` lives in ``folder``: the name checked, so no name leaves the folder.

    Spaces become dashes; letters, digits, ``.``, ``_`` and ``-`` are allowed, up to 64 of them, not
    starting with a dot or a dash.

    Raises:
        BNNInputError: the name is empty, too long, or holds another character.
    """
    cleaned = "-".join(name.split())
    if not cleaned:
        raise BNNInputError("Give the run a name, e.g. iris-textbook.")
    if len(cleaned) > MAX_RUN_NAME or not _NAME_CHARACTERS.fullmatch(cleaned) or cleaned[0] in ".-":
        raise BNNInputError(
            f"A run's name may hold letters, digits, '.', '_' and '-' (up to {MAX_RUN_NAME}, not starting with '.' or "
            f"'-'), got {name!r}."
        )
    path = Path(folder) / cleaned
    if path.parent != Path(folder):  # cannot happen with the characters above; the rule it keeps is this one
        raise BNNInputError(f"{name!r} would leave the runs folder.")
    return path


def saved_runs(folder: str | Path) -> list[Path]:
    """The runs in ``folder`` (saved by the app or the command line), by name."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(
        entry for entry in folder.iterdir() if not entry.name.startswith(".") and (entry / CONFIG_FILE).is_file()
    )


def check_run_target(out: Path) -> None:
    """Refuse an output path that is a file or inside one, the current folder, a folder holding anything but a
    run, a link this package did not make, or a place this process cannot write (checked by writing there), so
    that ``train --out`` refuses before it trains."""
    out = Path(os.path.abspath(out))
    _check_target_shape(out)
    # The run's versions go to the first place, its link to the second.
    for place in (out.parent / STORE / out.name, out.parent):
        check_writable(place, out)


def check_writable(place: Path, out: Path) -> None:
    """Refuse ``out`` if the folder where ``place`` is (or would be made) cannot be written: a file is made and
    removed in the nearest folder that exists on the way to it. The folder's permissions alone would not say it:
    a read-only disk, or /proc, refuse even root.

    Raises:
        BNNInputError: that folder cannot be written.
    """
    nearest = next(folder for folder in (place, *place.parents) if folder.is_dir())
    try:
        descriptor, probe = tempfile.mkstemp(dir=nearest, prefix=".bnn-write-check-")
    except OSError as err:
        raise BNNInputError(f"Cannot write to {out}: {nearest} is not writable ({err.strerror or err}).") from None
    os.close(descriptor)
    os.unlink(probe)


def _check_target_shape(out: Path) -> None:
    """The refusals of :func:`check_run_target` that depend on what ``out`` is, not on the permissions."""
    if out.is_symlink():
        if out.resolve().parent != (out.parent / STORE / out.name).resolve():
            raise BNNInputError(f"{out} is a link to {os.readlink(out)}, not a run saved here; choose a new name.")
        return
    if out.exists() and not out.is_dir():
        raise BNNInputError(f"{out} is a file; give a folder name for the run.")
    nearest = next(folder for folder in out.parents if folder.exists())  # the root always exists
    if not nearest.is_dir():
        raise BNNInputError(f"{out} is inside {nearest}, which is a file; give a folder name for the run.")
    here = Path.cwd().resolve()
    if out.resolve() == here or out.resolve() in here.parents:
        raise BNNInputError(f"{out} is the current folder or holds it; give a new folder name, e.g. runs/iris.")
    if out.is_dir():
        names = {entry.name for entry in out.iterdir()}
        if names and not (CONFIG_FILE in names and names <= set(RUN_FILES)):
            raise BNNInputError(f"{out} already holds files that are not a run; choose a new or empty folder.")


def _write_json(path: Path, content: dict[str, Any]) -> None:
    path.write_text(json.dumps(content, indent=2, allow_nan=False) + "\n", encoding="utf-8")
