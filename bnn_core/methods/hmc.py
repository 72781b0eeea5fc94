"""A reference posterior for small networks: NUTS on the project's own network and prior.

The posterior is the packed parameter vector θ (P,) in :class:`~bnn_core.model.network.NetworkSpec`'s layout, every
entry N(prior_mu, prior_sigma²), and the likelihood of the training rows: categorical on the logits, or Gaussian
around the network's output with a fixed noise σ.

Two samplers draw from it (``HMCConfig.sampler``): ``compiled``, NUTS in numba on the compiled trainer's own
forward and backward pass (:mod:`bnn_core.methods.nuts`), the default; and ``pyro``, pyro's NUTS with a
JIT-compiled potential (:mod:`bnn_core.methods.pyro_nuts`), the library reference the compiled one is checked and
timed against (docs/performance.md, "The HMC reference").

A network's posterior has one copy of every mode per permutation of its hidden units (and per sign flip for tanh),
so each chain explores its own copy and R-hat of the weights says nothing. Like Izmailov et al. (2021, "What are
Bayesian neural network posteriors really like?"), R-hat and ESS are measured in function space: on the predicted
class probabilities, or predicted means, of the training rows and of the map's grid
(:mod:`bnn_core.methods.mixing`: rank-normalised split R-hat and bulk ESS).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from ..config import RunConfig
from ..data.checks import checked_inputs, checked_rows
from ..data.prepared import PreparedData
from ..errors import BNNInputError
from ..model.likelihood import Categorical, Gaussian
from ..model.network import NetworkSpec
from ..posterior.probing import feature_grid
from ..posterior.regression import axis_grid
from ..seeds import HMC, stream_seed
from . import nuts
from .mixing import bulk_ess, rank_rhat
from .options import HMCConfig

MAX_HIDDEN_LAYERS = 2
MAX_HIDDEN_UNITS = 32
MAX_ROWS = 500  # each leapfrog step is a full-batch gradient, and a draw costs up to 2^depth − 1 of them
LIKELIHOODS = ("categorical", "gaussian")
MAP_RESOLUTION = 50  # R-hat and ESS cover an R × R grid over the map's extent (a curve of R points for one feature)
_CHUNK_FLOATS = 1 << 22  # the widest activations (S, units, N) of one chunk of draws, in float64 values: 32 MB


@dataclass(frozen=True)
class HMCProgress:
    """Where a run is, as reported after every NUTS iteration."""

    chain: int  # the running chain, 0 … chains − 1
    chains: int
    iteration: int  # iterations this chain has finished, 1 … iterations
    iterations: int  # warmup + samples, per chain
    warmup: bool  # the iteration was an adaptation step, not a kept draw
    elapsed: float  # seconds since the run started

    @property
    def fraction(self) -> float:
        """The share of the whole run's iterations done, in (0, 1]."""
        return (self.chain * self.iterations + self.iteration) / (self.chains * self.iterations)


