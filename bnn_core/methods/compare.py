"""Which to use? Every method's accuracy, calibration and out-of-data behaviour on the same rows, side by side.

Out-of-data points are a standard shifted set (:func:`shifted_points`): points at least ``k`` data spans beyond the
box the training rows span, plus the truck probe's two presets. Detecting them is scored by AUROC with two scores
(:data:`OOD_SCORES`), in-distribution test rows against the shifted set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy.stats import rankdata

from ..data.prepared import PreparedData
from ..posterior.probing import IN_RANGE, TRUCK, feature_grid, probe_presets
from ..posterior.uncertainty import bootstrap_interval, calibration, ece, point_uncertainty
from .alternatives import Predictor

SHIFT_SPANS = 1.0  # k: every shifted point lies at least this many data spans outside the training box
SHIFTED_POINTS = 200
OOD_SCORES = {  # score: what it measures (higher means "not like the data")
    "mi": "epistemic uncertainty (mutual information)",
    "max_softmax": "1 − the top class's probability",
}
COLUMNS = {  # column: its heading in a table
    "method": "method",
    "detail": "settings",
    "train_seconds": "training (s)",
    "accuracy": "test accuracy",
    "nll": "NLL",
    "ece": "ECE",
    "brier": "Brier",
    "auroc_mi": "OOD AUROC (MI)",
    "auroc_max_softmax": "OOD AUROC (max-softmax)",
    "mi_gap": "MI far − near (nats)",
    "dist_to_hmc": "mean |Δp̄| to HMC",
}
MAP_RESOLUTION = 60  # the Methods page's map grid, on which every method's mean prediction is set against HMC's
# The ECE and the AUROC are shown with their 90% bootstrap interval (posterior.uncertainty.bootstrap_interval): a
# held-out set of 30 rows leaves either far from settled.


def shifted_points(
    data: PreparedData, spans: float = SHIFT_SPANS, n: int = SHIFTED_POINTS, seed: int = 0
) -> np.ndarray:
    """Raw rows (n + 2, D) unlike the training data: n in random directions, plus the truck probe's two presets.

    Each of the n points lies, in the feature where its direction is largest (per feature, in units of that
    feature's span), exactly ``spans`` spans beyond the training box, and no nearer in any feature that is
    outside it: the box's centre plus (½ + spans) · span · u / max|u|, u uniform on the sphere.
    """
    train = data.dataset.x[~data.is_test]
    low, high = train.min(axis=0), train.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    directions = np.random.default_rng(seed).standard_normal((n, train.shape[1]))
    directions /= np.abs(directions).max(axis=1, keepdims=True)
    far = (low + high) / 2 + (0.5 + spans) * span * directions
    presets = probe_presets(data)
    return np.vstack([far, presets[IN_RANGE], presets[TRUCK]])


def auroc(inside: np.ndarray, outside: np.ndarray) -> float:
    """Area under the ROC curve of telling ``outside`` scores from ``inside`` ones, higher meaning outside.

    The Mann–Whitney form: the probability that a random outside score beats a random inside one, ties
    counting half; computed from mid-ranks, O(n log n).
    """
    ranks = rankdata(np.concatenate([inside, outside]))
    n_in, n_out = len(inside), len(outside)
    return float((ranks[n_in:].sum() - n_out * (n_out + 1) / 2) / (n_in * n_out))


@dataclass(frozen=True)
class MethodRow:
    """One method's line of the table; the MI columns are None when the method has no epistemic part (one network).

    ``*_low`` and ``*_high`` bound each figure's 90% bootstrap interval over the rows it was measured on.
    """

    method: str
    detail: str
    train_seconds: float
    accuracy: float
    nll: float
    ece: float
    ece_low: float
    ece_high: float
    brier: float
    auroc_mi: float | None
    auroc_mi_low: float | None
    auroc_mi_high: float | None
    auroc_max_softmax: float
    mi_gap: float | None
    mi_far: float
    mi_near: float


def evaluate_method(predictor: Predictor, data: PreparedData, shifted: torch.Tensor) -> MethodRow:
    """Score one method on the held-out rows (the training rows when nothing is held out) and the shifted set.

    Every score is computed in float64 from the method's probabilities: in float32 a confident network's
    1 − max p is exactly 0 on most shifted points, and an AUROC made of ties says nothing.

    Args:
        shifted: scaled inputs (M, D) of the shifted set.
    """
    rows = data.test_mask if data.has_test else data.train_mask
    held = point_uncertainty(predictor.probs(data.x[rows]).double())
    near = point_uncertainty(predictor.probs(data.x[data.train_mask]).double())
    far = point_uncertainty(predictor.probs(shifted).double())
    labels = data.y[rows]
    measured = calibration(held.mean_probs, labels)
    confidence_in = held.mean_probs.max(dim=1).values.numpy()
    confidence_out = far.mean_probs.max(dim=1).values.numpy()
    has_mi = float(far.epistemic.max()) > 0.0 or float(near.epistemic.max()) > 0.0
    mi_far, mi_near = float(far.epistemic.mean()), float(near.epistemic.mean())
    ece_low, ece_high = bootstrap_interval(lambda pick: ece(held.mean_probs[pick], labels[pick]), len(labels))
    mi_interval = _auroc_interval(held.epistemic.numpy(), far.epistemic.numpy()) if has_mi else (None, None)
    return MethodRow(
        method=predictor.name,
        detail=predictor.detail,
        train_seconds=predictor.train_seconds,
        accuracy=float((held.predicted == labels).to(torch.float64).mean()),
        nll=measured.nll,
        ece=measured.ece,
        ece_low=ece_low,
        ece_high=ece_high,
        brier=measured.brier,
        auroc_mi=auroc(held.epistemic.numpy(), far.epistemic.numpy()) if has_mi else None,
        auroc_mi_low=mi_interval[0],
        auroc_mi_high=mi_interval[1],
        auroc_max_softmax=auroc(1.0 - confidence_in, 1.0 - confidence_out),
        mi_gap=mi_far - mi_near if has_mi else None,
        mi_far=mi_far,
        mi_near=mi_near,
    )


def _auroc_interval(inside: np.ndarray, outside: np.ndarray) -> tuple[float, float]:
    """The 90% bootstrap interval of :func:`auroc`, resampling the inside and the outside points each."""
    both = np.concatenate([inside, outside])

    def resampled(pick: np.ndarray) -> float:  # pick indexes the inside rows, then (shifted) the outside ones
        chosen = both[pick]
        return auroc(chosen[pick < len(inside)], chosen[pick >= len(inside)])

    return bootstrap_interval(resampled, len(inside), len(outside))


def compare(predictors: list[Predictor], data: PreparedData, seed: int = 0) -> pd.DataFrame:
    """The "which to use?" table: one row per method, the columns of :data:`COLUMNS` plus the raw MI levels.

    With an HMC reference among ``predictors``, ``dist_to_hmc`` is each method's distance to it on the map's grid
    (:func:`distance_to_reference`); without one the column is empty.
    """
    shifted = data.inputs(shifted_points(data, seed=seed))
    rows = [evaluate_method(predictor, data, shifted) for predictor in predictors]
    table = pd.DataFrame([row.__dict__ for row in rows])
    reference = next((predictor for predictor in predictors if predictor.method == "hmc"), None)
    if reference is None:
        return table.assign(dist_to_hmc=None)
    exact = grid_mean(reference, data)  # once: 1,200 draws on 3,600 points took half a second a method
    distances = [0.0 if p is reference else distance_to_reference(grid_mean(p, data), exact) for p in predictors]
    return table.assign(dist_to_hmc=distances)


def grid_mean(predictor: Predictor, data: PreparedData) -> torch.Tensor:
    """The mean prediction (R², C) float64 over the points of the map's grid: the first two features,
    :data:`MAP_RESOLUTION`² points reaching 0.75 data spans past the data, the others at their training median."""
    grid = feature_grid(data, 0, min(1, data.dataset.n_features - 1), resolution=MAP_RESOLUTION)
    return predictor.probs(data.inputs(grid.points)).mean(dim=0, dtype=torch.float64)


def distance_to_reference(mean: torch.Tensor, exact: torch.Tensor) -> float:
    """Mean |p̄ − p̄_ref| over the grid's points and the classes, from the two :func:`grid_mean` (R², C): 0 for the
    reference itself, 1 for a method that is sure of another class everywhere."""
    return float((mean - exact).abs().mean())


_DIGITS = {
    "train_seconds": 2,
    "nll": 3,
    "ece": 3,
    "brier": 3,
    "auroc_mi": 3,
    "auroc_max_softmax": 3,
    "mi_gap": 3,
    "dist_to_hmc": 3,
}
_INTERVALS = {"ece": 3, "auroc_mi": 2}  # columns shown with their 90% interval, and its digits


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """The table's columns under their headings as text: numbers rounded for reading, accuracy in percent, the ECE
    and the MI AUROC followed by their 90% bootstrap interval, and "—" where a single network has no MI."""
    shown = table[list(COLUMNS)].copy().astype(object)
    for column, digits in _DIGITS.items():
        shown[column] = [_number(value, digits) for value in table[column]]
    for column, digits in _INTERVALS.items():
        low, high = table[f"{column}_low"], table[f"{column}_high"]
        shown[column] = [
            "—" if _missing(value) else f"{value:.{_DIGITS[column]}f} ({lo:.{digits}f}–{hi:.{digits}f})"
            for value, lo, hi in zip(table[column], low, high, strict=True)
        ]
    shown["accuracy"] = [f"{100 * float(value):.1f}" for value in table["accuracy"]]
    return shown.rename(columns={**COLUMNS, "accuracy": "test accuracy (%)"})


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _number(value: object, digits: int) -> str:
    """A figure rounded for reading, "—" when missing; never "-0.000"."""
    if _missing(value):
        return "—"
    text = f"{float(value):.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def table_text(table: pd.DataFrame) -> str:
    """:func:`readable` as terminal text; the intervals are 90% bootstrap intervals over the rows."""
    return readable(table).to_string(index=False) + "\n(ECE and AUROC: 90% bootstrap interval in brackets)"
