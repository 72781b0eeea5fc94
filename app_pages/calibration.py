"""Calibration: on held-out rows, is each model as often right as it is sure?"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from bnn_core import TrainedRun, calibration
from ui import shared, shell
from ui.calibration_figures import confidence_histogram, reliability_diagram
from ui.charts import show

HELD_OUT_SHARE = 0.2


def draw(run: TrainedRun) -> None:
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
    twin = shared.twin_for(run)
    if twin is None:
        return
    labels = data.y[rows]
    bnn = calibration(run.evaluation.uncertainty.mean_probs[rows], labels)
    plain = calibration(twin.probs[rows], labels)
    st.markdown(f"Measured on {where}. The BNN's probabilities are the mean of {run.config.samples} samples.")
    cells = st.columns(6)
    for offset, (name, result) in enumerate((("BNN", bnn), ("plain", plain))):  # short: six cards share a row
        cells[offset].metric(f"ECE, {name}", f"{result.ece:.3f}", help="Expected calibration error: lower is better.")
        cells[2 + offset].metric(f"NLL, {name}", f"{result.nll:.3f}", help="Mean −log p(true class).")
        cells[4 + offset].metric(f"Brier, {name}", f"{result.brier:.3f}", help="Squared error of the probabilities.")
    left, right = st.columns(2, gap="medium")
    show(reliability_diagram(bnn.bins, "BNN"), key="reliability_bnn", where=left)
    show(reliability_diagram(plain.bins, "plain network"), key="reliability_plain", where=right)
    st.caption(
        "Bars: the share of points in each confidence bin (15 bins) that were right; ◆ their mean confidence; "
        "n = points in the bin. On the dashed line, confidence and accuracy agree. With few test rows, expect "
        "empty and noisy bins."
    )
    confidences = {"BNN": bnn.confidence.numpy(), "plain network": plain.confidence.numpy()}
    show(confidence_histogram(confidences), key="confidence_histogram")


INTRO = (
    "A calibrated model that says 80% is right 80% of the time. Reliability diagrams bin the held-out "
    "points by confidence and compare each bin's confidence with its accuracy, for the BNN and its plain twin."
)

shell.run_page("Calibration", "Is it as often right as it is sure?", INTRO, draw, ":material/target:", regression=False)