@dataclass(frozen=True, eq=False)
class HMCPosterior:
    """NUTS draws of a network's parameters and how well the chains mixed.

    Shape: ``samples`` (S, P) float64 packed draws, S = chains × samples, chain by chain.
    """

    spec: NetworkSpec
    samples: np.ndarray
    likelihood: str  # "categorical" (outputs are logits) or "gaussian" (the output is the mean)
    rhat_max: float  # rank-normalised split R-hat of the predictions; above ~1.01 the chains disagree
    rhat_median: float
    ess_min: float  # bulk effective sample size of the same predictions, over all chains
    ess_median: float
    divergences: int  # kept iterations whose trajectory diverged, over all chains
    accept_prob: float  # mean acceptance probability of the kept iterations, averaged over chains
    leapfrogs: float  # mean leapfrog steps (gradients) per iteration, warm-up included; NaN for pyro (it won't say)
    seconds: float  # wall time of the sampling, warm-up included
    config: HMCConfig
    _last_probs: dict = field(default_factory=dict, repr=False, compare=False)  # see probs

    @torch.no_grad()
    def outputs(self, x: torch.Tensor) -> torch.Tensor:
        """The raw outputs (S, N, K) float32 of every draw at inputs x (N, D): logits, or the regression mean."""
        x = checked_inputs(x, self.spec.sizes[0], "the inputs")
        return _outputs(self.spec, torch.from_numpy(self.samples), x.double()).float()

    @torch.no_grad()
    def probs(self, x: torch.Tensor) -> torch.Tensor:
        """The class probabilities (S, N, C) float32 of every draw at inputs x (N, D). The last inputs' answer is
        kept: the Methods page asks for the map's grid twice (its table and its map), 1,200 draws at 3,600 points
        each time."""
        if self.likelihood != "categorical":
            raise ValueError("class probabilities need a categorical posterior")
        x = checked_inputs(x, self.spec.sizes[0], "the inputs")
        key = (tuple(x.shape), hashlib.sha256(x.double().contiguous().numpy().tobytes()).digest())
        last = self._last_probs.get("last")  # one (key, probs) pair, swapped whole: sessions share a reference
        if last is not None and last[0] == key:
            return last[1]
        # The softmax runs over the classes in the network's own layout, points last: over the last axis of the
        # transposed (S, N, C) it took 9× as long (0.30 s against 0.035 s for 1,200 draws at 3,600 points).
        logits = _stacked(self.spec, torch.from_numpy(self.samples), x.double())  # (S, C, N)
        probs = logits.softmax(dim=1).float().transpose(1, 2).contiguous()
        self._last_probs["last"] = (key, probs)
        return probs

    @property
    def seconds_per_draw(self) -> float:
        """Wall time per kept draw, the warm-up's share included."""
        return self.seconds / len(self.samples)


class _Cancelled(Exception):
    """Raised from a chain's report when ``on_progress`` asks to stop."""


def check_hmc_size(spec: NetworkSpec, n_rows: int) -> None:
    """Refuse a network or a training set too big for NUTS to sample in minutes.

    Raises:
        BNNInputError: more than MAX_HIDDEN_LAYERS hidden layers, one wider than MAX_HIDDEN_UNITS, or more than
            MAX_ROWS training rows.
    """
    hidden = spec.sizes[1:-1]
    if len(hidden) > MAX_HIDDEN_LAYERS or max(hidden, default=0) > MAX_HIDDEN_UNITS:
        layers = "1 hidden layer" if len(hidden) == 1 else f"{len(hidden)} hidden layers"
        widths = " and ".join(", ".join(map(str, hidden)).rsplit(", ", 1))
        raise BNNInputError(
            f"HMC is offered for networks of at most {MAX_HIDDEN_LAYERS} hidden layers of at most "
            f"{MAX_HIDDEN_UNITS} units; this one has {layers} of {widths} units."
        )
    if n_rows > MAX_ROWS:
        raise BNNInputError(f"HMC is offered for at most {MAX_ROWS} training rows; this set has {n_rows}.")


