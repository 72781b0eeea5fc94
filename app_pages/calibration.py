"""Calibration: on held-out rows, is each model as often right as it is sure? For regression: do its intervals hold
as many targets as they claim?"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import streamlit as st
import torch

from bnn_core import Calibration, TrainedRun, calibration
from bnn_core.posterior.regression import coverage as coverage_of
from bnn_core.posterior.regression import coverage_curve
from ui import page, shell, state
from ui.charts import show
from ui.figures.calibration import confidence_histogram, reliability_diagram
from ui.figures.regression import coverage_figure
from ui.views import methods, shared

HELD_OUT_SHARE = 0.2
SHORT_NAMES = {"plain": "plain", "dropout": "dropout", "ensemble": "ensemble", "hmc": "HMC"}  # six cards share a row
LEVELS = np.linspace(0.05, 0.95, 19)  # the nominal coverages of the regression's intervals
RESERVE, PRESENTING_RESERVE = 410, 372  # px of the window above and below the charts (ui.page.fit_charts)


def coverage(run: TrainedRun, rows: torch.Tensor, where: str) -> None:
    """Observed against nominal coverage of the central predictive intervals, on ``rows``."""
    mask = rows.numpy()
    y, bands = run.data.dataset.y[mask], run.evaluation.bands.rows(mask)
    observed = coverage_curve(y, bands, LEVELS)
    st.markdown(
        f"Measured on {where}: the share of targets inside the central interval of the predictive normal "
        f"(mean ± z · total std, from {run.config.samples} samples)."
    )
    cells = st.columns(4)
    for cell, level in zip(cells, (50, 90, 95), strict=False):
        cell.metric(f"{level}% interval", f"{coverage_of(y, bands, level / 100):.0%}", help=f"Ideally {level}%.")
    cells[3].metric("NLL", f"{run.metrics['nll']:.3f}", help="Gaussian NLL of the predictive normal.")
    show(coverage_figure(LEVELS, observed, int(mask.sum()), height=None), key="coverage", fit=True)
    if state.presenting():
        return
    st.caption(
        "Above the dashed line the intervals are too wide (under-confident); below it, too narrow. With few "
        "held-out rows, each step of the curve is one row."
    )


def _scores(*models: tuple[str, Calibration]) -> None:
    """ECE, NLL and Brier of each (name, calibration): one row of six on a slide, each measure's pair side by
    side; beside the sidebar a row per model, where six cells cut "Brier, ensemble"."""
    if state.presenting():
        cells = st.columns(6)
        rows = [cells[0::2], cells[1::2]]
    else:
        rows = [st.columns(3), st.columns(3)]
    for row, (name, result) in zip(rows, models, strict=True):
        row[0].metric(f"ECE, {name}", f"{result.ece:.3f}", help="Expected calibration error: lower is better.")
        row[1].metric(f"NLL, {name}", f"{result.nll:.3f}", help="Mean −log p(true class).")
        row[2].metric(f"Brier, {name}", f"{result.brier:.3f}", help="Squared error of the probabilities.")


def draw(run: TrainedRun) -> None:
    page.fit_charts(RESERVE, PRESENTING_RESERVE)
    data = run.data
    if data.has_test:
        rows, where = data.test_mask, f"the {int(data.is_test.sum())} held-out test rows"
    else:
        rows, where = data.train_mask, "the training rows"
        st.warning(
            "This model was trained on every row (test share 0), so there is nothing held out. Calibration on "
            "training data flatters a model: it has seen these very points."
        )
        if st.button(f"Retrain with a {HELD_OUT_SHARE:.0%} test split", type="primary", key="retrain_split"):
            config = replace(run.config, data=replace(run.config.data, test_size=HELD_OUT_SHARE))
            if shared.train_and_show(config) is not None:
                st.rerun()
    if run.task == "regression":
        coverage(run, rows, where)
        return
    measured, choices = st.columns([4, 1.3], vertical_alignment="center")
    with choices.popover("View", icon=":material/tune:", width="stretch", help="The method beside the BNN"):
        method = methods.choose_compared()
    other = methods.predictor_for(run, method)
    if other is None:
        return
    labels = data.y[rows]
    bnn = calibration(run.evaluation.uncertainty.mean_probs[rows], labels)
    compared = calibration(other.probs(data.x[rows]).mean(dim=0), labels)
    short = SHORT_NAMES[other.method]
    measured.markdown(
        f"Measured on {where}. The BNN's probabilities are the mean of {run.config.samples} samples; the "
        f"{other.name}'s {'are its softmax' if other.method == 'plain' else 'the mean over ' + other.detail}."
    )
    slide = state.presenting()
    if slide:  # the scores above the diagrams; beside the sidebar below them, so that the diagrams come first
        _scores(("BNN", bnn), (short, compared))
    left, right = st.columns(2, gap="medium")
    show(reliability_diagram(bnn.bins, "BNN", height=None), key="reliability_bnn", where=left, fit=True)
    show(reliability_diagram(compared.bins, other.name, None), key="reliability_plain", where=right, fit=True)
    if slide:  # the slide is the two diagrams; the histogram is one scroll down otherwise
        return
    _scores(("BNN", bnn), (short, compared))
    st.caption(
        "Bars: the share of points in each confidence bin (15 bins) that were right; ◆ their mean confidence; "
        "n = points in the bin. On the dashed line, confidence and accuracy agree. With few test rows, expect "
        "empty and noisy bins."
    )
    confidences = {"BNN": bnn.confidence.numpy(), other.name: compared.confidence.numpy()}
    show(confidence_histogram(confidences), key="confidence_histogram")


INTRO = (
    "A calibrated model that says 80% is right 80% of the time. Reliability diagrams bin the held-out "
    "points by confidence and compare each bin's confidence with its accuracy, for the BNN and the method beside it. "
    "For regression: an 80% interval should hold 80% of the held-out targets."
)

shell.run_page("Calibration", "Is it as often right as it is sure?", INTRO, draw)
