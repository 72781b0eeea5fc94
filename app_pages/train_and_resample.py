"""Train and resample: true labels beside the labels of one posterior sample (for regression: the bands beside one
sample's function), and the run's numbers."""

from __future__ import annotations

from streamlit.delta_generator import DeltaGenerator

from bnn_core import TrainedRun
from ui import page, shell
from ui.views import regression, side_by_side, summary

RESERVE, PRESENTING_RESERVE = 348, 290  # px of the window above and below the charts (ui.page.fit_charts)

INTRO = """
Every prediction of a Bayesian network comes from one network drawn from its posterior. **Left:** true labels
(for regression: the data, the posterior mean and its bands). **Right:** one sample's labels, bigger where less
certain (for regression: one sample's function). **Resample** (or **r**) draws another network.
"""


def draw(run: TrainedRun) -> DeltaGenerator:
    page.fit_charts(RESERVE, PRESENTING_RESERVE)
    (regression if run.task == "regression" else side_by_side).draw(run)
    return summary.draw(run)


shell.run_page("Train and resample", "A Bayesian neural network, live", INTRO, draw)
