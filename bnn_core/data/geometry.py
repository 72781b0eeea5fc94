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
