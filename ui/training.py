"""Live training: a progress bar, loss curves and each layer's mean σ redrawn once a second, and a Stop button.

Stopping works the Streamlit way: pressing Stop starts a new script run, which
ends this one at its next Streamlit call (inside the progress callback). The
finished-run slot in the session is only written once training completes, so
the previous model stays on screen.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from bnn_core import BNNInputError, Dataset, Progress, RunConfig, TrainedRun
from bnn_core.engine.train import ProgressCallback

from . import sources, state
from .charts import show
from .figures.base import training_curves
from .figures.weights import layer_sigma_figure
from .text import plain

T = TypeVar("T")

# One redraw a second: each costs the watching browser about 0.18 s of a core (Plotly re-lays out the three
# panels); at 2.5 a second a tab that watched a training kept 0.44 of a core busy, at 1 a second 0.24.
REDRAW_SECONDS = 1.0
# Redraws hold the GIL, which every session's training and Resample share; together they may take this share.
REDRAW_SHARE = 0.25
_live = 0  # live trainings in this server process, drawing their curves
_live_lock = threading.Lock()


@contextmanager
def _counted_live() -> Iterator[None]:
    global _live
    with _live_lock:
        _live += 1
    try:
        yield
    finally:
        with _live_lock:
            _live -= 1


def redraw_gap(draw_seconds: float, live: int) -> float:
    """Seconds until a training's next redraw, after one that took ``draw_seconds`` with ``live`` trainings
    drawing: REDRAW_SECONDS, or longer so that all their redraws together stay within REDRAW_SHARE of the time."""
    return max(REDRAW_SECONDS, draw_seconds * max(live, 1) / REDRAW_SHARE)


def _bayesian(progress: Progress) -> bool:
    """Whether the network being trained has a KL term: a Bayesian one reports each layer's mean σ."""
    return bool(progress.layer_sigma)


def curves_from_progress(reports: list[Progress], epochs: int, regression: bool = False) -> go.Figure:
    """The loss-curve figure from the progress reports received so far; no KL panel for a network that has no KL
    term (its reports carry no layer σ)."""
    steps = np.array([p.step for p in reports])
    return training_curves(
        steps,
        np.array([p.ce for p in reports]),
        np.array([p.kl for p in reports]) if _bayesian(reports[-1]) else None,
        np.array([p.train_accuracy for p in reports]),
        epochs,
        regression=regression,
    )


def live_training(
    heading: str,
    epochs: int,
    what: str,
    work: Callable[[ProgressCallback], T],
    where: DeltaGenerator | None = None,
    curves: DeltaGenerator | None = None,
    regression: bool = False,
) -> T:
    """Run ``work(on_progress)`` while showing a progress bar, live loss curves and a Stop button.

    Args:
        heading: the line above the bar, in Markdown.
        what: "model" or "twin": which training a Stop press interrupts (see :func:`interrupted_message`).
        where: where the bar and Stop go (default: here, in a box with the curves under the bar).
        curves: where the loss curves go, if not under the bar.
        regression: the data term is a Gaussian NLL and the score an RMSE.

    Raises:
        BNNInputError: the engine refused the data or settings, or training diverged.
    """
    box = (where or st).empty()
    with box.container(border=where is None):
        head, stop = st.columns([5, 1], vertical_alignment="center")
        head.markdown(heading)
        stop.button("Stop", key=f"stop_{what}", help="Stop now and keep what you had.")
        bar = st.progress(0.0, text="Starting…")
        slot = curves if curves is not None else st.empty()
    with slot.container():  # the loss curves, and under them each layer's σ (a Bayesian network's only)
        chart, sigma_chart = st.empty(), st.empty()
    reports: list[Progress] = []
    started = time.perf_counter()
    next_draw = started
    mark = state.TrainingMark(what, epochs)

    def on_progress(progress: Progress) -> None:
        nonlocal next_draw
        reports.append(progress)
        mark.step = progress.step
        if time.perf_counter() < next_draw and progress.step < epochs:
            return
        drawing = time.perf_counter()
        bar.progress(
            progress.step / epochs,
            text=f"Step {progress.step:,} of {epochs:,} · {drawing - started:.1f} s · "
            f"{'NLL' if regression else 'CE'} {progress.ce:.3f}"
            + (f" · KL {progress.kl:.3f}" if _bayesian(progress) else ""),
        )
        show(curves_from_progress(reports, epochs, regression), where=chart)
        if progress.layer_sigma:
            steps, sigma = np.array([p.step for p in reports]), np.array([p.layer_sigma for p in reports])
            show(layer_sigma_figure(steps, sigma, epochs), where=sigma_chart)
        # Counted from the end of the redraw, so drawing can never take more than its share of the time.
        drawn = time.perf_counter()
        next_draw = drawn + redraw_gap(drawn - drawing, _live)

    st.session_state[state.TRAINING] = mark
    try:
        with _counted_live():
            result = work(on_progress)
    except BNNInputError:
        st.session_state.pop(state.TRAINING, None)
        box.empty()
        raise
    # A Stop click ends the script inside on_progress, before this line: the mark survives and
    # the next script run reports the interruption.
    st.session_state.pop(state.TRAINING, None)
    box.empty()
    return result


def train_live(
    dataset: Dataset, config: RunConfig, where: DeltaGenerator | None = None, curves: DeltaGenerator | None = None
) -> TrainedRun:
    """The run for ``config``: from the gallery or the server's cache at once, else trained while showing
    progress (also when another session is training the same run: this one watches). The caller decides to
    show it.

    Raises:
        BNNInputError: the engine refused the data or settings, or training diverged.
    """
    ready = sources.ready_run(dataset, config)
    if ready is not None:
        return ready
    heading = f"**Training** on {plain(dataset.name)}: {config.train.epochs:,} steps"
    return live_training(
        heading,
        config.train.epochs,
        "model",
        lambda report: sources.obtain_run(dataset, config, report),
        regression=dataset.task == "regression",
    )


UNCHANGED = "the data in use and the model on screen have not changed"


def refusal(err: BNNInputError, source: str = "", unchanged: str = UNCHANGED) -> str:
    """A refusal in the words every page uses, as one sentence: which file or setting, what is wrong, and that
    nothing changed. ``source`` names the file, if the engine's sentence does not. Plain text (``ui/text.py``):
    the sentence quotes file names and values from outside."""
    return plain(f"{source + ': ' if source else ''}{str(err).rstrip('.')}; {unchanged}.")


def interrupted_message(what: str = "model") -> str | None:
    """If the previous script run was stopped while training ``what`` ("model" or "twin"), say so once."""
    mark = st.session_state.get(state.TRAINING)
    if mark is None or mark.what != what:
        return None
    del st.session_state[state.TRAINING]
    if what == "twin":
        return (
            f"Training of the plain network stopped after {mark.step:,} of {mark.epochs:,} steps. "
            "The comparison on this page needs it."
        )
    return (
        f"Training stopped after {mark.step:,} of {mark.epochs:,} steps. "
        "The model you had before is still shown; press Train to start again."
    )
