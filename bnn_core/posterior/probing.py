"""Asking a trained network about places it never saw: uncertainty maps over two features, and single points.

The BNN's answer comes from S posterior samples; the deterministic twin's from
its single softmax. Far from the data, the twin stays confident while the BNN's
samples disagree: that is the article's "truck".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..data.checks import checked_rows
from ..data.geometry import span_range
from ..data.prepared import PreparedData
from .evaluation import posterior_uncertainty
from .sample import sample_probs, twin_probs
from .uncertainty import entropy, point_uncertainty, uncertainty_split

GRID_MARGIN = 0.75  # the map reaches this many data spans beyond the data on every side
TRUCK_STDS = 8.0  # the truck: this many stds from the training mean, off the data's shape
TRUCK = "off the chart (the truck)"  # beyond the data's range in some features: openly impossible
IN_RANGE = "every feature in range, unlike the data"  # inside the per-feature box, far from every row
FINEST_MAP = 100  # points a side of a map
COARSEST_MAP = 40  # the fewest points a side, however wide the network
# Draws × grid points × hidden units of a map: 100 samples of a 100-unit network at 100 × 100 points, under a
# second on one core here. 1,024 units at that resolution took 25 s.
MAP_WORK = 100 * FINEST_MAP**2 * 100


@dataclass(frozen=True, eq=False)
class FeatureGrid:
    """A square grid over two features, the others held fixed.

    Shape: ``xs``, ``ys`` (R,); ``points`` (R·R, D) raw feature rows, y-major, so that
    ``values.reshape(R, R)[j, i]`` belongs to ``(xs[i], ys[j])``.
    """

    x_feature: int
    y_feature: int
    xs: np.ndarray
    ys: np.ndarray
    points: np.ndarray


def map_resolution(hidden_units: int, samples: int, finest: int = FINEST_MAP) -> int:
    """Points a side of a map of ``samples`` draws of a network with ``hidden_units`` in all: ``finest`` while the
    work stays within :data:`MAP_WORK`, fewer for wider networks, never fewer than :data:`COARSEST_MAP`."""
    affordable = int(np.sqrt(MAP_WORK / (max(hidden_units, 1) * max(samples, 1))))
    return int(np.clip(affordable, COARSEST_MAP, finest))


def training_median(data: PreparedData) -> np.ndarray:
    """Per-feature median of the training rows, raw (D,): where a map holds the other features."""
    return np.median(data.dataset.x[~data.is_test], axis=0)


def feature_grid(
    data: PreparedData,
    x_feature: int,
    y_feature: int,
    base: np.ndarray | None = None,
    resolution: int = 100,
    margin: float = GRID_MARGIN,
) -> FeatureGrid:
    """A ``resolution``² grid covering the data of two features and ``margin`` spans beyond it.

    Args:
        base: raw values (D,) for the features not on the axes; the training median by default.

    Raises:
        BNNInputError: ``base`` is not D finite numbers.
    """
    raw = data.dataset.x
    xs, ys = (np.linspace(*span_range(raw[:, feature], margin), resolution) for feature in (x_feature, y_feature))
    held = training_median(data) if base is None else _checked_point(base, data)
    points = np.tile(held, (resolution**2, 1))
    grid_x, grid_y = np.meshgrid(xs, ys)  # (R, R), y-major
    points[:, x_feature] = grid_x.ravel()
    points[:, y_feature] = grid_y.ravel()
    return FeatureGrid(x_feature, y_feature, xs, ys, points)


@dataclass(frozen=True, eq=False)
class GridMap:
    """Predictions over a grid. Shape: every field (R, R), indexed [y, x]."""

    predicted: np.ndarray  # class index
    confidence: np.ndarray  # probability of the predicted class
    entropy: np.ndarray  # total uncertainty, nats
    epistemic: np.ndarray  # mutual information, nats (0 for the deterministic twin)
    aleatoric: np.ndarray  # expected entropy, nats (all of the twin's entropy)


def _grid_map(mean_probs: torch.Tensor, total: torch.Tensor, epistemic: torch.Tensor, shape: int) -> GridMap:
    confidence, predicted = mean_probs.max(dim=-1)
    as_grid = lambda values: values.numpy().reshape(shape, shape)  # noqa: E731
    return GridMap(
        predicted=as_grid(predicted),
        confidence=as_grid(confidence),
        entropy=as_grid(total),
        epistemic=as_grid(epistemic),
        aleatoric=as_grid(total - epistemic),
    )


def bnn_map(model: nn.Sequential, data: PreparedData, grid: FeatureGrid, samples: int, seed: int) -> GridMap:
    """The BNN's posterior-mean prediction and uncertainty at every grid point, from draws 0 … S − 1."""
    u, _ = posterior_uncertainty(model, data.inputs(grid.points), samples, seed)
    return _grid_map(u.mean_probs, u.entropy, u.epistemic, len(grid.xs))


def method_map(probs: Callable[[torch.Tensor], torch.Tensor], data: PreparedData, grid: FeatureGrid) -> GridMap:
    """Any method's map, from its S predictive distributions (S, N, C) at the grid points (one network: S = 1)."""
    mean_probs, total, _, epistemic = uncertainty_split(probs(data.inputs(grid.points)))
    return _grid_map(mean_probs, total, epistemic, len(grid.xs))


