"""Checks of arrays at the API boundary: rows of features passed to sampling, probes, maps or a loaded run.

A wrong feature count, a non-numeric dtype, or NaN or infinity is refused with one
sentence, instead of a shape error from deep inside torch or a silently NaN answer.
"""

from __future__ import annotations

import numpy as np
import torch

from .errors import BNNInputError


def checked_rows(values: object, n_features: int, what: str) -> np.ndarray:
    """``values`` as float64 rows (M, n_features), or a BNNInputError naming the problem.

    Args:
        values: a NumPy array, torch tensor or nested list of shape (M, n_features).
        what: how the caller names the values in the message, e.g. "the probe point".
    """
    array = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise BNNInputError(f"{_capital(what)} must hold real numbers, got values of type {array.dtype}.")
    if array.ndim != 2 or array.shape[1] != n_features:
        raise BNNInputError(
            f"{_capital(what)} must be rows of {n_features} feature values, got an array of shape {array.shape}."
        )
    rows = array.astype(np.float64, copy=False)
    bad = np.argwhere(~np.isfinite(rows))
    if len(bad):
        row, column = (int(i) for i in bad[0])
        raise BNNInputError(
            f"{_capital(what)} hold {rows[row, column]} at row {row}, feature {column}; every value must be finite."
        )
    return rows


def checked_inputs(x: object, n_features: int, what: str) -> torch.Tensor:
    """``x`` (N, n_features) as a float32 tensor for a network, checked as :func:`checked_rows` does."""
    if isinstance(x, torch.Tensor) and x.dtype == torch.float32 and x.dim() == 2 and x.shape[1] == n_features:
        if not torch.isfinite(x).all():
            checked_rows(x, n_features, what)  # raises, naming the first bad value
        return x
    return torch.from_numpy(checked_rows(x, n_features, what).astype(np.float32))


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
