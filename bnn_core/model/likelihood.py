"""The data term of the loss: what a network's outputs mean, and how far they are from the targets.

- :class:`Categorical`: C logits, softmax; the data term is the mean cross-entropy (classification).
- :class:`Gaussian`: y ~ N(f(x), σ²) (regression), with one of three noise models:
  ``learned`` (one σ for every input, trained with the network), ``fixed`` (σ given by the user),
  or ``heteroscedastic`` (the network's second output is log σ(x)).

Either way the loss is ``data term + kl_weight × KL``, the KL in torchbnn ``BKLLoss`` units, so the
KL weight and reduction mean the same thing for both tasks. The data term is a mean over rows.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..data.checks import checked_rows
from ..errors import BNNInputError

NOISE_MODELS = ("learned", "fixed", "heteroscedastic")
# The heteroscedastic head's log σ(x) is clamped to ±this (in the units the network sees): a weight drawn from a wide
# prior can put log σ at 40, whose exp(−2 log σ) underflows and whose σ overflows the bands.
LOG_STD_LIMIT = 7.0
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


class Categorical(nn.Module):
    """Softmax over the network's C outputs; targets are class numbers 0 … C − 1."""

    task = "classification"
    score_name = "train accuracy"

    def n_outputs(self, n_classes: int) -> int:
        return n_classes

    def data_term(self, outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy () of logits (N, C) against labels (N,)."""
        return nn.functional.cross_entropy(outputs, y)

    @torch.no_grad()
    def score(self, outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Share of rows whose largest logit is their label, ()."""
        return (outputs.argmax(dim=1) == y).to(outputs.dtype).mean()

    def check_targets(self, y: torch.Tensor, n_rows: int, n_outputs: int) -> None:
        if not isinstance(y, torch.Tensor) or y.dtype not in (torch.int64, torch.int32) or y.shape != (n_rows,):
            shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
            raise BNNInputError(f"The training labels must be {n_rows} integers, one per row, got {shape}.")
        if n_rows == 0:
            raise BNNInputError("There are no training rows.")
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= n_outputs:
            raise BNNInputError(
                f"The training labels must be class numbers from 0 to {n_outputs - 1}, got labels from {low} to {high}."
            )


class Gaussian(nn.Module):
    """y ~ N(f(x), σ²): the network's first output is the mean; σ comes from the noise model.

    Args:
        noise: ``learned``, ``fixed`` or ``heteroscedastic`` (see the module docstring).
        sigma: the noise σ in the units of the targets the network sees: the fixed value, or where a
            learned σ starts. Unused by ``heteroscedastic``.
    """

    task = "regression"
    score_name = "train RMSE"

    def __init__(self, noise: str = "learned", sigma: float = 1.0) -> None:
        super().__init__()
        if noise not in NOISE_MODELS:
            raise BNNInputError(f"The noise model must be one of {', '.join(NOISE_MODELS)}; got {noise!r}.")
        if not (math.isfinite(sigma) and sigma > 0):
            raise BNNInputError(f"The noise sigma must be a positive number, got {sigma!r}.")
        self.noise = noise
        start = torch.tensor(math.log(sigma), dtype=torch.float64)
        # Trained by the optimiser only when learned; a buffer otherwise, so it is saved but never moves.
        if noise == "learned":
            self.log_sigma = nn.Parameter(start)
        else:
            self.register_buffer("log_sigma", start)

    def n_outputs(self, n_classes: int) -> int:
        """1 (the mean), or 2 (mean, log σ) for the heteroscedastic head; ``n_classes`` is unused."""
        return 2 if self.noise == "heteroscedastic" else 1

    def mean(self, outputs: torch.Tensor) -> torch.Tensor:
        """The predicted mean (N,) from outputs (N, K)."""
        return outputs[:, 0]

    def log_std(self, outputs: torch.Tensor) -> torch.Tensor:
        """log σ (N,) of each row's noise, from outputs (N, K)."""
        if self.noise == "heteroscedastic":
            return outputs[:, 1].clamp(-LOG_STD_LIMIT, LOG_STD_LIMIT)
        return self.log_sigma.to(outputs.dtype).expand(len(outputs))

    def data_term(self, outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean Gaussian negative log-likelihood () of targets y (N,), with the ½ log 2π."""
        log_std = self.log_std(outputs)
        z = (y - self.mean(outputs)) * torch.exp(-log_std)
        return (_HALF_LOG_2PI + log_std + 0.5 * z * z).mean()

    @torch.no_grad()
    def score(self, outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Root mean squared error () of the mean."""
        return (self.mean(outputs) - y).square().mean().sqrt()

    def check_targets(self, y: torch.Tensor, n_rows: int, n_outputs: int) -> None:
        if not isinstance(y, torch.Tensor) or not y.is_floating_point() or y.shape != (n_rows,):
            shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
            raise BNNInputError(f"The training targets must be {n_rows} real numbers, one per row, got {shape}.")
        if n_rows == 0:
            raise BNNInputError("There are no training rows.")
        checked_rows(y.reshape(-1, 1), 1, "the training targets")
        if n_outputs != self.n_outputs(0):
            raise ValueError(f"the {self.noise} noise model needs {self.n_outputs(0)} network outputs, not {n_outputs}")


Likelihood = Categorical | Gaussian
