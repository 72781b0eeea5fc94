"""The HMC reference posterior on a page: shipped for the gallery's runs, else sampled in the background with
progress and Cancel, and kept per configuration (for every session, except a CSV's, which stays in its session)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

import streamlit as st

from bnn_core import BNNInputError, TrainedRun
from bnn_core.config import CSV_PREFIX
from bnn_core.methods.alternatives import Predictor, hmc_predictor
from bnn_core.methods.hmc import HMCConfig, HMCPosterior, HMCProgress, hmc_spec, run_hmc
from bnn_core.methods.references import reference_key, shipped_reference
from bnn_core.methods.regression import RegressionPredictor, hmc_regression_predictor

from .. import state
from ..server import jobs
from ..text import plain
from . import shared

JOB = "bnn_hmc_job"  # this session's sampling job, while it runs and until the page shows its result
KEPT = "bnn_hmc_kept"  # {key: HMCPosterior} of a CSV's runs, in this session only
WATCH_SECONDS = 1.0
_finished: dict[tuple, HMCPosterior] = {}  # built-in data's references, for every session: immutable results
_finished_lock = threading.Lock()


@dataclass(eq=False, kw_only=True)
class _Job(jobs.Job[HMCProgress, HMCPosterior]):
    """NUTS in the background for the settings ``key``."""

    key: tuple


def _key(run: TrainedRun, config: HMCConfig) -> tuple:
    return tuple(sorted(reference_key(run.config, config).items()))


def _private(run: TrainedRun) -> bool:
    """A CSV's data is the user's own: its reference is never shared with other sessions."""
    return run.config.data.dataset.startswith(CSV_PREFIX)


def _kept(run: TrainedRun, key: tuple) -> HMCPosterior | None:
    if _private(run):
        return st.session_state.get(KEPT, {}).get(key)
    with _finished_lock:
        return _finished.get(key)


def _keep(run: TrainedRun, key: tuple, posterior: HMCPosterior) -> None:
    if _private(run):
        st.session_state.setdefault(KEPT, {})[key] = posterior
        return
    with _finished_lock:
        _finished[key] = posterior


def reference_for(run: TrainedRun, config: HMCConfig | None = None) -> Predictor | RegressionPredictor | None:
    """The HMC reference for this run's data, prior and network (a regression's with its fixed noise σ), or None
    with what to do on screen: train a network small enough, start the sampling, or watch it."""
    config = config or HMCConfig()
    try:
        hmc_spec(run.data, run.config)
    except BNNInputError as err:
        if run.task == "regression" and run.config.model.noise != "fixed":  # a smaller network would not help
            st.info(plain(err))
        else:
            _offer_smaller(run, str(err))
        return None
    key = _key(run, config)
    posterior = shipped_reference(run.config, config) or _kept(run, key)
    job = st.session_state.get(JOB)
    if posterior is None and job is not None and job.key == key and job.finished:
        st.session_state.pop(JOB)
        if job.error:
            st.error(plain(job.error))
        elif job.result is not None:
            _keep(run, key, job.result)
            posterior = job.result
    if posterior is not None:
        # One predictor object per posterior: the Methods page's memos are keyed by the predictors
        build = hmc_predictor if run.task == "classification" else lambda kept: hmc_regression_predictor(kept, run)
        return state.derived(run, "hmc_predictor", lambda: build(posterior), inputs=posterior)
    if job is not None and job.key == key:
        _watch(job)
    elif st.button("Sample the HMC reference", type="primary", key="hmc_start", help=_START_HELP):
        _start(run, config, key)
        st.rerun()
    else:
        st.info(
            f"No HMC reference is stored for these settings. Sampling it runs NUTS: {config.chains} chains of "
            f"{config.warmup} warm-up and {config.samples} kept iterations, in the background: about ten seconds "
            "for one hidden layer of 16 units, a minute or two for two of 32."
        )
    return None


_START_HELP = "The page stays usable meanwhile; Cancel stops the chains."


def _offer_smaller(run: TrainedRun, reason: str) -> None:
    """Too big for HMC: say why, and offer the same run with one hidden layer of 16 units."""
    st.info(f"{plain(reason.rstrip('.'))}. HMC's cost grows with every weight, so the reference is for small networks.")
    smaller = replace(run.config, model=replace(run.config.model, hidden=(16,)))
    if st.button("Train this run with one hidden layer of 16 units", key="hmc_smaller") and shared.train_and_show(
        smaller
    ):
        st.rerun()


def _start(run: TrainedRun, config: HMCConfig, key: tuple) -> None:
    job = _Job(key=key)

    def report(progress: HMCProgress) -> bool:
        job.progress = progress
        return job.cancel.is_set()

    st.session_state[JOB] = job
    jobs.start(job, "HMC reference", lambda: run_hmc(run.data, run.config, config, on_progress=report))


@st.fragment(run_every=WATCH_SECONDS)
def _watch(job: _Job) -> None:
    """Progress of the sampling, redrawn every second; the whole page reruns once it is done."""
    if job.finished:
        st.rerun(scope="app")
    progress = job.progress
    head, cancel = st.columns([5, 1], vertical_alignment="center")
    if progress is None:
        head.markdown("**HMC reference**: starting the sampler…")
        share, text = 0.0, "Starting…"
    else:
        phase = "warm-up" if progress.warmup else "sampling"
        head.markdown(f"**HMC reference**: chain {progress.chain + 1} of {progress.chains}, {phase}")
        share = min(progress.fraction, 1.0)
        text = f"Iteration {progress.iteration:,} of {progress.iterations:,} · {job.seconds():.0f} s"
    if cancel.button("Cancel", key="hmc_cancel", help="Stop the chains; nothing is kept."):
        job.cancel.set()
        st.session_state.pop(JOB, None)
        st.rerun(scope="app")
    st.progress(share, text=text)
