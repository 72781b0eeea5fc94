"""Sweeps of the prior σ₀ × the KL weight (× KL reduction × seeds): every cell an ordinary run of :func:`train_run`.

A sweep folder holds ``sweep.json`` (the settings shared by every cell and the data's fingerprint, written
atomically) and ``results.csv``, one row per finished cell, appended and flushed as each cell ends: a killed
sweep loses at most the cells that were running, and a rerun into the same folder skips every cell already there
(failed cells are tried again). A row cut short by a kill is dropped; any other damage is refused in one
sentence that says how to recover. With ``keep_runs`` each cell's run folder is saved under ``runs/``.

A grid's size is checked before anything else is done: at most :data:`~bnn_core.limits.MAX_GRID_VALUES` values
an axis, and :data:`~bnn_core.limits.MAX_GRID_CELLS` cells unless the caller raises it (``--max-cells``).

Cells run in one of three places, all yielding the same rows for the same seeds (only ``train_seconds`` differs):
in this process (:func:`inline_cells`), in a local process pool (:func:`pool_cells`), or as Ray tasks on a local
runtime or an existing cluster (:func:`ray_cells`).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import itertools
import json
import math
import multiprocessing
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import RunConfig
from .data.datasets import Dataset
from .engine.threads import one_thread_per_call
from .errors import BNNInputError
from .experiment import train_run
from .limits import MAX_GRID_CELLS, MAX_GRID_VALUES
from .methods.alternatives import bnn_predictor
from .methods.compare import evaluate_method, shifted_points
from .runs.store import save_run
from .settings import SETTINGS
from .text import quoted

RESULTS_FILE = "results.csv"
SPEC_FILE = "sweep.json"
RUNS_FOLDER = "runs"
GRID = ("prior_sigma", "kl_weight", "kl_reduction", "seed")  # what varies from cell to cell
METRICS = {  # column: what it holds (classification metrics on the held-out rows, as in metrics.json)
    "test_accuracy": "accuracy of the posterior mean on the held-out rows",
    "nll": "negative log-likelihood (held-out rows)",
    "ece": "expected calibration error (held-out rows)",
    "brier": "Brier score (held-out rows)",
    "mi_far": "mean epistemic uncertainty (MI) on points one data span beyond the training box",
    "mi_near": "mean epistemic uncertainty (MI) on the training rows",
    "mi_gap": "MI far from the data − MI on it (nats): stable across seeds, unlike their ratio",
    "auroc_mi": "AUROC of MI telling shifted points from held-out rows",
    "train_accuracy": "accuracy of the posterior mean on the training rows",
    "test_rmse": "regression: RMSE of the posterior mean on the held-out rows",
    "coverage_90": "regression: share of held-out targets inside the 90% intervals",
}
# node: the host that ran the cell (and, for a Ray task, the Ray node's id after a slash: one host may run several)
RESULT_COLUMNS = ("cell", *GRID, "config", *METRICS, "train_seconds", "engine", "node", "message", "status")

CellRunner = Callable[[Dataset, Sequence[RunConfig], "Path | None"], Iterator[dict[str, Any]]]


def parse_grid(text: str, name: str) -> tuple[float, ...]:
    """A grid axis from ``LOW:HIGH:COUNT`` (COUNT values evenly spaced on a log scale, both ends included), a
    comma list, or one number; every value checked against the setting's bounds.

    Raises:
        BNNInputError: the text is neither form, the count is not 1 to 1000, or a value is out of bounds.
    """
    setting, flag = SETTINGS[name], SETTINGS[name].flag
    form = f"{flag} takes LOW:HIGH:COUNT (a log range, e.g. 0.01:10:7) or a list such as 0.01,0.1,1"
    parts = text.split(":")
    if len(parts) not in (1, 3):
        raise BNNInputError(f"{form}; got {quoted(text)}.")
    if len(parts) == 1 and text.count(",") >= MAX_GRID_VALUES:
        raise BNNInputError(f"{form}, of at most {MAX_GRID_VALUES:,} values; got {text.count(',') + 1:,}.")
    try:
        numbers = [float(part) for part in (parts[:2] if len(parts) == 3 else text.split(","))]
        count = int(parts[2]) if len(parts) == 3 else len(numbers)
    except ValueError:
        raise BNNInputError(f"{form}; got {quoted(text)}.") from None
    if len(parts) == 3:
        low, high = numbers
        if not 1 <= count <= MAX_GRID_VALUES or not low > 0 or not high >= low:
            raise BNNInputError(
                f"{form}; in {quoted(text)} LOW must be above 0, HIGH at least LOW and COUNT from 1 to "
                f"{MAX_GRID_VALUES}."
            )
        values = np.geomspace(low, high, count) if count > 1 else np.array([low])
        numbers = [float(f"{value:.6g}") for value in values]  # round: 0.1 stays 0.1, not 0.09999999999999999
    points = numbers
    if not all(math.isfinite(point) for point in points):
        raise BNNInputError(f"{form}; got {quoted(text)}.")
    return tuple(dict.fromkeys(setting.check(point) for point in points))


def parse_seeds(text: str) -> tuple[int, ...]:
    """Seeds from ``FIRST-LAST`` (both included), a comma list, or one seed; at most
    :data:`~bnn_core.limits.MAX_GRID_VALUES`, counted before the list is made (``0-4294967295`` would fill the
    memory).

    Raises:
        BNNInputError: not that form, too many seeds, or a seed out of bounds.
    """
    form = "--seeds takes a range such as 0-4, a list such as 0,3,7, or one seed"
    parts = text.split("-") if "-" in text.strip("-") else text.split(",")
    ranged = "-" in text.strip("-")
    try:
        numbers = [int(part) for part in parts] if len(parts) <= MAX_GRID_VALUES else []
        if ranged and (len(numbers) != 2 or numbers[1] < numbers[0]):
            raise ValueError
    except ValueError:
        raise BNNInputError(f"{form}; got {quoted(text)}.") from None
    count = numbers[1] - numbers[0] + 1 if ranged else len(parts)
    if count > MAX_GRID_VALUES:
        raise BNNInputError(f"{form}, of at most {MAX_GRID_VALUES:,} seeds; {quoted(text)} holds {count:,}.")
    seeds = range(numbers[0], numbers[1] + 1) if ranged else numbers
    return tuple(dict.fromkeys(SETTINGS["seed"].check(seed) for seed in seeds))


def parse_reductions(text: str) -> tuple[str, ...]:
    """KL reductions from a comma list such as ``mean,sum``."""
    return tuple(dict.fromkeys(SETTINGS["kl_reduction"].check(part.strip()) for part in text.split(",")))


@dataclass(frozen=True)
class SweepSpec:
    """A grid of runs: ``base`` with every combination of the four axes (the seeds innermost), of at most
    ``max_cells`` cells.

    Raises:
        BNNInputError: the grid has more than ``max_cells`` cells (counted before any is made).
    """

    base: RunConfig
    prior_sigmas: tuple[float, ...]
    kl_weights: tuple[float, ...]
    reductions: tuple[str, ...] = ("sum",)
    seeds: tuple[int, ...] = (0,)
    max_cells: int = MAX_GRID_CELLS  # a bigger grid is refused; the command line raises it with --max-cells

    def __post_init__(self) -> None:
        if self.n_cells > self.max_cells:
            axes = (
                f"{len(self.prior_sigmas):,} σ₀ × {len(self.kl_weights):,} KL weights × {len(self.reductions)} "
                f"reduction(s) × {len(self.seeds):,} seed(s)"
            )
            raise BNNInputError(
                f"This grid has {self.n_cells:,} cells ({axes}), more than the {self.max_cells:,} a sweep may have; "
                f"use fewer values, or raise the limit with --max-cells {self.n_cells} if you mean it."
            )

    @property
    def n_cells(self) -> int:
        """How many cells the grid has, counted without making them."""
        return len(self.reductions) * len(self.prior_sigmas) * len(self.kl_weights) * len(self.seeds)

    def cells(self) -> list[RunConfig]:
        """Every cell's settings, reduction outermost, then σ₀, then the KL weight, then the seed."""
        return [
            replace(
                self.base,
                model=replace(self.base.model, prior_sigma=sigma),
                train=replace(self.base.train, kl_weight=weight, kl_reduction=reduction),
                seed=seed,
            )
            for reduction in self.reductions
            for sigma in self.prior_sigmas
            for weight in self.kl_weights
            for seed in self.seeds
        ]


