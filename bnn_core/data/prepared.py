"""The split and the scalers: a :class:`~bnn_core.data.datasets.Dataset` made ready for a network.

:func:`prepare` turns it into the tensors a network trains on, keeping the split and the scalers so
every chart and metric can go back to raw values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from ..config import DataConfig
from ..errors import BNNInputError
from ..seeds import split_seed
from ..text import quoted
from .checks import checked_rows, network_inputs
from .datasets import Dataset, rows_text


@dataclass(frozen=True, eq=False)
class Scaler:
    """Per-feature z-scoring fitted on training rows. Shape: mean, std (D,)."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Scaler:
        std = x.std(axis=0)
        # Values near 1e-300 square to 0: their variance underflows although they differ, and the column would be
        # divided by 1 and flattened. Below float64's normal range the std is measured on the column divided by
        # its largest magnitude, where the spread survives (every other column keeps the plain, bit-exact std).
        small = std < np.sqrt(np.finfo(np.float64).tiny)
        if small.any():
            magnitude = np.abs(x[:, small]).max(axis=0)
            magnitude = np.where(magnitude > 0, magnitude, 1.0)
            std[small] = (x[:, small] / magnitude).std(axis=0) * magnitude
        # A constant feature carries no information; dividing by 1 keeps it finite.
        return cls(x.mean(axis=0), np.where(std > 0, std, 1.0))

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.std

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, values: dict[str, list[float]]) -> Scaler:
        return cls(np.asarray(values["mean"], dtype=np.float64), np.asarray(values["std"], dtype=np.float64))


def model_inputs(raw: np.ndarray, scaler: Scaler | None, n_features: int) -> torch.Tensor:
    """Raw feature rows (M, D) → a network's float32 inputs (M, D), scaled when ``scaler`` is set.

    Raises:
        BNNInputError: the rows do not have ``n_features`` finite numbers each.
    """
    values = checked_rows(raw, n_features, "the feature rows")
    scaled = scaler.transform(values) if scaler is not None else values
    return network_inputs(np.asarray(scaled, dtype=np.float64), "the scaled feature rows")


@dataclass(frozen=True, eq=False)
class PreparedData:
    """A dataset split and scaled, ready for a network.

    Shape:
        x: (N, D) float32 tensor, scaled when a scaler is set.
        y: (N,) int64 labels, or for regression (N,) float32 targets, standardised when ``target_scaler`` is set.
        is_test: (N,) bool array, True for held-out rows.
    """

    dataset: Dataset
    config: DataConfig
    is_test: np.ndarray
    scaler: Scaler | None
    x: torch.Tensor
    y: torch.Tensor
    target_scaler: Scaler | None = None  # regression with ``scale="standard"``: the training targets' mean and std

    @property
    def target_std(self) -> float:
        """How many target units one unit of the network's output is (1 when targets are not scaled)."""
        return float(self.target_scaler.std[0]) if self.target_scaler is not None else 1.0

    def to_target_units(self, values: np.ndarray, spread: bool = False) -> np.ndarray:
        """Network outputs (any shape) back in the target's units: a mean shifted and scaled, a ``spread`` (a std)
        only scaled."""
        if self.target_scaler is None:
            return np.asarray(values, dtype=np.float64)
        shift = 0.0 if spread else float(self.target_scaler.mean[0])
        return np.asarray(values, dtype=np.float64) * self.target_std + shift

    def inputs(self, raw: np.ndarray) -> torch.Tensor:
        """Raw feature rows (M, D) → the network's float32 inputs (M, D); refuses a wrong shape, NaN or inf."""
        return model_inputs(raw, self.scaler, self.dataset.n_features)

    @property
    def train_mask(self) -> torch.Tensor:
        return torch.as_tensor(~self.is_test)

    @property
    def test_mask(self) -> torch.Tensor:
        return torch.as_tensor(self.is_test)

    @property
    def has_test(self) -> bool:
        return bool(self.is_test.any())


