"""The Laplace approximation around a trained plain network, with the linearised (GLM) predictive.

After MacKay (1992) and Daxberger et al. (2021, "Laplace Redux"), as laplace-torch does it:

- **the weights** θ of the trained network are the posterior's mean; the uncertain ones are all of them when the
  network has at most :data:`DENSE_LIMIT`, else the last layer's (the rest is then a fixed map to features, and the
  network is a linear model of them);
- **the curvature** is the generalised Gauss–Newton matrix (GGN) of the summed training log-likelihood,
  G = Σₙ Jₙᵀ Λₙ Jₙ: Jₙ (C, K) the Jacobian of row n's outputs in the K uncertain weights (``torch.func``, ``vmap`` of
  ``jacrev``), Λₙ (C, C) the Hessian of −log p(yₙ | f) in the outputs f: diag(p) − ppᵀ for a softmax, 1/σ² for
  Gaussian noise. Unlike the Hessian it is positive semi-definite everywhere; it equals the Hessian where the
  outputs are linear in the weights (no hidden layer, or the last layer alone);
- **the prior** is N(0, I/δ) on the uncertain weights, and the posterior N(θ, (G + δI)⁻¹);
- **δ** maximises the Laplace approximation of the log marginal likelihood,
  log Z(δ) = log p(D | θ) − ½ δ ‖θ‖² + ½ K log δ − ½ log det(G + δI),
  with θ and G held fixed, as laplace-torch's ``optimize_prior_precision(method="marglik")`` does. With G's
  eigenvalues λᵢ, d log Z / d log δ = ½ (γ(δ) − δ‖θ‖²), where γ(δ) = Σ λᵢ / (λᵢ + δ) is MacKay's effective number of
  parameters: it falls as δ grows and δ‖θ‖² rises, so the maximum is the single root, found to machine
  precision by Brent's method in log δ (laplace-torch takes 100 Adam steps on log δ instead);
- **the predictive** is the network linearised at θ, f(x, θ') ≈ f(x, θ) + J(x)(θ' − θ), whose outputs are
  N(f(x, θ), J Σ Jᵀ) (:meth:`LaplacePosterior.predictive`). Its S samples are S weight draws θ' ~ N(θ, Σ) pushed
  through the linear model, so each sample is one coherent function of x, and the draws come from a
  ``torch.Generator`` seeded by a key: the same key gives the same S functions on every call.

Everything is computed in float64. No global random state is read. ``benchmarks/laplace_oracle.py`` compares the
precision, δ, the evidence and the predictive with laplace-torch's on trained networks (docs/trust.md).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from scipy.optimize import brentq
from torch.func import jacrev, vmap

from ..errors import BNNInputError
from ..model.likelihood import Categorical, Gaussian, Likelihood
from ..model.network import ACTIVATIONS, NetworkSpec

# The largest number of uncertain weights K whose covariance is kept dense (K × K) and eigendecomposed. Its cost
# grows as K³: measured here on one thread, eigh took 0.2 s at K = 500, 0.7 s at 1,000 and 6.7 s at 2,000 (on a
# machine busy with other work; 31 s at 3,000), and the kept factor takes 8·K² bytes, 32 MB at 2,000, per session.
# 2,000 takes in the 100-unit network on iris (803 weights), two_moons (502) and wine (1,703); breast cancer's
# (3,302) gets the last layer (202).
DENSE_LIMIT = 2_000
PRIOR_PRECISION_RANGE = (1e-8, 1e8)  # where δ is searched; a fit at either end is clipped to it
Structure = Literal["auto", "full", "last_layer"]
STRUCTURES: tuple[Structure, ...] = ("auto", "full", "last_layer")
_CHUNK_FLOATS = 2**22  # float64 values in one block of Jacobians (32 MB): rows are taken this many at a time


@dataclass(frozen=True)
class Subnetwork:
    """A network cut in two: a fixed front (layers before ``first``) and the uncertain rest, whose weights are the
    packed slice :attr:`weights`."""

    spec: NetworkSpec
    first: int  # the index of the first layer whose weights are uncertain: 0 for all of them

    @property
    def weights(self) -> slice:
        """Where the uncertain weights sit in the packed vector (P,): they are its last K entries."""
        return slice(self.spec.layers[self.first].start, self.spec.n_params)

    @property
    def n_weights(self) -> int:
        """K, the number of uncertain weights."""
        return self.spec.n_params - self.spec.layers[self.first].start

    @property
    def structure(self) -> str:
        return "full" if self.first == 0 else "last layer"

    def features(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """What the fixed front computes from inputs x (N, D): the activations (N, width) entering layer ``first``
        (x itself when every weight is uncertain)."""
        if self.first == 0:
            return x
        front = self.spec.split(theta)[: self.first]
        return ACTIVATIONS[self.spec.activation].module()(_forward(front, x, self.spec.activation))

    def head(self, free: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """Outputs (N, C) of the uncertain layers with weights ``free`` (K,) on their inputs h (N, width)."""
        rest = NetworkSpec(self.spec.sizes[self.first :], self.spec.activation)  # the same packed layout, cut
        return _forward(rest.split(free), h, self.spec.activation)


def _forward(layers: list[tuple[torch.Tensor, torch.Tensor]], h: torch.Tensor, activation: str) -> torch.Tensor:
    """One network's outputs (N, out) from inputs h (N, in): affine layers with the activation between them."""
    activate = ACTIVATIONS[activation].module()
    for index, (weight, bias) in enumerate(layers):
        if index:
            h = activate(h)
        h = h @ weight.T + bias
    return h