def cell_id(config: RunConfig) -> str:
    """A short name for a cell's full settings: the same settings, the same id, in every process."""
    flat = json.dumps(config.to_flat(), sort_keys=True)
    return hashlib.sha1(flat.encode()).hexdigest()[:12]


def cell_name(config: RunConfig) -> str:
    """A readable folder name for a kept run, e.g. ``sigma0.1-kl0.01-mean-seed0``."""
    t = config.train
    return f"sigma{config.model.prior_sigma:g}-kl{t.kl_weight:g}-{t.kl_reduction}-seed{config.seed}"


def run_cell(dataset: Dataset, config: RunConfig, keep: Path | None = None) -> dict[str, Any]:
    """Train one cell and measure it; a cell that fails returns its message instead of raising.

    The far-from-data figures use :func:`~bnn_core.methods.compare.shifted_points` with the cell's seed: the same
    points for every cell of one seed. Runs on one thread per call, wherever it runs.
    """
    one_thread_per_call()
    row: dict[str, Any] = {"cell": cell_id(config), **_grid_values(config), "config": json.dumps(config.to_flat()),
                           "node": socket.gethostname()}  # fmt: skip
    try:
        run = train_run(dataset, config)
        if run.task == "regression":
            return {**row, **_regression_row(run.metrics), "status": "ok"}
        shifted = run.data.inputs(shifted_points(run.data, seed=config.seed))
        measured = evaluate_method(bnn_predictor(run), run.data, shifted)
        if keep is not None:
            save_run(run, keep / cell_name(config))
    except Exception as err:  # a cell's failure is one row of the table; the sweep goes on
        text = str(err) if isinstance(err, BNNInputError) else f"{type(err).__name__}: {err}"
        return {**row, "message": text, "status": "failed"}
    metrics = run.metrics
    return {
        **row,
        "test_accuracy": measured.accuracy,
        "nll": measured.nll,
        "ece": measured.ece,
        "brier": measured.brier,
        "mi_far": measured.mi_far,
        "mi_near": measured.mi_near,
        "mi_gap": measured.mi_gap,
        "auroc_mi": measured.auroc_mi,
        "train_accuracy": metrics["train_accuracy"],
        "train_seconds": metrics["train_seconds"],
        "engine": metrics["engine"],
        "message": metrics["engine_note"] or "",
        "status": "ok",
    }


