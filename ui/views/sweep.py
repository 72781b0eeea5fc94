"""The Sweep page's sources: the shipped two_moons sweep, and a session's own sweep run in the background with
progress and Cancel (its folder is the session's, in the system's temp folder).

A session's sweep runs in this process, one cell at a time, up to :data:`MAX_PAGE_CELLS` cells; with
``$BNN_RAY_ADDRESS`` set, it runs on that Ray cluster instead, up to :data:`MAX_CLUSTER_CELLS`, the replica only
waiting for the cells' rows."""

from __future__ import annotations

import functools
import importlib.util
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import streamlit as st

from bnn_core import BNNInputError, RunConfig
from bnn_core.data.datasets import Dataset
from bnn_core.sweep import SweepProgress, SweepSpec, inline_cells, ray_cells, read_results, run_sweep

from ..server import jobs

SHIPPED = Path(__file__).resolve().parents[2] / "references" / "sweeps" / "two_moons"
MAX_PAGE_CELLS = 50  # in this process; a bigger sweep belongs on the command line (or on Ray)
MAX_CLUSTER_CELLS = 1000  # on a Ray cluster: the cells run there, the page keeps only their rows
RAY_ADDRESS = "BNN_RAY_ADDRESS"  # the cluster the page's sweeps run on (ray.init's address); unset: this process
JOB = "bnn_sweep_job"  # this session's running sweep
OWN = "bnn_sweep_own"  # this session's finished sweep: (table, base config)
ERROR = "bnn_sweep_error"  # why this session's sweep stopped, shown once
WATCH_SECONDS = 1.0
SOURCE_WIDGET = "sweep_source"
SOURCES = ("Shipped: two_moons", "Your sweep")


@functools.cache
def shipped_table() -> pd.DataFrame:
    """The shipped sweep's rows (read once per server; never changed)."""
    return read_results(SHIPPED)


@dataclass(eq=False, kw_only=True)
class _Job(jobs.Job[SweepProgress, pd.DataFrame]):
    """A sweep in the background; ``progress`` is the last cell's report."""

    spec: SweepSpec
    total: int
    nodes: set[str] = field(default_factory=set)  # where the finished cells ran

    @property
    def done(self) -> int:
        """Cells finished so far."""
        return 0 if self.progress is None else self.progress.done


def cluster() -> str | None:
    """The Ray cluster's address the page's sweeps run on, or None: they run in this process."""
    return os.environ.get(RAY_ADDRESS) or None


def max_cells() -> int:
    """The most cells a sweep started on this page may have."""
    return MAX_CLUSTER_CELLS if cluster() else MAX_PAGE_CELLS


def start(dataset: Dataset, spec: SweepSpec) -> None:
    """Run ``spec`` on ``dataset`` in a background thread, into a new temp folder: one cell at a time here, or on
    the Ray cluster when there is one (the thread then only waits for the rows).

    Raises:
        BNNInputError: the grid has more than :func:`max_cells` cells; or the cluster cannot be used (Ray is not
            installed, or nothing answers at its address).
    """
    total, address = spec.n_cells, cluster()
    if total > max_cells():
        where = " on the Ray cluster" if address else ""
        raise BNNInputError(
            f"The page runs sweeps of up to {max_cells():,} cells{where}, and this grid has {total:,}; use fewer "
            "values or seeds, or run it with python -m bnn_core sweep."
        )
    if address and importlib.util.find_spec("ray") is None:
        raise BNNInputError(f"{RAY_ADDRESS} is set, but Ray is not installed here: pip install ray==2.60.0.")
    runner = ray_cells(address, stay_connected=True) if address else inline_cells  # refuses an address at once
    job = _Job(spec=spec, total=total)
    folder = Path(tempfile.mkdtemp(prefix="bnn-sweep-"))

    def report(progress: SweepProgress) -> bool:
        job.progress = progress
        job.nodes.add(str(progress.row.get("node")))
        return not job.cancel.is_set()

    st.session_state[JOB] = job
    jobs.start(job, "sweep", lambda: run_sweep(dataset, spec, folder, runner, on_cell=report)[0])


def own_sweep() -> tuple[pd.DataFrame, RunConfig] | None:
    """This session's finished sweep and its shared settings, if it ran one."""
    return st.session_state.get(OWN)


def watch() -> None:
    """While this session's sweep runs: its progress and Cancel."""
    job: _Job | None = st.session_state.get(JOB)
    if job is not None:
        _watch(job)


@st.fragment(run_every=WATCH_SECONDS)
def _watch(job: _Job) -> None:
    if job.finished:
        st.session_state.pop(JOB, None)
        if job.error is not None:
            st.session_state[ERROR] = f"Your sweep stopped: {job.error}"
        elif job.result is not None and not job.cancel.is_set():
            st.session_state[OWN] = (job.result, job.spec.base)
            st.session_state[SOURCE_WIDGET] = SOURCES[1]  # show it once it is ready
        st.rerun(scope="app")
    head, cancel = st.columns([5, 1], vertical_alignment="center")
    where = f" on the Ray cluster ({len(job.nodes)} node{'s' * (len(job.nodes) != 1)} so far)" if cluster() else ""
    head.markdown(f"**Your sweep**{where}: {job.done} of {job.total} cells · {job.seconds():.0f} s")
    queued = "the next cell ends; the cells still queued on the cluster are cancelled"
    ends = queued if cluster() else "the cell that is training"
    if cancel.button("Cancel", key="sweep_cancel", help=f"Stop after {ends}; nothing is kept."):
        job.cancel.set()
        st.session_state.pop(JOB, None)
        st.rerun(scope="app")
    st.progress(job.done / job.total)


def running() -> bool:
    return JOB in st.session_state