def subnetwork(spec: NetworkSpec, structure: Structure = "auto") -> Subnetwork:
    """The weights the approximation covers: all of them for ``full`` (or ``auto`` up to :data:`DENSE_LIMIT`),
    else the last layer's.

    Raises:
        BNNInputError: the chosen weights are more than :data:`DENSE_LIMIT`.
    """
    if structure not in STRUCTURES:
        raise ValueError(f"structure must be one of {', '.join(STRUCTURES)}, not {structure!r}")
    everything = structure == "full" or (structure == "auto" and spec.n_params <= DENSE_LIMIT)
    chosen = Subnetwork(spec, 0 if everything else len(spec.layers) - 1)
    if chosen.n_weights > DENSE_LIMIT:
        what = "network" if chosen.first == 0 else "network's last layer"
        raise BNNInputError(
            f"The Laplace approximation is offered for up to {DENSE_LIMIT:,} weights (a dense covariance); this "
            f"{what} has {chosen.n_weights:,}. Use fewer hidden units."
        )
    return chosen


def jacobians(sub: Subnetwork, free: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """Jacobians (N, C, K) of each row's outputs in the uncertain weights ``free`` (K,), at inputs h (N, width)."""

    def one_row(weights: torch.Tensor, row: torch.Tensor) -> torch.Tensor:
        return sub.head(weights, row.unsqueeze(0)).squeeze(0)  # (C,)

    return vmap(jacrev(one_row), in_dims=(None, 0))(free, h)


def output_hessians(outputs: torch.Tensor, likelihood: Likelihood) -> torch.Tensor:
    """Λ (N, C, C): the Hessian of −log p(y | f) in the outputs f (N, C); it does not depend on y.

    Raises:
        BNNInputError: a heteroscedastic noise model (its σ is an output, not a constant).
    """
    if isinstance(likelihood, Categorical):
        p = outputs.softmax(dim=-1)
        return torch.diag_embed(p) - p.unsqueeze(2) * p.unsqueeze(1)
    if isinstance(likelihood, Gaussian) and likelihood.noise != "heteroscedastic":
        precision = torch.exp(-2.0 * likelihood.log_sigma.detach().to(outputs.dtype))
        return precision.expand(len(outputs), 1, 1)
    raise BNNInputError("The Laplace approximation needs one noise σ; the heteroscedastic head predicts its own.")


def _rows_per_block(sub: Subnetwork) -> int:
    """How many rows' Jacobians (C × K floats each) fit in one block of :data:`_CHUNK_FLOATS`."""
    return max(1, _CHUNK_FLOATS // (sub.spec.sizes[-1] * sub.n_weights))


def ggn(sub: Subnetwork, theta: torch.Tensor, x: torch.Tensor, likelihood: Likelihood) -> torch.Tensor:
    """The generalised Gauss–Newton matrix (K, K) of the summed log-likelihood of rows x (N, D) at weights θ (P,):
    Σₙ Jₙᵀ Λₙ Jₙ, the rows taken a block at a time so that no more than 32 MB of Jacobians exist at once."""
    free, h = theta[sub.weights], sub.features(theta, x)
    total = torch.zeros(sub.n_weights, sub.n_weights, dtype=theta.dtype)
    step = _rows_per_block(sub)
    for start in range(0, len(h), step):
        rows = h[start : start + step]
        jac = jacobians(sub, free, rows)  # (n, C, K)
        weighted = output_hessians(sub.head(free, rows), likelihood) @ jac  # (n, C, K)
        total += jac.flatten(0, 1).T @ weighted.flatten(0, 1)
    return (total + total.T) / 2  # exactly symmetric, for eigh


def fit_prior_precision(eigenvalues: torch.Tensor, square_norm: float) -> float:
    """The δ that maximises the Laplace log marginal likelihood, given the GGN's eigenvalues (K,) and ‖θ‖².

    The root of γ(δ) = δ‖θ‖², with γ(δ) = Σ λᵢ / (λᵢ + δ), solved in log δ by Brent's method: the slope
    γ(δ) − δ‖θ‖² falls strictly, so the root is the only maximum. Clipped to :data:`PRIOR_PRECISION_RANGE`.
    """
    lam = eigenvalues.double().clamp(min=0.0)

    def slope(log_delta: float) -> float:  # 2 d log Z / d log δ
        delta = math.exp(log_delta)
        return float((lam / (lam + delta)).sum()) - delta * square_norm

    low, high = (math.log(bound) for bound in PRIOR_PRECISION_RANGE)
    if slope(low) <= 0.0:
        return PRIOR_PRECISION_RANGE[0]
    if slope(high) >= 0.0:
        return PRIOR_PRECISION_RANGE[1]
    return math.exp(brentq(slope, low, high, xtol=1e-12, rtol=1e-12))


@dataclass(frozen=True, eq=False)
class LaplacePosterior:
    """N(θ, (G + δI)⁻¹) on a network's uncertain weights, the others fixed at θ.

    Shape: ``theta`` (P,) float64, every weight as trained; ``eigenvalues`` (K,) and ``eigenvectors`` (K, K) of the
    GGN G, its columns the eigenvectors.
    """

    sub: Subnetwork
    theta: torch.Tensor
    eigenvalues: torch.Tensor
    eigenvectors: torch.Tensor
    prior_precision: float  # δ
    log_likelihood: float  # log p(D | θ), summed over the training rows
    seconds: float  # the curvature and the fit of δ

    @property
    def mean(self) -> torch.Tensor:
        """The uncertain weights' posterior mean (K,): the trained weights."""
        return self.theta[self.sub.weights]

    def precision(self) -> torch.Tensor:
        """G + δI (K, K)."""
        u = self.eigenvectors
        return (u * (self.eigenvalues + self.prior_precision)) @ u.T

    def covariance(self) -> torch.Tensor:
        """Σ = (G + δI)⁻¹ (K, K)."""
        factor = self.factor()
        return factor @ factor.T

    def factor(self) -> torch.Tensor:
        """L (K, K) with L Lᵀ = Σ: the eigenvectors scaled by 1/√(λᵢ + δ)."""
        return self.eigenvectors * (self.eigenvalues + self.prior_precision).rsqrt()

    def log_marginal_likelihood(self, prior_precision: float | None = None) -> float:
        """The Laplace approximation of log p(D | δ) (the 2π terms cancel), at δ = the fitted one by default."""
        delta = self.prior_precision if prior_precision is None else prior_precision
        square_norm = float(self.mean.square().sum())
        log_det = float(torch.log(self.eigenvalues + delta).sum())
        k = len(self.eigenvalues)
        return self.log_likelihood - 0.5 * delta * square_norm + 0.5 * k * math.log(delta) - 0.5 * log_det

    def _blocks(self, x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Outputs (n, C) and Jacobians (n, C, K) of inputs x (N, D), a block of rows at a time."""
        x = x.to(self.theta.dtype)
        free, h = self.mean, self.sub.features(self.theta, x)
        step = _rows_per_block(self.sub)
        return [
            (self.sub.head(free, h[i : i + step]), jacobians(self.sub, free, h[i : i + step]))
            for i in range(0, len(h), step)
        ]

    def predictive(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The GLM predictive of the outputs at inputs x (N, D): means f (N, C) and covariances J Σ Jᵀ (N, C, C)."""
        factor = self.factor()
        means, covariances = [], []
        for outputs, jac in self._blocks(x):
            spread = jac @ factor  # (n, C, K): J L
            means.append(outputs)
            covariances.append(spread @ spread.transpose(1, 2))
        return torch.cat(means), torch.cat(covariances)

    def weight_draws(self, n_samples: int, key: int) -> torch.Tensor:
        """S draws (S, K) of θ' − θ ~ N(0, Σ), from a generator seeded with ``key``: the same for the same key."""
        generator = torch.Generator().manual_seed(key)
        noise = torch.randn(n_samples, self.sub.n_weights, generator=generator, dtype=self.theta.dtype)
        return noise @ self.factor().T

    def output_samples(self, x: torch.Tensor, draws: torch.Tensor) -> torch.Tensor:
        """The linearised network's outputs (S, N, C) at inputs x (N, D) for weight draws (S, K) from
        :meth:`weight_draws`: f(x, θ) + J(x) (θ'ₛ − θ)."""
        parts = [outputs + torch.einsum("nck,sk->snc", jac, draws) for outputs, jac in self._blocks(x)]
        return torch.cat(parts, dim=1)

    def probs(self, x: torch.Tensor, draws: torch.Tensor) -> torch.Tensor:
        """Class probabilities (S, N, C), float32: the softmax of :meth:`output_samples`."""
        return self.output_samples(x, draws).softmax(dim=-1).float()


def fit_laplace(
    spec: NetworkSpec,
    theta: torch.Tensor,
    x: torch.Tensor,
    y: torch.Tensor,
    likelihood: Likelihood,
    structure: Structure = "auto",
    prior_precision: float | None = None,
) -> LaplacePosterior:
    """The Laplace approximation around weights θ (P,) of a network ``spec`` trained on rows x (N, D), targets y (N,).

    Args:
        likelihood: categorical, or Gaussian with one noise σ (held at its value).
        structure: which weights are uncertain (:func:`subnetwork`).
        prior_precision: δ; by default the one that maximises the Laplace log marginal likelihood.

    Raises:
        BNNInputError: too many uncertain weights, or a heteroscedastic noise model.
    """
    started = time.perf_counter()
    sub = subnetwork(spec, structure)
    theta, x = theta.detach().double(), x.double()
    targets = y.double() if y.is_floating_point() else y
    with torch.no_grad():
        outputs = _forward(spec.split(theta), x, spec.activation)
        log_likelihood = -len(y) * float(likelihood.data_term(outputs, targets))
    eigenvalues, eigenvectors = torch.linalg.eigh(ggn(sub, theta, x, likelihood))
    eigenvalues = eigenvalues.clamp(min=0.0)  # G is positive semi-definite; round-off can dip below 0
    square_norm = float(theta[sub.weights].square().sum())
    delta = fit_prior_precision(eigenvalues, square_norm) if prior_precision is None else float(prior_precision)
    if not delta > 0:
        raise ValueError(f"the prior precision must be positive, not {delta}")
    seconds = time.perf_counter() - started
    return LaplacePosterior(sub, theta, eigenvalues, eigenvectors, delta, log_likelihood, seconds)


def predictive_probs(posterior: LaplacePosterior, n_samples: int, key: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """``probs(x)`` (S, N, C) with the same S weight draws, drawn once, on every call: sample s is one function."""
    draws = posterior.weight_draws(n_samples, key)
    return lambda x: posterior.probs(x, draws)