def _regression_row(metrics: dict[str, Any]) -> dict[str, Any]:
    """A regression cell's columns: the held-out NLL, RMSE and 90% coverage (the classification ones stay empty)."""
    return {
        "nll": metrics["nll"],
        "test_rmse": metrics["test_rmse"],
        "coverage_90": metrics["coverage_90"],
        "train_seconds": metrics["train_seconds"],
        "engine": metrics["engine"],
        "message": metrics["engine_note"] or "",
    }


def _grid_values(config: RunConfig) -> dict[str, Any]:
    t = config.train
    return {"prior_sigma": config.model.prior_sigma, "kl_weight": t.kl_weight, "kl_reduction": t.kl_reduction,
            "seed": config.seed}  # fmt: skip


def inline_cells(dataset: Dataset, configs: Sequence[RunConfig], keep: Path | None = None) -> Iterator[dict]:
    """Run the cells one after another in this process."""
    for config in configs:
        yield run_cell(dataset, config, keep)


def pool_cells(workers: int) -> CellRunner:
    """Run the cells in ``workers`` fresh processes (spawned: no copy of this process's threads), results in the
    order they finish; one worker runs them in this process."""
    if workers == 1:
        return inline_cells

    def cells(dataset: Dataset, configs: Sequence[RunConfig], keep: Path | None = None) -> Iterator[dict]:
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=one_thread_per_call)
        try:
            with _workers_ignore_ctrl_c():
                pending = {pool.submit(run_cell, dataset, config, keep) for config in configs}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (future.result() for future in done)
        finally:  # stopped early: the cells not started are dropped, the running ones finish
            pool.shutdown(wait=True, cancel_futures=True)

    return cells


