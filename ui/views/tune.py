"""The Tune button: tune's search (σ₀ × the KL weight, on held-out training rows) in the background with progress
and Cancel, its heatmap, and then the chosen run trained on the page, its settings in the form and the URL."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from bnn_core import BNNInputError, RunConfig
from bnn_core.sweep import SweepProgress
from bnn_core.tune import FACTORS, PRIOR_SIGMAS, TuneResult, search_set, tune

from .. import state
from ..charts import show
from ..controls import fill_form
from ..figures.tune import search_heatmap
from ..server import jobs

JOB = "bnn_tune_job"  # this session's running search
READY = "bnn_tune_ready"  # a search just finished, to be put in the form before the form is drawn
LAST = "bnn_tune_last"  # this session's last finished search: (TuneResult, the dataset's name)
ERROR = "bnn_tune_error"  # why the last search stopped, shown once
WATCH_SECONDS = 1.0
CELLS = len(PRIOR_SIGMAS) * len(FACTORS)


@dataclass(eq=False, kw_only=True)
class _Job(jobs.Job[SweepProgress, TuneResult]):
    """A search in the background; ``progress`` is the last cell's report."""

    dataset_name: str

    @property
    def done(self) -> int:
        return 0 if self.progress is None else self.progress.done


def controls() -> None:
    """In the sidebar: the Tune button, the running search's progress and Cancel, the last search's heatmap."""
    run = state.current_run()
    with st.sidebar:
        if st.session_state.get(JOB) is not None:
            _watch()
        elif run is not None and st.button(
            "Tune σ₀ and the KL weight",
            key="tune",
            width="stretch",
            help=f"Hold out 20% of this run's training rows (its test rows stay unseen), train {CELLS} settings of "
            "prior σ₀ × KL weight (F/N, KL sum) on the rest, and train the one with the lowest NLL on the held-out "
            "rows: like python -m bnn_core tune.",
        ):
            _start(run.config)
        error = st.session_state.pop(ERROR, None)
        if error:
            st.error(error)
        last = st.session_state.get(LAST)
        if last is not None:
            result, name = last
            with st.expander(f"Last tune search ({name})", expanded=False):
                show(search_heatmap(result.table, result.best), "tune_search")


def _start(config: RunConfig) -> None:
    """Start the search on the run's dataset with its settings; a refusal is shown at once."""
    dataset = state.dataset_by_name(config.data.dataset)
    try:
        search_set(dataset, config)  # too few training rows: say so now, not from a thread
    except BNNInputError as err:
        st.session_state[ERROR] = str(err)
        return
    job = _Job(dataset_name=dataset.name)
    folder = Path(tempfile.mkdtemp(prefix="bnn-tune-"))

    def report(progress: SweepProgress) -> bool:
        job.progress = progress
        return not job.cancel.is_set()

    st.session_state[JOB] = job
    jobs.start(job, "tune search", lambda: tune(dataset, config, folder / "search", on_cell=report))


@st.fragment(run_every=WATCH_SECONDS)
def _watch() -> None:
    job: _Job | None = st.session_state.get(JOB)
    if job is None:
        return
    if job.finished:
        st.session_state.pop(JOB, None)
        if job.error is not None:
            st.session_state[ERROR] = f"Tune stopped: {job.error}"
        elif job.result is not None:
            st.session_state[READY] = (job.result, job.dataset_name)
        st.rerun(scope="app")
    st.markdown(f"**Tuning**: {job.done} of {CELLS} settings · {job.seconds():.0f} s")
    st.progress(job.done / CELLS)
    if st.button("Cancel", key="tune_cancel", help="Stop after the setting that is training; nothing is kept."):
        job.cancel.set()
        st.session_state.pop(JOB, None)
        st.rerun(scope="app")


def apply_finished() -> None:
    """Before the form is drawn: a search that just finished is kept, its choice put in the form, and the page
    trains it (which puts it in the URL). Widgets take new values only before they are drawn, hence here."""
    ready = st.session_state.pop(READY, None)
    if ready is None:
        return
    result, dataset_name = ready
    st.session_state[LAST] = ready
    best = result.best
    fill_form(
        result.config,
        f"Tuned on {dataset_name}: prior σ₀ {best['prior_sigma']:g}, KL weight {result.config.train.kl_weight} "
        f"(validation NLL {best['nll']:.3f}). Training it now.",
    )
    st.session_state[state.PENDING] = result.config
