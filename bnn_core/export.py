"""Tables for people and other tools: one row per point with its prediction and uncertainty."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .data import PreparedData
from .uncertainty import PointUncertainty

PREDICTION_COLUMNS = ("split", "label", "predicted", "entropy", "aleatoric", "epistemic", "variation_ratio")


def feature_column(name: str) -> str:
    """A feature's column name in predictions.csv; prefixed only when it would clash with an output column."""
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
