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
from ..posterior.probing import IN_RANGE, TRUCK, probe_presets
from ..posterior.uncertainty import calibration, point_uncertainty
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
    "far_near": "far / near MI",
}


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
    """One method's line of the table; ``far_near`` is None when the method has no epistemic part (one network)."""

    method: str
    detail: str
    train_seconds: float
    accuracy: float
    nll: float
    ece: float
    brier: float
    auroc_mi: float | None
    auroc_max_softmax: float
    far_near: float | None
    mi_far: float
    mi_near: float


def evaluate_method(predictor: Predictor, data: PreparedData, shifted: torch.Tensor) -> MethodRow:
    """Score one method on the held-out rows (the training rows when nothing is held out) and the shifted set.

    Args:
        shifted: scaled inputs (M, D) of the shifted set.
    """
    rows = data.test_mask if data.has_test else data.train_mask
    held = point_uncertainty(predictor.probs(data.x[rows]))
    near = point_uncertainty(predictor.probs(data.x[data.train_mask]))
    far = point_uncertainty(predictor.probs(shifted))
    measured = calibration(held.mean_probs, data.y[rows])
    confidence_in = held.mean_probs.max(dim=1).values.numpy()
    confidence_out = far.mean_probs.max(dim=1).values.numpy()
    has_mi = float(far.epistemic.max()) > 0.0 or float(near.epistemic.max()) > 0.0
    mi_far, mi_near = float(far.epistemic.mean()), float(near.epistemic.mean())
    return MethodRow(
        method=predictor.name,
        detail=predictor.detail,
        train_seconds=predictor.train_seconds,
        accuracy=float((held.predicted == data.y[rows]).to(torch.float64).mean()),
        nll=measured.nll,
        ece=measured.ece,
        brier=measured.brier,
        auroc_mi=auroc(held.epistemic.numpy(), far.epistemic.numpy()) if has_mi else None,
        auroc_max_softmax=auroc(1.0 - confidence_in, 1.0 - confidence_out),
        far_near=mi_far / mi_near if has_mi and mi_near > 0 else None,
        mi_far=mi_far,
        mi_near=mi_near,
    )


def compare(predictors: list[Predictor], data: PreparedData, seed: int = 0) -> pd.DataFrame:
    """The "which to use?" table: one row per method, the columns of :data:`COLUMNS` plus the raw MI levels."""
    shifted = data.inputs(shifted_points(data, seed=seed))
    rows = [evaluate_method(predictor, data, shifted) for predictor in predictors]
    return pd.DataFrame([row.__dict__ for row in rows])


_DIGITS = {"train_seconds": 2, "nll": 3, "ece": 3, "brier": 3, "auroc_mi": 3, "auroc_max_softmax": 3, "far_near": 1}


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """The table's columns under their headings, numbers rounded for reading, accuracy in percent."""
    shown = table[list(COLUMNS)].copy()
    for column, digits in _DIGITS.items():
        shown[column] = shown[column].astype(float).round(digits)
    shown["accuracy"] = (100 * shown["accuracy"].astype(float)).round(1)
    return shown.rename(columns={**COLUMNS, "accuracy": "test accuracy (%)"})


def readable_text(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`readable` with every cell as text, "—" where a single network has no MI: for a screen, whose
    table widgets would print the missing value as "None"."""
    shown = readable(table)
    return shown.astype(object).where(shown.notna(), "—").astype(str)


def table_text(table: pd.DataFrame) -> str:
    """:func:`readable` as terminal text, "—" where a single network has no MI."""
    return readable(table).to_string(index=False, na_rep="—")