def twin_map(twin: nn.Module, data: PreparedData, grid: FeatureGrid) -> GridMap:
    """The deterministic twin's softmax at every grid point; all of its entropy is aleatoric by construction."""
    probs = twin_probs(twin, data.inputs(grid.points))
    return _grid_map(probs, entropy(probs), torch.zeros(len(probs)), len(grid.xs))


@dataclass(frozen=True, eq=False)
class Probe:
    """Both networks' answers at one point.

    Shape: ``point`` (D,) raw; ``sample_probs`` (S, C); ``mean_probs``, ``twin_probs`` (C,).
    """

    point: np.ndarray
    sample_probs: np.ndarray
    mean_probs: np.ndarray
    entropy: float
    aleatoric: float
    epistemic: float
    twin_probs: np.ndarray


def probe(
    model: nn.Sequential, twin: nn.Module, data: PreparedData, point: np.ndarray, samples: int, seed: int
) -> Probe:
    """Ask the BNN (S samples) and the deterministic twin about one raw feature row (D,).

    Raises:
        BNNInputError: ``point`` is not D finite numbers.
    """
    point = _checked_point(point, data)
    x = data.inputs(point.reshape(1, -1))
    probs = sample_probs(model, x, samples, seed)  # (S, 1, C)
    u = point_uncertainty(probs)
    return Probe(
        point=point,
        sample_probs=probs[:, 0].numpy(),
        mean_probs=u.mean_probs[0].numpy(),
        entropy=float(u.entropy[0]),
        aleatoric=float(u.aleatoric[0]),
        epistemic=float(u.epistemic[0]),
        twin_probs=twin_probs(twin, x)[0].numpy(),
    )


@dataclass(frozen=True, eq=False)
class Answer:
    """Any method's answer at one point. Shape: ``mean_probs`` (C,)."""

    mean_probs: np.ndarray
    epistemic: float  # nats; 0 for one network


def method_answer(probs: Callable[[torch.Tensor], torch.Tensor], data: PreparedData, point: np.ndarray) -> Answer:
    """A method's mean prediction and epistemic uncertainty at one raw feature row (D,), from its (S, 1, C).

    Raises:
        BNNInputError: ``point`` is not D finite numbers.
    """
    u = point_uncertainty(probs(data.inputs(_checked_point(point, data).reshape(1, -1))))
    return Answer(mean_probs=u.mean_probs[0].numpy(), epistemic=float(u.epistemic[0]))


def probe_presets(data: PreparedData) -> dict[str, np.ndarray]:
    """Named raw points (D,): a typical member of each class, a point between the two closest classes, and two
    off the data along the direction it varies least: :data:`IN_RANGE`, as far as every feature's training range
    allows, and :data:`TRUCK`, 8 stds out, where some features leave their range (on iris: a petal 18 cm long)."""
    raw, labels, names = data.dataset.x, data.dataset.y, data.dataset.class_names
    train = ~data.is_test
    presets = {f"typical {name}": np.median(raw[train & (labels == c)], axis=0) for c, name in enumerate(names)}
    centres = np.stack([raw[train & (labels == c)].mean(axis=0) for c in range(len(names))])
    scale = raw[train].std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    gaps = np.linalg.norm((centres[:, None] - centres[None]) / scale, axis=-1) + np.diag(np.full(len(names), np.inf))
    a, b = np.unravel_index(np.argmin(gaps), gaps.shape)
    a, b = sorted((int(a), int(b)))
    presets[f"between {names[a]} and {names[b]}"] = (centres[a] + centres[b]) / 2
    mean = raw[train].mean(axis=0)
    direction = _off_data_direction((raw[train] - mean) / scale)
    presets[IN_RANGE] = _inside_the_ranges(raw[train], mean, scale, direction)
    presets[TRUCK] = mean + TRUCK_STDS * scale * direction
    return presets


def _inside_the_ranges(rows: np.ndarray, mean: np.ndarray, scale: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """The point (D,) reached from the rows' (N, D) mean along ±``direction`` (in stds) until a feature meets the end
    of its training range; of the two ways, the one that goes further. Every feature stays inside its range, yet
    the combination lies far outside the data's shape (a large Mahalanobis distance)."""
    low, high = rows.min(axis=0), rows.max(axis=0)
    best = mean
    for step in (scale * direction, -scale * direction):
        moving = step != 0
        ends = np.where(step > 0, high, low)[moving]
        reach = float(np.min((ends - mean[moving]) / step[moving])) if moving.any() else 0.0
        if reach * np.linalg.norm(step / scale) > np.linalg.norm((best - mean) / scale):
            best = mean + reach * step
    return best


def _off_data_direction(standardised: np.ndarray) -> np.ndarray:
    """The direction (D,) in which the standardised rows (N, D) vary least, largest component +1.

    Going far along it leaves the shape of the data, not only its range: every
    feature stays plausible on its own, but their combination was never seen.
    """
    covariance = np.atleast_2d(np.cov(standardised, rowvar=False))
    _, vectors = np.linalg.eigh(covariance)  # eigenvalues ascending
    direction = vectors[:, 0]
    return direction / direction[np.argmax(np.abs(direction))]


def _checked_point(point: np.ndarray, data: PreparedData) -> np.ndarray:
    """One raw feature row (D,) as float64, refused with one sentence if it is not D finite numbers."""
    return checked_rows(np.asarray(point).reshape(1, -1), data.dataset.n_features, "the point")[0]