@contextlib.contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Start the pool's processes with Ctrl-C ignored (a new Python keeps an ignored SIGINT ignored), so that it
    reaches the main process only, which stops the pool; off the main thread there is nothing to change."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


_CONNECTING = threading.Lock()  # one ray.init per process, however many threads start sweeps at once


def ray_cells(address: str, cpus: int | None = None, stay_connected: bool = False) -> CellRunner:
    """Run the cells as Ray tasks, one CPU each: ``address`` ``local`` starts a local runtime with ``cpus`` CPUs
    (all of them when None); any other address joins that cluster (``ray.init(address=...)``, e.g. ``auto`` or
    ``ray://head:10001``). This package travels to the workers with the job (``runtime_env`` ``py_modules``).

    A sweep that joined leaves at its end, unless ``stay_connected`` (a server whose sessions start sweeps one
    after another, or several at once: leaving would end the others' sweeps).
    """

    if address not in ("local", "auto"):
        _check_reachable(address)

    def cells(dataset: Dataset, configs: Sequence[RunConfig], keep: Path | None = None) -> Iterator[dict]:
        try:
            import ray  # only a Ray sweep needs it
        except ImportError:
            raise BNNInputError("--ray needs Ray: pip install ray==2.60.0 (or pip install 'bnn_core[ray]').") from None

        with _CONNECTING:
            started = not ray.is_initialized()
            if started:
                _start_ray(ray, address, cpus)
        try:
            task = ray.remote(num_cpus=1)(_ray_cell)
            shared = ray.put(dataset)  # sent to the object store once, not once per cell
            pending = [task.remote(shared, config, keep) for config in configs]
            try:
                while pending:
                    done, pending = ray.wait(pending, num_returns=1)
                    yield from ray.get(done)
            finally:
                for ref in pending:
                    ray.cancel(ref)
        finally:
            if started and not stay_connected:
                ray.shutdown()

    return cells


def _ray_cell(dataset: Dataset, config: RunConfig, keep: Path | None) -> dict[str, Any]:
    """:func:`run_cell` as a Ray task, its ``node`` naming the Ray node too (a host may run several)."""
    import ray

    row = run_cell(dataset, config, keep)
    return {**row, "node": f"{row['node']}/{ray.get_runtime_context().get_node_id()[:8]}"}


def _check_reachable(address: str, seconds: float = 5.0) -> None:
    """Refuse a cluster address that nothing answers at within ``seconds``: Ray itself would retry for minutes.

    Raises:
        BNNInputError: not HOST:PORT (optionally after ``ray://``), or nothing listens there.
    """
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise BNNInputError(
            f"--ray takes local, auto or a cluster's HOST:PORT (e.g. ray://head:10001), not {address!r}."
        )
    try:
        socket.create_connection((host, int(port)), timeout=seconds).close()
    except OSError as err:
        raise BNNInputError(
            f"Cannot reach the Ray cluster at {address!r} ({err.strerror or err}); start one with ray start --head, "
            "or check the address."
        ) from None


def _start_ray(ray: Any, address: str, cpus: int | None) -> None:
    package = Path(__file__).parent
    runtime = {"py_modules": [str(package)], "env_vars": {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}}
    options: dict[str, Any] = {"runtime_env": runtime, "log_to_driver": False, "logging_level": "ERROR"}
    try:
        if address == "local":  # a new runtime of our own, even beside a cluster on this host (Ray would join it)
            ray.init(address="local", num_cpus=cpus or os.cpu_count(), include_dashboard=False, **options)
        else:
            ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as err:
        raise BNNInputError(f"Cannot reach the Ray cluster at {address!r}: {str(err).splitlines()[0]}") from None


