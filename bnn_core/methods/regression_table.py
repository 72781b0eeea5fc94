"""Which to use, for a regression? Every method's error, its intervals and its uncertainty in the data's gap, side by
side, on the same rows.

- **RMSE** of the mean prediction, on the test rows (the training rows when nothing is held out), target units.
- **NLL**: the mean negative log-likelihood of those targets under the moment-matched predictive normal,
  N(mean, epistemic² + noise²), as the run's own ``metrics.json`` reports it (not the mixture of the S normals).
- **90% coverage**: the share of those targets inside the central 90% interval of that normal.
- **gap ratio**: the epistemic std in the middle of the training inputs' gap over the larger of those at its two
  edges (:func:`middle_over_edges`). Above 1 the band bulges between the data: in-between uncertainty, which an exact
  posterior has and mean-field VI is known to lack (Foong et al. 2019). The gap is sine_gap's designed (−1, 1), or
  the widest interval between neighbouring training inputs (:func:`~bnn_core.data.geometry.gap_points`); on data
  without a real gap that interval is no wider than the spacing elsewhere and the ratio sits near 1. It is NaN for a
  method with no epistemic part (one network: 0 / 0) and for data of several inputs (a gap is along one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.datasets import DESIGNED_GAPS
from ..data.geometry import gap_points
from ..data.prepared import PreparedData
from ..posterior.regression import coverage, gaussian_nll, in_target_units
from .regression import RegressionPredictor

LEVEL = 0.9  # the central interval whose coverage the table reports
COLUMNS = {  # column: its heading in a table
    "method": "method",
    "detail": "settings",
    "train_seconds": "training (s)",
    "rmse": "RMSE",
    "nll": "NLL",
    "coverage_90": "90% coverage",
    "gap_ratio": "gap ratio",
}
_DIGITS = {"train_seconds": 2, "rmse": 3, "nll": 3, "gap_ratio": 2}


def middle_over_edges(std: np.ndarray) -> float:
    """The std (3,) at a gap's left edge, middle and right edge → the middle's over the larger edge's; NaN when both
    edges' are 0 (a method with no spread at all)."""
    edge = max(float(std[0]), float(std[2]))
    return float(std[1]) / edge if edge > 0 else float("nan")


def gap_inputs(data: PreparedData) -> np.ndarray | None:
    """Raw inputs (3, 1) at the left edge, the middle and the right edge of the training inputs' gap; None for data
    of several inputs."""
    if data.dataset.n_features != 1:
        return None
    train = data.dataset.x[~data.is_test, 0]
    return gap_points(train, DESIGNED_GAPS.get(data.dataset.name))[:, None]


def gap_ratio(predictor: RegressionPredictor, data: PreparedData) -> float:
    """:func:`middle_over_edges` of the predictor's epistemic std at :func:`gap_inputs`; NaN without a gap."""
    points = gap_inputs(data)
    if points is None:
        return float("nan")
    return middle_over_edges(predictor.bands(data.inputs(points)).epistemic)


@dataclass(frozen=True)
class RegressionRow:
    """One method's line of the table, in the target's units; ``rows`` is how many targets it was measured on, and
    ``on`` which ("test" or "train")."""

    method: str
    detail: str
    train_seconds: float
    rmse: float
    nll: float
    coverage_90: float
    gap_ratio: float
    rows: int
    on: str


def evaluate_regression_method(predictor: RegressionPredictor, data: PreparedData) -> RegressionRow:
    """Score one method on the test rows (the training rows when nothing is held out) and at the data's gap."""
    rows = data.is_test if data.has_test else ~data.is_test
    bands = in_target_units(predictor.bands(data.x[rows]), data)
    y = data.dataset.y[rows]
    return RegressionRow(
        method=predictor.name,
        detail=predictor.detail,
        train_seconds=predictor.train_seconds,
        rmse=float(np.sqrt(np.mean((bands.mean - y) ** 2))),
        nll=gaussian_nll(y, bands.mean, bands.total),
        coverage_90=coverage(y, bands, LEVEL),
        gap_ratio=gap_ratio(predictor, data),
        rows=int(rows.sum()),
        on="test" if data.has_test else "train",
    )


def compare_regression(predictors: list[RegressionPredictor], data: PreparedData) -> pd.DataFrame:
    """The regression table: one row per method, the columns of :data:`COLUMNS` plus ``rows`` and ``on``."""
    return pd.DataFrame([evaluate_regression_method(predictor, data).__dict__ for predictor in predictors])


def readable_regression(table: pd.DataFrame) -> pd.DataFrame:
    """The table's columns under their headings as text: rounded for reading, coverage in percent, "—" for a gap
    ratio that does not exist."""
    shown = table[list(COLUMNS)].copy().astype(object)
    for column, digits in _DIGITS.items():
        shown[column] = ["—" if np.isnan(float(value)) else f"{float(value):.{digits}f}" for value in table[column]]
    shown["coverage_90"] = [f"{100 * float(value):.0f}%" for value in table["coverage_90"]]
    return shown.rename(columns=COLUMNS)


def regression_table_text(table: pd.DataFrame) -> str:
    """:func:`readable_regression` as terminal text, with what the columns are measured on."""
    where = f"{int(table['rows'].iloc[0])} {table['on'].iloc[0]} rows" if len(table) else "no rows"
    return (
        readable_regression(table).to_string(index=False)
        + f"\n(RMSE, NLL and coverage on {where}; gap ratio: epistemic std in the data's gap ÷ at its edges, "
        "above 1 = in-between uncertainty)"
    )
