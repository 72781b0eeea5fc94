"""Train and resample: true labels beside the labels of one posterior sample (for regression: the bands beside one
sample's function), and the run's numbers."""

from __future__ import annotations

from streamlit.delta_generator import DeltaGenerator

from bnn_core import TrainedRun
from ui import shell
from ui.views import regression, side_by_side, summary

INTRO = """
Every prediction of a Bayesian network comes from one network drawn from its posterior. **Left:** true labels
(for regression: the data, the posterior mean and its bands). **Right:** one sample's labels, bigger where less
certain (for regression: one sample's function). **Resample** (or **r**) draws another network.
"""


def draw(run: TrainedRun) -> DeltaGenerator:
    (regression if run.task == "regression" else side_by_side).draw(run)
    return summary.draw(run)


shell.run_page("Train and resample", "A Bayesian neural network, live", INTRO, draw)