def check_folder(out: Path, dataset: Dataset, base: RunConfig) -> None:
    """Start the sweep folder ``out``, or check that the sweep already in it shares ``base`` and the data.

    A folder of a sweep whose ``sweep.json`` was deleted (because it was damaged, say) resumes with these
    settings: its cells are matched by their full settings, so rows of other settings are not counted as done.

    Raises:
        BNNInputError: ``out`` is a file, holds a sweep of other settings or other data, holds other files, or its
            ``sweep.json`` is damaged.
    """
    if out.exists() and not out.is_dir():
        raise BNNInputError(f"{out} is a file; give a folder for the sweep.")
    spec = {"dataset": dataset.name, "data": data_fingerprint(dataset), "base": _shared(base)}
    path = out / SPEC_FILE
    if path.is_file():
        earlier = _read_spec(path)
        if earlier != spec:
            changed = _differences(earlier, spec)
            raise BNNInputError(
                f"{out} holds a sweep with other settings ({changed}); rerun with those to resume it, or choose a "
                "new --out."
            )
        return
    if out.is_dir() and not {entry.name for entry in out.iterdir()} <= {RESULTS_FILE, RUNS_FOLDER, *_temporary(out)}:
        raise BNNInputError(f"{out} already holds files that are not a sweep; choose a new or empty folder.")
    try:
        out.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, json.dumps(spec, indent=2) + "\n")
    except OSError as err:
        raise BNNInputError(f"Cannot write the sweep to {out}: {err.strerror or err}.") from None


def _read_spec(path: Path) -> dict[str, Any]:
    """The sweep's ``sweep.json``; a damaged one is refused with how to recover."""
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        spec, reason = None, str(getattr(err, "msg", None) or getattr(err, "strerror", None) or err)
    else:
        reason = "it holds no settings"
    if not isinstance(spec, dict) or not isinstance(spec.get("base"), dict):
        raise BNNInputError(
            f"{path} is damaged ({reason}); delete it and rerun with the same settings to resume the cells in "
            f"{RESULTS_FILE}, or choose a new --out."
        )
    return spec


_TEMPORARY = ".tmp-"  # a file being written atomically: <name>.tmp-<random>, renamed over <name> when complete


def _temporary(out: Path) -> set[str]:
    """The names of files a killed atomic write left in ``out``."""
    return {entry.name for entry in out.glob(f"*{_TEMPORARY}*")}