def hmc_posterior(
    spec: NetworkSpec,
    x: torch.Tensor,
    y: torch.Tensor,
    config: HMCConfig,
    seed: int,
    likelihood: str = "categorical",
    noise_sigma: float = 1.0,
    on_progress: Callable[[HMCProgress], bool | None] | None = None,
    watch: torch.Tensor | None = None,
) -> HMCPosterior | None:
    """Sample the posterior of ``spec``'s network on training rows x (N, D) with NUTS.

    Args:
        y: (N,) int64 class numbers (categorical), or (N,) float targets (gaussian).
        seed: chain c starts from stream ``stream_seed(stream_seed(seed, HMC), c)``.
        noise_sigma: the gaussian likelihood's fixed σ, in the units of y.
        on_progress: called after every iteration; returning True cancels the run.
        watch: more inputs (M, D) whose predictions R-hat and ESS cover besides the training rows' (a map's grid).

    Returns:
        The posterior, or None when ``on_progress`` cancelled it.

    Raises:
        BNNInputError: the network or the data is too big, or x or y is not valid training data.
    """
    rows = torch.from_numpy(checked_rows(x, spec.sizes[0], "the training inputs"))  # (N, D) float64
    check_hmc_size(spec, len(rows))
    targets = _checked_targets(y, len(rows), spec.sizes[-1], likelihood, noise_sigma)
    run_chain = _chain_runner(spec, rows, targets, likelihood, noise_sigma, config)
    start = time.perf_counter()
    chains = []
    try:
        for chain in range(config.chains):
            report = _reporter(on_progress, chain, config, start)
            chains.append(run_chain(_chain_key(seed, chain), report))
    except _Cancelled:
        return None
    seconds = time.perf_counter() - start
    samples = torch.from_numpy(np.stack([chain.draws for chain in chains]))  # (chains, samples, P)
    points = rows if watch is None else torch.cat([rows, checked_inputs(watch, spec.sizes[0], "the inputs").double()])
    predictions = _outputs(spec, samples.flatten(0, 1), points)  # (chains·samples, M, K)
    if likelihood == "categorical":
        predictions = predictions.softmax(dim=-1)
    return HMCPosterior(
        spec=spec,
        samples=samples.flatten(0, 1).numpy(),
        likelihood=likelihood,
        **_function_space(predictions.unflatten(0, samples.shape[:2])),
        divergences=sum(chain.divergences for chain in chains),
        accept_prob=float(np.mean([chain.accept_prob for chain in chains])),
        leapfrogs=float(np.mean([chain.leapfrogs for chain in chains])) if config.sampler == "compiled" else math.nan,
        seconds=seconds,
        config=config,
    )


def _chain_runner(
    spec: NetworkSpec, x: torch.Tensor, y: torch.Tensor, likelihood: str, noise_sigma: float, config: HMCConfig
) -> Callable[[int, Callable[[int, bool], None]], nuts.Chain]:
    """``run(key, report)``: one chain of ``config.sampler`` on rows x (N, D) float64 and targets y (N,)."""
    settings = (config.samples, config.warmup, config.max_tree_depth, config.target_accept)
    if config.sampler == "pyro":
        from . import pyro_nuts  # imports pyro, a second or two: only when asked for

        return lambda key, report: pyro_nuts.run_chain(spec, x, y, likelihood, noise_sigma, *settings, key, report)
    nuts.warm_up()  # before the clock starts: sampling time never includes numba's compile
    posterior = nuts.target(spec, x, y, likelihood, noise_sigma)
    return lambda key, report: nuts.run_chain(spec, posterior, *settings, key, report)


def _chain_key(seed: int, chain: int) -> int:
    """Chain ``chain``'s 63-bit seed: its own stream under the run's HMC stream."""
    return stream_seed(stream_seed(seed, HMC), chain)


def _checked_targets(y: torch.Tensor, n_rows: int, n_outputs: int, likelihood: str, noise_sigma: float) -> torch.Tensor:
    """y as the likelihood takes it, (N,) int64 or float64, checked by the project's likelihoods."""
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {', '.join(LIKELIHOODS)}, not {likelihood!r}")
    if likelihood == "categorical":
        Categorical().check_targets(y, n_rows, n_outputs)
        return y.long()
    Gaussian("fixed", noise_sigma).check_targets(y, n_rows, n_outputs)
    return y.double()


def _reporter(
    on_progress: Callable[[HMCProgress], bool | None] | None, chain: int, config: HMCConfig, start: float
) -> Callable[[int, bool], None]:
    """What a chain calls after each iteration: tells ``on_progress``, and raises _Cancelled if it answers True."""

    def report(iteration: int, warmup: bool) -> None:
        if on_progress is None:
            return
        elapsed = time.perf_counter() - start
        progress = HMCProgress(chain, config.chains, iteration, config.warmup + config.samples, warmup, elapsed)
        if on_progress(progress):
            raise _Cancelled

    return report