def prepare(dataset: Dataset, config: DataConfig, seed: int) -> PreparedData:
    """Split ``dataset`` (stratified for classes, from the run's split stream; a set that holds out its own rows
    keeps them) and fit the scalers on its training rows only: the features', and with ``scale="standard"`` a
    regression target's."""
    regression = dataset.task == "regression"
    if dataset.held_out is not None:
        is_test = dataset.held_out.copy()
    else:
        is_test = held_out_rows(dataset, config.test_size, split_seed(seed))
    standard = config.scale == "standard"
    if not standard:
        _refuse_vanishing(dataset)
    scaler = Scaler.fit(dataset.x[~is_test]) if standard else None
    target_scaler = Scaler.fit(dataset.y[~is_test, None]) if standard and regression else None
    if regression:
        targets = target_scaler.transform(dataset.y[:, None])[:, 0] if target_scaler else dataset.y
        y = torch.tensor(targets, dtype=torch.float32)
    else:
        y = torch.tensor(dataset.y, dtype=torch.int64)
    return PreparedData(
        dataset=dataset,
        config=config,
        is_test=is_test,
        scaler=scaler,
        x=model_inputs(dataset.x, scaler, dataset.n_features),
        y=y,
        target_scaler=target_scaler,
    )


def held_out_rows(dataset: Dataset, share: float, seed: int) -> np.ndarray:
    """The (N,) mask of the rows a split with ``share`` held out holds out: stratified for classes, plain for a
    regression target, from the 32-bit ``seed``; the split every run uses, for any rows and any purpose."""
    return (_split_rows if dataset.task == "regression" else _split)(dataset, share, seed)


def _refuse_vanishing(dataset: Dataset) -> None:
    """Refuse raw features that the network's float32 would turn into zeros: a column whose every nonzero value
    is too small for float32 (about 1e-300), which the network would otherwise see, silently, as constant."""
    x = dataset.x
    vanishing = (x != 0).any(axis=0) & ((x.astype(np.float32) == 0) | (x == 0)).all(axis=0)
    if vanishing.any():
        column = int(np.argmax(vanishing))
        value = x[np.argmax(x[:, column] != 0), column]
        raise BNNInputError(
            f"Feature {quoted(dataset.feature_names[column])} holds values such as {value:g}, too small for the "
            "network's float32, which would make every one 0; use the standard feature scaling, or rescale it."
        )


def _split_rows(dataset: Dataset, test_size: float, seed: int) -> np.ndarray:
    """The (N,) held-out mask of a plain random split (regression), keeping at least 2 training rows."""
    n_rows = dataset.n_rows
    if test_size == 0:
        return np.zeros(n_rows, dtype=bool)
    n_test = math.ceil(test_size * n_rows)
    if n_rows - n_test < 2:
        raise BNNInputError(
            f"A test share of {test_size:g} leaves {rows_text(n_rows - n_test)} of {n_rows} for training; regression "
            "needs at least 2, so lower the test share."
        )
    _, test_rows = train_test_split(np.arange(n_rows), test_size=n_test, random_state=seed)
    is_test = np.zeros(n_rows, dtype=bool)
    is_test[test_rows] = True
    return is_test


def _split(dataset: Dataset, test_size: float, seed: int) -> np.ndarray:
    """Return the (N,) held-out mask of a stratified split, after checking it is possible."""
    n_rows, n_classes = dataset.n_rows, dataset.n_classes
    if test_size == 0:
        return np.zeros(n_rows, dtype=bool)
    counts = np.bincount(dataset.y, minlength=n_classes)
    smallest = int(np.argmin(counts))
    if counts[smallest] < 2:
        raise BNNInputError(
            f"Class {dataset.class_names[smallest]!r} has only {rows_text(counts[smallest])}, too few to split into "
            "train and test; give every class at least 2 rows or set the test share to 0."
        )
    n_test = math.ceil(test_size * n_rows)
    if n_test < n_classes:
        lowest = math.ceil(100 * n_classes / n_rows) / 100
        raise BNNInputError(
            f"A test share of {test_size:g} holds out {rows_text(n_test)}, fewer than the {n_classes} classes; "
            f"use a test share of at least {lowest:g}, or 0."
        )
    if n_rows - n_test < n_classes:
        raise BNNInputError(
            f"A test share of {test_size:g} leaves {rows_text(n_rows - n_test)} for training {n_classes} classes; "
            "lower the test share."
        )
    _, test_rows = train_test_split(np.arange(n_rows), test_size=n_test, stratify=dataset.y, random_state=seed)
    is_test = np.zeros(n_rows, dtype=bool)
    is_test[test_rows] = True
    trained = np.bincount(dataset.y[~is_test], minlength=n_classes)
    if (trained == 0).any():
        empty = dataset.class_names[int(np.argmin(trained))]
        raise BNNInputError(
            f"A test share of {test_size:g} leaves class {empty!r} without a single training row; lower the test share."
        )
    return is_test