def _write_atomically(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all: a temporary file flushed to disk, then renamed over it."""
    for stale in path.parent.glob(f"{path.name}{_TEMPORARY}*"):  # left by a killed write
        stale.unlink(missing_ok=True)
    temporary = path.with_name(f"{path.name}{_TEMPORARY}{uuid.uuid4().hex[:8]}")
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    descriptor = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _shared(base: RunConfig) -> dict[str, Any]:
    """The settings every cell shares (the grid's four are left out)."""
    return {key: value for key, value in base.to_flat().items() if key not in GRID}


def _differences(earlier: dict[str, Any], now: dict[str, Any]) -> str:
    if earlier.get("dataset") != now["dataset"] or earlier.get("data") != now["data"]:
        return f"data {earlier.get('dataset')!r} there, {now['dataset']!r} now"
    old, new = earlier.get("base", {}), now["base"]
    keys = [key for key in new if old.get(key) != new[key]]
    return "; ".join(f"{key} {old.get(key)!r} there, {new[key]!r} now" for key in keys[:3])


def data_fingerprint(dataset: Dataset) -> str:
    """A hash of the rows and labels, so that a sweep never resumes on other data under the same name."""
    digest = hashlib.sha1(np.ascontiguousarray(dataset.x).tobytes())
    digest.update(np.ascontiguousarray(dataset.y).tobytes())
    return digest.hexdigest()[:16]


def read_results(out: Path) -> pd.DataFrame:
    """The rows of ``out/results.csv``, the last row of each cell (a failed cell retried may have two).

    A last row cut short by a kill is left out (the next :func:`append_row` removes it from the file).

    Raises:
        BNNInputError: the file is damaged elsewhere, in a sentence that says how to recover.
    """
    path = out / RESULTS_FILE
    content = path.read_bytes() if path.is_file() else b""
    whole = _whole_rows(content, path)
    if not whole:
        return pd.DataFrame(columns=list(RESULT_COLUMNS))
    table = pd.read_csv(io.BytesIO(content[:whole]), keep_default_na=False, na_values=[""])
    table = table[table["status"].isin(["ok", "failed"])]
    if "mi_gap" not in table and {"mi_far", "mi_near"} <= set(table):  # a sweep from before the gap replaced the ratio
        table = table.assign(mi_gap=table["mi_far"] - table["mi_near"])
    return table.drop_duplicates("cell", keep="last").reset_index(drop=True)


_HEADER = ",".join(RESULT_COLUMNS)


def _whole_rows(content: bytes, path: Path) -> int:
    """How many bytes at the start of ``results.csv`` (``content``) hold its header and whole rows.

    A whole row ends in a line end and has every cell, the last its status. Each row is written as one line, so
    a kill can only cut the last line: a bad row there is cut short and left out; anywhere else it is damage.

    Raises:
        BNNInputError: the header is not a sweep's, or a row before the last line is damaged.
    """
    recover = f"move {path} aside to start the sweep again, or choose a new --out"
    chunks = content.split(b"\n")
    lines = [chunk + b"\n" for chunk in chunks[:-1]] + ([chunks[-1]] if chunks[-1] else [])
    ends = list(itertools.accumulate(map(len, lines), initial=0))
    # A character cut in two by a kill can only be on the last line, which is then left out.
    reader = csv.reader(line.decode("utf-8", errors="replace") for line in lines)
    whole, first_line, width = None, 0, len(RESULT_COLUMNS)  # bytes of the header and whole rows so far; the line
    for record in reader:  # a record starts on; the header's columns
        end = ends[reader.line_num]
        ended = content[end - 1 : end] == b"\n"
        cut = first_line == len(lines) - 1  # the last line alone: where a kill leaves a row cut short
        if whole is None:
            if _is_sweep_header(record) and ended:
                whole, width = end, len(record)
            elif cut and _HEADER.startswith(content.decode("utf-8", errors="replace")):
                return 0  # the first write, cut short
            else:
                raise BNNInputError(f"{path} does not start with a sweep's header; {recover}.")
        elif ended and len(record) == width and record[-1] in ("ok", "failed"):
            whole = end
        elif cut:
            return whole
        else:
            raise BNNInputError(
                f"{path} is damaged in its row starting at line {first_line + 1}; delete that row and rerun to "
                f"resume (its cell runs again), or {recover}."
            )
        first_line = reader.line_num
    return whole or 0


def _is_sweep_header(record: list[str]) -> bool:
    """True for the header of a sweep's results.csv, this version's or an earlier one's (a sweep begun before a
    column existed keeps its own columns): the cell first, the grid and the config, the message and status last."""
    return (
        bool(record)
        and record[0] == "cell"
        and record[-2:] == ["message", "status"]
        and {*GRID, "config"} <= set(record)
        and len(set(record)) == len(record)
    )


def drop_cut_row(out: Path) -> None:
    """Remove a last row of ``out/results.csv`` that a kill cut short, so that a resumed sweep appends after whole
    rows only.

    Raises:
        BNNInputError: the file is damaged elsewhere (see :func:`read_results`).
    """
    path = out / RESULTS_FILE
    if path.is_file():
        content = path.read_bytes()
        whole = _whole_rows(content, path)
        if whole < len(content):
            os.truncate(path, whole)


def append_row(out: Path, row: dict[str, Any]) -> None:
    """Add one finished cell to ``out/results.csv`` (whole rows only: see :func:`drop_cut_row`), on disk before
    returning. A message is kept to one line, so that every row is one line.
    """
    path = out / RESULTS_FILE
    new = not path.is_file() or path.stat().st_size == 0
    row = {**row, "message": " ".join(str(row.get("message") or "").split())}
    columns = list(RESULT_COLUMNS) if new else _header(path)  # a sweep begun before a column existed keeps its own
    line = pd.DataFrame([row], columns=columns).to_csv(index=False, header=new, lineterminator="\n")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def _header(path: Path) -> list[str]:
    """The column names on the first line of ``path``."""
    with open(path, encoding="utf-8") as handle:
        return pd.read_csv(handle, nrows=0).columns.tolist()


@dataclass(frozen=True)
class SweepProgress:
    """After each finished cell: how many of this run's cells are done, of how many; and that cell's row."""

    done: int
    total: int
    row: dict[str, Any]


def run_sweep(
    dataset: Dataset,
    spec: SweepSpec,
    out: Path,
    runner: CellRunner = inline_cells,
    keep_runs: bool = False,
    on_cell: Callable[[SweepProgress], bool | None] | None = None,
) -> tuple[pd.DataFrame, int]:
    """Run every cell of ``spec`` not already finished in ``out``; return the sweep's table and how many cells
    were already there.

    ``on_cell`` hears of each finished cell as it is saved; returning False stops the sweep after it (the cells
    still running are dropped). The table holds the grid's cells only, in :meth:`SweepSpec.cells` order.
    """
    check_folder(out, dataset, spec.base)
    drop_cut_row(out)
    configs = spec.cells()
    finished = finished_cells(out, spec)
    todo = [config for config in configs if cell_id(config) not in finished]
    keep = out / RUNS_FOLDER if keep_runs else None
    cells = runner(dataset, todo, keep)
    try:
        for done, row in enumerate(cells, start=1):
            append_row(out, row)
            if on_cell is not None and on_cell(SweepProgress(done, len(todo), row)) is False:
                break
    finally:
        close = getattr(cells, "close", None)
        if close is not None:
            close()
    return sweep_table(out, configs), len(configs) - len(todo)


def finished_cells(out: Path, spec: SweepSpec) -> set[str]:
    """The ids of the cells of ``spec`` that ``out`` already holds as finished ("ok")."""
    ids = {cell_id(config) for config in spec.cells()}
    return set(read_results(out).query("status == 'ok'")["cell"]) & ids


def sweep_table(out: Path, configs: Sequence[RunConfig]) -> pd.DataFrame:
    """The rows of ``out`` that belong to ``configs``, in their order."""
    order = {cell_id(config): place for place, config in enumerate(configs)}
    table = read_results(out)
    table = table[table["cell"].isin(order)]
    return table.sort_values("cell", key=lambda ids: ids.map(order)).reset_index(drop=True)


SPREAD = ("mean", "min", "max", "std", "count")


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Over seeds, per (reduction, σ₀, KL weight): each metric's mean, min, max, std and count of ok cells,
    as columns ``<metric>_<statistic>``; ``failed`` counts the cells that failed."""
    keys = ["kl_reduction", "prior_sigma", "kl_weight"]
    ok = table[table["status"] == "ok"]
    measured = [metric for metric in METRICS if metric in ok]  # a sweep written before a metric existed lacks it
    grouped = ok.groupby(keys)[measured].agg(list(SPREAD))
    grouped.columns = [f"{metric}_{statistic}" for metric, statistic in grouped.columns]
    failed = table.assign(failed=table["status"] == "failed").groupby(keys)["failed"].sum()
    return grouped.join(failed, how="outer").reset_index()


def cell_label(row: dict[str, Any]) -> str:
    """A cell in words, e.g. ``σ₀ 0.1, KL weight 0.01 (mean), seed 0``."""
    return f"σ₀ {row['prior_sigma']:g}, KL weight {row['kl_weight']:g} ({row['kl_reduction']}), seed {row['seed']}"