def _outputs(spec: NetworkSpec, samples: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The outputs (S, N, K) of S packed draws (S, P) at rows x (N, D)."""
    return _stacked(spec, samples, x).transpose(1, 2)


def _stacked(spec: NetworkSpec, samples: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The outputs (S, K, N) of S packed draws (S, P) at rows x (N, D), as the network lays them out, in chunks of
    draws that keep the widest activations under _CHUNK_FLOATS values."""
    per_draw = max(spec.sizes[1:]) * len(x)
    step = max(1, _CHUNK_FLOATS // per_draw)
    return torch.cat([spec.forward_samples(spec.split(samples[i : i + step]), x) for i in range(0, len(samples), step)])


def _function_space(predictions: torch.Tensor) -> dict[str, float]:
    """The largest and median R-hat, and the smallest and median bulk ESS, over every prediction
    (chains, samples, N, K); NaN when no prediction varies.

    A prediction that is the same in every draw (a probability saturated at exactly 0 or 1 in float64) says nothing
    about mixing, so it is left out.
    """
    chains, samples = predictions.shape[:2]
    draws = predictions.reshape(chains, samples, -1).permute(2, 0, 1).numpy()  # (N·K, chains, samples)
    draws = draws[draws.std(axis=(1, 2)) > 0]
    if not len(draws):
        return dict.fromkeys(("rhat_max", "rhat_median", "ess_min", "ess_median"), float("nan"))
    rhat, ess = rank_rhat(draws), bulk_ess(draws)
    return {
        "rhat_max": float(rhat.max()),
        "rhat_median": float(np.median(rhat)),
        "ess_min": float(ess.min()),
        "ess_median": float(np.median(ess)),
    }


def map_points(data: PreparedData) -> np.ndarray:
    """Raw inputs (M, D) over the map's extent whose predictions R-hat and ESS cover: a MAP_RESOLUTION² grid over
    the first two features (the maps' default axes), or a curve of MAP_RESOLUTION points along a single feature."""
    if data.dataset.task == "regression" or data.dataset.n_features < 2:
        return axis_grid(data, feature=0, points=MAP_RESOLUTION)
    return feature_grid(data, 0, 1, resolution=MAP_RESOLUTION).points


def hmc_spec(data: PreparedData, run_config: RunConfig) -> NetworkSpec:
    """The network HMC samples for ``run_config`` on ``data``, refused when HMC cannot take it.

    Raises:
        BNNInputError: the network or the training set is too big, or the run is a regression whose noise σ is not
            fixed.
    """
    regression = data.dataset.task == "regression"
    if regression and run_config.model.noise != "fixed":
        raise BNNInputError("HMC samples regression with a fixed noise σ only; set the noise model to fixed.")
    n_outputs = 1 if regression else data.dataset.n_classes
    spec = NetworkSpec.for_data(data.dataset.n_features, n_outputs, run_config.model)
    check_hmc_size(spec, int(data.train_mask.sum()))
    return spec


def run_hmc(
    data: PreparedData,
    run_config: RunConfig,
    hmc_config: HMCConfig,
    on_progress: Callable[[HMCProgress], bool | None] | None = None,
) -> HMCPosterior | None:
    """The reference posterior of ``run_config``'s network on ``data``'s training rows (``data`` prepared with
    ``run_config.data`` and ``run_config.seed``), its R-hat and ESS over the training rows and :func:`map_points`;
    None when cancelled.

    Raises:
        BNNInputError: the run is too big for HMC, or is a regression whose noise σ is not fixed.
    """
    spec = hmc_spec(data, run_config)
    x, y = data.x[data.train_mask], data.y[data.train_mask]
    likelihood = "gaussian" if data.dataset.task == "regression" else "categorical"
    noise_sigma = run_config.model.noise_sigma / data.target_std  # in the units the network is trained in
    watch = data.inputs(map_points(data))
    return hmc_posterior(spec, x, y, hmc_config, run_config.seed, likelihood, noise_sigma, on_progress, watch)
