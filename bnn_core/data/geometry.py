"""Where the data is: ranges that reach a margin past it, and whether points fall inside it.

The uncertainty map, the probe's sliders and the charts all ask these two questions; the
answers are written once here.
"""

from __future__ import annotations

import numpy as np


def span_range(values: np.ndarray, margin: float) -> tuple[float, float]:
    """From ``margin`` spans below the smallest value to ``margin`` spans above the largest (values (N,)).

    A constant feature has no span; it gets a span of 1 so the range is never empty.
    """
    low, high = float(np.min(values)), float(np.max(values))
    span = high - low or 1.0
    return low - margin * span, high + margin * span


def inside_data(points: np.ndarray, data: np.ndarray) -> np.ndarray:
    """For each point (M, D), whether every feature lies within the data's range (N, D) of that feature: (M,) bool."""
    low, high = data.min(axis=0), data.max(axis=0)
    return ((points >= low) & (points <= high)).all(axis=1)


def features_outside(point: np.ndarray, data: np.ndarray) -> list[int]:
    """Indices of the features of one point (D,) that lie outside the data's range (N, D)."""
    low, high = data.min(axis=0), data.max(axis=0)
    return [int(j) for j in np.flatnonzero((point < low) | (point > high))]


def gap_points(values: np.ndarray, designed: tuple[float, float] | None = None) -> np.ndarray:
    """The left edge, the middle and the right edge (3,) of a 1-D input's gap: ``designed`` when the data was
    generated with one (sine_gap's (−1, 1)), else the widest interval between neighbouring ``values`` (N,).

    On data without a gap of its own this is the widest spacing between two inputs, as well known at its middle as
    at its ends: a ratio of stds there (:func:`~bnn_core.methods.regression_table.middle_over_edges`) sits near 1.
    """
    if designed is not None:
        low, high = designed
    else:
        ordered = np.unique(values)
        if len(ordered) < 2:
            raise ValueError("a gap needs at least two different input values")
        widest = int(np.argmax(np.diff(ordered)))
        low, high = float(ordered[widest]), float(ordered[widest + 1])
    return np.array([low, (low + high) / 2, high])
