"""Run directories on disk: safetensors + JSON + CSV, written atomically, loaded with checks.

A run directory holds:

- ``model.safetensors``: the state_dict under torchbnn's key names, loadable into plain torchbnn layers;
- ``config.json``: every setting, names, the scaler and package versions;
- ``metrics.json``, ``predictions.csv`` and ``history.csv``.

Nothing is pickled. A run's files are written to a new version folder under
``.bnn_runs/<name>/`` and the run's path is a symbolic link to it, replaced with one
atomic rename: an interrupted save never leaves a half-written or missing run.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import math
import os
import platform
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from .config import RunConfig
from .data import Scaler, model_inputs
from .errors import BNNInputError
from .experiment import TrainedRun
from .export import predictions_frame
from .network import build_bnn
from .version import __version__

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
    dataset, scaler = run.data.dataset, run.data.scaler
    return {
        "format_version": FORMAT_VERSION,
        **run.config.to_flat(),
        "dataset": dataset.name,
        "feature_names": list(dataset.feature_names),
        "class_names": list(dataset.class_names),
        "scaler": scaler.to_dict() if scaler is not None else None,
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


def write_run_files(run: TrainedRun, folder: Path) -> None:
    """Every run file, flushed to disk, so the link never points at a half-written run."""
    state = {key: value.detach().contiguous() for key, value in run.model.state_dict().items()}
    save_file(state, str(folder / MODEL_FILE))
    _write_json(folder / CONFIG_FILE, run_config_json(run))
    _write_json(folder / METRICS_FILE, run.metrics)
    predictions_frame(run.data, run.evaluation.uncertainty).to_csv(folder / PREDICTIONS_FILE, index=False)
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

    The operating system drops the lock when its process dies, so a killed save never blocks the next.
    A failed first save deletes the lock file (and the store) while holding it, so a save that was
    waiting checks that the file it locked is still the one in place, and otherwise starts again.
    """
    lock = store / LOCK_FILE
    while True:
        store.mkdir(parents=True, exist_ok=True)
        with open(lock, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                if lock.exists() and os.path.samestat(os.fstat(handle.fileno()), lock.stat()):
                    yield
                    return
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


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


def check_run_target(out: Path) -> None:
    """Refuse an output path that is a file, the current folder, a folder holding anything but a run, or a
    link this package did not make."""
    out = Path(os.path.abspath(out))
    if out.is_symlink():
        if out.resolve().parent != (out.parent / STORE / out.name).resolve():
            raise BNNInputError(f"{out} is a link to {os.readlink(out)}, not a run saved here; choose a new name.")
        return
    if out.exists() and not out.is_dir():
        raise BNNInputError(f"{out} is a file; give a folder name for the run.")
    here = Path.cwd().resolve()
    if out.resolve() == here or out.resolve() in here.parents:
        raise BNNInputError(f"{out} is the current folder or holds it; give a new folder name, e.g. runs/iris.")
    if out.is_dir():
        names = {entry.name for entry in out.iterdir()}
        if names and not (CONFIG_FILE in names and names <= set(RUN_FILES)):
            raise BNNInputError(f"{out} already holds files that are not a run; choose a new or empty folder.")


def _write_json(path: Path, content: dict[str, Any]) -> None:
    path.write_text(json.dumps(content, indent=2, allow_nan=False) + "\n", encoding="utf-8")


@dataclass(frozen=True, eq=False)
class LoadedRun:
    """A run read back from disk, checked against its own config."""

    path: Path
    config: RunConfig
    model: nn.Sequential
    scaler: Scaler | None
    dataset: str
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    metrics: dict[str, Any]
    folder: Path  # the version folder every file was read from
    label_column: str | None = None  # the CSV column that held the classes, if the data was a CSV
    ignored_columns: tuple[str, ...] = ()  # text columns of that CSV that were not features

    def inputs(self, raw: np.ndarray) -> torch.Tensor:
        """Raw feature rows (M, D) → the model's float32 inputs (M, D), scaled as in training."""
        return model_inputs(raw, self.scaler, len(self.feature_names))


def load_run(run_dir: str | Path) -> LoadedRun:
    """Read a run directory, refusing a missing, wrong or corrupt file with a clear message.

    Every file comes from one version. If a save replaces the run while it is read (the
    version being read is then deleted), the read starts again on the new version.

    Raises:
        BNNInputError: a file is missing or unreadable, the config is invalid, or the
            weights' keys, shapes or values do not match the config.
    """
    path = Path(run_dir)
    if path.is_file():
        raise BNNInputError(f"{path} is a file; give the run's folder.")
    for _ in range(_READ_ATTEMPTS):
        folder = path.resolve() if path.is_dir() else _recovered(path)
        if folder is None:
            raise BNNInputError(f"{path} is not a run folder (no such directory).")
        try:
            return _load_version(path, folder)
        except BNNInputError:
            if path.resolve() == folder or not path.is_dir():
                raise  # the run did not change meanwhile: the problem is in its files
    raise BNNInputError(f"{path} was replaced by a new save during each of {_READ_ATTEMPTS} reads; try again.")


_READ_ATTEMPTS = 3


def _recovered(path: Path) -> Path | None:
    """A run saved as a plain folder whose first versioned save was killed before its link was made, or None."""
    store = Path(os.path.abspath(path)).parent / STORE / path.name
    moved = sorted(store.glob(f"{UNVERSIONED}*"), key=lambda folder: folder.stat().st_mtime) if store.is_dir() else []
    return moved[-1] if moved else None


def _load_version(path: Path, folder: Path) -> LoadedRun:
    """Read and check the run files in ``folder`` (naming them under ``path`` in messages)."""
    for name in (CONFIG_FILE, MODEL_FILE):
        if not (folder / name).is_file():
            raise BNNInputError(f"{path} is not a complete run: {name} is missing.")
    raw = _read_json(folder / CONFIG_FILE, path / CONFIG_FILE)
    found = raw.get("format_version")
    if type(found) is not int or found != FORMAT_VERSION:
        raise BNNInputError(f"{path / CONFIG_FILE} has format_version {found!r}; this version reads {FORMAT_VERSION}.")
    try:
        config = RunConfig.from_flat(raw)
        feature_names = _names(raw, "feature_names", minimum=1)
        class_names = _names(raw, "class_names", minimum=2)
        scaler = _scaler(raw.get("scaler"), len(feature_names))
        if (scaler is not None) != (config.data.scale == "standard"):
            raise BNNInputError(f"scale is {config.data.scale!r} but the scaler is {'set' if scaler else 'null'}.")
    except (BNNInputError, TypeError) as err:
        raise BNNInputError(f"{path / CONFIG_FILE} is invalid: {err}") from None
    model = build_bnn(len(feature_names), len(class_names), config.model, seed=0)
    model.load_state_dict(_checked_state(folder / MODEL_FILE, path / MODEL_FILE, model))
    metrics_file = folder / METRICS_FILE
    metrics = _read_json(metrics_file, path / METRICS_FILE) if metrics_file.is_file() else {}
    label_column = raw.get("label_column")
    ignored = raw.get("ignored_columns") or []
    if not (label_column is None or isinstance(label_column, str)) or not all(isinstance(c, str) for c in ignored):
        raise BNNInputError(f"{path / CONFIG_FILE} is invalid: label_column and ignored_columns must be names.")
    return LoadedRun(
        path, config, model, scaler, config.data.dataset, feature_names, class_names, metrics, folder,
        label_column, tuple(ignored),
    )  # fmt: skip


def _read_json(file: Path, shown: Path) -> dict[str, Any]:
    try:
        content = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BNNInputError(f"{shown} could not be read as JSON ({err}).") from None
    if not isinstance(content, dict):
        raise BNNInputError(f"{shown} should hold a JSON object, not {type(content).__name__}.")
    return content


def _names(raw: dict[str, Any], key: str, minimum: int) -> tuple[str, ...]:
    names = raw.get(key)
    if not isinstance(names, list) or len(names) < minimum or not all(isinstance(n, str) for n in names):
        raise BNNInputError(f"{key} must be a list of at least {minimum} names.")
    if len(set(names)) != len(names):
        raise BNNInputError(f"{key} must not repeat a name.")
    return tuple(names)


def _scaler(values: Any, n_features: int) -> Scaler | None:
    if values is None:
        return None
    if not isinstance(values, dict) or set(values) != {"mean", "std"}:
        raise BNNInputError('scaler must be null or {"mean": [...], "std": [...]}.')
    try:
        scaler = Scaler.from_dict(values)
    except (TypeError, ValueError, OverflowError):
        raise BNNInputError("scaler means and stds must be numbers.") from None
    if scaler.mean.shape != (n_features,) or scaler.std.shape != (n_features,):
        raise BNNInputError(f"scaler needs {n_features} means and stds, one per feature.")
    if not (all(map(math.isfinite, scaler.mean)) and all(s > 0 and math.isfinite(s) for s in scaler.std)):
        raise BNNInputError("scaler means must be finite and its stds finite and above 0.")
    return scaler


def _checked_state(file: Path, shown: Path, model: nn.Module) -> dict[str, torch.Tensor]:
    """Read the weights and check them against the network the config describes."""
    try:
        state = load_file(str(file))
    except (SafetensorError, OSError) as err:
        raise BNNInputError(f"{shown} is corrupt or not a safetensors file ({err}).") from None
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise BNNInputError(
            f"{shown} does not match config.json: missing {missing or 'nothing'}, unexpected {unexpected or 'nothing'}."
        )
    for key, wanted in expected.items():  # in layer order, so the first mismatch named is the first layer's
        tensor = state[key]
        if tensor.shape != wanted.shape:
            raise BNNInputError(
                f"{shown}: {key} has shape {tuple(tensor.shape)} but config.json implies {tuple(wanted.shape)}."
            )
        # Checked after the float32 cast: a float64 value beyond float32's range becomes inf there.
        if not tensor.is_floating_point() or not torch.isfinite(tensor.to(torch.float32)).all():
            raise BNNInputError(f"{shown}: {key} holds non-finite or non-float values.")
    return {key: tensor.to(torch.float32) for key, tensor in state.items()}
