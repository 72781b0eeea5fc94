"""The Sweep page's sources: the shipped two_moons sweep, and a session's own small sweep run in the background
with progress and Cancel (its folder is the session's, in the system's temp folder)."""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from bnn_core import BNNInputError, RunConfig
from bnn_core.data.datasets import Dataset
from bnn_core.sweep import SweepProgress, SweepSpec, read_results, run_sweep

from .. import jobs

SHIPPED = Path(__file__).resolve().parents[2] / "references" / "sweeps" / "two_moons"
MAX_PAGE_CELLS = 50  # a bigger sweep belongs on the command line (or on Ray)
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

    @property
    def done(self) -> int:
        """Cells finished so far."""
        return 0 if self.progress is None else self.progress.done


def start(dataset: Dataset, spec: SweepSpec) -> None:
    """Run ``spec`` on ``dataset`` in a background thread, one cell at a time, into a new temp folder.

    Raises:
        BNNInputError: the grid has more than :data:`MAX_PAGE_CELLS` cells.
    """
    total = spec.n_cells
    if total > MAX_PAGE_CELLS:
        raise BNNInputError(
            f"The page runs sweeps of up to {MAX_PAGE_CELLS} cells, and this grid has {total}; use fewer values or "
            "seeds, or run it with python -m bnn_core sweep."
        )
    job = _Job(spec=spec, total=total)
    folder = Path(tempfile.mkdtemp(prefix="bnn-sweep-"))

    def report(progress: SweepProgress) -> bool:
        job.progress = progress
        return not job.cancel.is_set()

    st.session_state[JOB] = job
    jobs.start(job, "sweep", lambda: run_sweep(dataset, spec, folder, on_cell=report)[0])


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
    head.markdown(f"**Your sweep**: {job.done} of {job.total} cells · {job.seconds():.0f} s")
    if cancel.button("Cancel", key="sweep_cancel", help="Stop after the cell that is training; nothing is kept."):
        job.cancel.set()
        st.session_state.pop(JOB, None)
        st.rerun(scope="app")
    st.progress(job.done / job.total)


def running() -> bool:
    return JOB in st.session_state
