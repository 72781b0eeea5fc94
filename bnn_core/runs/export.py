"""Tables for people and other tools: one row per point with its prediction and uncertainty."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.prepared import PreparedData
from ..posterior.regression import Bands
from ..posterior.uncertainty import PointUncertainty

PREDICTION_COLUMNS = ("split", "label", "predicted", "entropy", "aleatoric", "epistemic", "variation_ratio")
REGRESSION_COLUMNS = (
    "split", "target", "mean", "epistemic_std", "aleatoric_std", "total_std", "lower_95", "upper_95"
)  # fmt: skip


def feature_column(name: str, task: str = "classification") -> str:
    """A feature's column name in predictions.csv; prefixed only when it would clash with one of the task's output
    columns (so that runs saved before regression existed keep their names)."""
    if task == "regression":
        clashes = name in REGRESSION_COLUMNS
    else:
        clashes = name in PREDICTION_COLUMNS or name == "predicted_std" or name.startswith("p_")
    return f"feature_{name}" if clashes else name


def predictions_frame(data: PreparedData, uncertainty: PointUncertainty) -> pd.DataFrame:
    """One row per point: split, raw features, label, predicted, p_<class>, and its uncertainty."""
    dataset = data.dataset
    names = np.asarray(dataset.class_names, dtype=object)
    columns: dict[str, object] = {"split": np.where(data.is_test, "test", "train")}
    for j, feature in enumerate(dataset.feature_names):
        columns[feature_column(feature)] = dataset.x[:, j]
    columns["label"] = names[dataset.y]
    columns["predicted"] = names[uncertainty.predicted.numpy()]
    for c, class_name in enumerate(dataset.class_names):
        columns[f"p_{class_name}"] = uncertainty.mean_probs[:, c].numpy()
    columns["entropy"] = uncertainty.entropy.numpy()
    columns["aleatoric"] = uncertainty.aleatoric.numpy()
    columns["epistemic"] = uncertainty.epistemic.numpy()
    columns["variation_ratio"] = uncertainty.variation_ratio.numpy()
    columns["predicted_std"] = uncertainty.predicted_std.numpy()
    return pd.DataFrame(columns)


def regression_frame(data: PreparedData, bands: Bands) -> pd.DataFrame:
    """One row per point of a regression run, in the target's units: split, raw features, target, the posterior
    mean, the epistemic, aleatoric and total std, and the bounds of the 95% predictive interval."""
    dataset = data.dataset
    columns: dict[str, object] = {"split": np.where(data.is_test, "test", "train")}
    for j, feature in enumerate(dataset.feature_names):
        columns[feature_column(feature, "regression")] = dataset.x[:, j]
    lower, upper = bands.interval(0.95)
    columns |= {
        "target": dataset.y,
        "mean": bands.mean,
        "epistemic_std": bands.epistemic,
        "aleatoric_std": bands.aleatoric,
        "total_std": bands.total,
        "lower_95": lower,
        "upper_95": upper,
    }
    return pd.DataFrame(columns)
