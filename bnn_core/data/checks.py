"""Checks of arrays at the API boundary: rows of features passed to training, sampling, probes, maps or a loaded
run.

A wrong feature count, a non-numeric dtype, NaN or infinity, a value too large for the
network's float32 is refused with one sentence, instead
of a shape error from deep inside torch, memory written out of bounds by a compiled
kernel, or a silently NaN answer.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import BNNInputError


def checked_rows(values: object, n_features: int, what: str) -> np.ndarray:
    """``values`` as float64 rows (M, n_features), or a BNNInputError naming the problem.

    Args:
        values: a NumPy array, torch tensor or nested list of shape (M, n_features).
        what: how the caller names the values in the message, e.g. "the probe point".
    """
    array = _as_array(values, what)
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise BNNInputError(f"{_capital(what)} must hold real numbers, got values of type {array.dtype}.")
    if array.ndim != 2 or array.shape[1] != n_features:
        raise BNNInputError(
            f"{_capital(what)} must be rows of {n_features} feature values, got an array of shape {array.shape}."
        )
    rows = array.astype(np.float64, copy=False)
    _refuse_non_finite(rows, what, "every value must be finite")
    return rows


def network_inputs(rows: np.ndarray, what: str) -> torch.Tensor:
    """Checked float64 rows (M, D) as the network's float32 tensor (M, D), refusing values beyond float32's range."""
    inputs = rows.astype(np.float32)
    _refuse_non_finite(inputs, what, f"every value must lie within ±{np.finfo(np.float32).max:.1e}", shown=rows)
    return torch.from_numpy(inputs)


def checked_inputs(x: object, n_features: int, what: str) -> torch.Tensor:
    """``x`` (N, n_features) as a float32 tensor for a network, checked as :func:`checked_rows` does."""
    if isinstance(x, torch.Tensor) and x.dtype == torch.float32 and x.dim() == 2 and x.shape[1] == n_features:
        if not torch.isfinite(x).all():
            checked_rows(x, n_features, what)  # raises, naming the first bad value
        return x
    return network_inputs(checked_rows(x, n_features, what), what)


def check_training_inputs(x: torch.Tensor, n_features: int) -> None:
    """Refuse training inputs a network of ``n_features`` inputs cannot learn from. Shape: x (N, n_features).

    The targets are the likelihood's to check (:mod:`bnn_core.model.likelihood`).
    """
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise BNNInputError("The training inputs must be a floating-point torch tensor.")
    checked_rows(x, n_features, "the training inputs")


def _as_array(values: object, what: str) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    try:
        return np.asarray(values)
    except (ValueError, TypeError):
        raise BNNInputError(f"{_capital(what)} must be rows of equal length holding numbers.") from None


def _refuse_non_finite(rows: np.ndarray, what: str, rule: str, shown: np.ndarray | None = None) -> None:
    """Name the first value of ``rows`` that is not finite (as ``shown`` holds it, if given)."""
    bad = np.argwhere(~np.isfinite(rows))
    if len(bad):
        row, column = (int(i) for i in bad[0])
        value = (rows if shown is None else shown)[row, column]
        raise BNNInputError(f"Row {row}, feature {column} of {what} is {value:g}; {rule}.")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
