"""A reference posterior for small networks: NUTS (pyro) on the project's own network and prior.

The model is the packed parameter vector θ (P,) in :class:`~bnn_core.model.network.NetworkSpec`'s layout, every entry
N(prior_mu, prior_sigma²), and the likelihood of the training rows: categorical on the logits, or Gaussian around
the network's output with a fixed noise σ. The forward pass is ``spec.forward_samples``, the one model definition.

A network's posterior has one copy of every mode per permutation of its hidden units (and per sign flip for tanh),
so each chain explores its own copy and R-hat of the weights says nothing. Like Izmailov et al. (2021, "What are
Bayesian neural network posteriors really like?"), split R-hat and ESS are measured in function space: on the
predicted class probabilities, or predicted means, of the training rows.

Chains run one after another in this process. pyro draws from torch's global generator and keeps its handler stack
in a module global, so each chain holds :data:`_SAMPLING` and a forked, seeded global generator: the same seed gives
the same draws in any thread, and nobody else's random state moves. The project's own code never draws from the
global generator (docs/design.md, Habits, 3), so nothing can step on it while a chain runs.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from pyro.infer import MCMC, NUTS
from pyro.infer.autoguide.initialization import init_to_sample
from pyro.ops.stats import effective_sample_size, split_gelman_rubin
from safetensors import safe_open
from safetensors.numpy import save_file

from ..config import DataConfig, ModelConfig, RunConfig
from ..data.checks import checked_inputs, checked_rows
from ..data.prepared import PreparedData
from ..errors import BNNInputError
from ..model.likelihood import Categorical, Gaussian
from ..model.network import NetworkSpec
from ..seeds import HMC, stream_seed

MAX_HIDDEN_LAYERS = 2
MAX_HIDDEN_UNITS = 32
MAX_ROWS = 500  # each leapfrog step is a full-batch gradient, and a draw costs up to 2^depth − 1 of them
LIKELIHOODS = ("categorical", "gaussian")
REFERENCE_DATASETS = ("two_moons", "circles")  # the sets whose references ship in references/
REFERENCES = Path(__file__).resolve().parents[2] / "references"
_CHUNK_FLOATS = 1 << 22  # the widest activations (S, units, N) of one chunk of draws, in float64 values: 32 MB
_SAMPLING = threading.Lock()  # pyro's handler stack and torch's global generator are process-wide
# (low, high, why) of each HMCConfig field, for its one-sentence refusal.
_BOUNDS: dict[str, tuple[float, float, str]] = {
    "samples": (10, 5000, ""),
    "warmup": (10, 5000, ""),
    "chains": (2, 8, " (R-hat compares at least 2 chains)"),
    "max_tree_depth": (1, 12, ""),
    "target_accept": (0.5, 0.99, ""),
}


@dataclass(frozen=True)
class HMCConfig:
    """How NUTS runs; every chain has the same settings."""

    samples: int = 200  # kept draws per chain
    warmup: int = 200  # adaptation iterations per chain (step size and a diagonal mass matrix), discarded
    chains: int = 2  # run one after another in this process, each from its own seed and prior draw
    max_tree_depth: int = 8  # an iteration takes at most 2^depth − 1 leapfrog steps
    target_accept: float = 0.8  # the mean acceptance probability the step-size adaptation aims for

    def __post_init__(self) -> None:
        for name, (low, high, why) in _BOUNDS.items():
            value = getattr(self, name)
            whole = isinstance(low, int)
            kind = (int,) if whole else (int, float)
            if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
                rule = f"a whole number from {low} to {high}" if whole else f"a number from {low} to {high}"
                raise BNNInputError(f"HMC {name.replace('_', ' ')} must be {rule}{why}, not {value!r}.")


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
    rhat_max: float  # split R-hat of the training rows' predictions; above ~1.1 the chains disagree
    rhat_median: float
    ess_min: float  # effective sample size of the same predictions, over all chains
    ess_median: float
    divergences: int  # kept iterations whose trajectory diverged, over all chains
    accept_prob: float  # mean acceptance probability of the kept iterations, averaged over chains
    seconds: float  # wall time of the sampling
    config: HMCConfig

    @torch.no_grad()
    def outputs(self, x: torch.Tensor) -> torch.Tensor:
        """The raw outputs (S, N, K) float32 of every draw at inputs x (N, D): logits, or the regression mean."""
        x = checked_inputs(x, self.spec.sizes[0], "the inputs")
        return _outputs(self.spec, torch.from_numpy(self.samples), x.double()).float()

    @torch.no_grad()
    def probs(self, x: torch.Tensor) -> torch.Tensor:
        """The class probabilities (S, N, C) float32 of every draw at inputs x (N, D)."""
        if self.likelihood != "categorical":
            raise ValueError("class probabilities need a categorical posterior")
        x = checked_inputs(x, self.spec.sizes[0], "the inputs")
        return _outputs(self.spec, torch.from_numpy(self.samples), x.double()).softmax(dim=-1).float()


class _Cancelled(Exception):
    """Raised from pyro's hook when ``on_progress`` asks to stop."""


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
) -> HMCPosterior | None:
    """Sample the posterior of ``spec``'s network on training rows x (N, D) with NUTS.

    Args:
        y: (N,) int64 class numbers (categorical), or (N,) float targets (gaussian).
        seed: chain c starts from stream ``stream_seed(stream_seed(seed, HMC), c)``.
        noise_sigma: the gaussian likelihood's fixed σ, in the units of y.
        on_progress: called after every iteration; returning True cancels the run.

    Returns:
        The posterior, or None when ``on_progress`` cancelled it.

    Raises:
        BNNInputError: the network or the data is too big, or x or y is not valid training data.
    """
    rows = torch.from_numpy(checked_rows(x, spec.sizes[0], "the training inputs"))  # (N, D) float64
    check_hmc_size(spec, len(rows))
    targets = _checked_targets(y, len(rows), spec.sizes[-1], likelihood, noise_sigma)
    model = functools.partial(_model, spec, likelihood=likelihood, noise_sigma=noise_sigma)
    start = time.perf_counter()
    chains, divergences, accept_probs = [], 0, []
    try:
        for chain in range(config.chains):
            report = functools.partial(_report, on_progress, chain, config, start)
            draws, diverged, accept_prob = _run_chain(model, rows, targets, config, _chain_key(seed, chain), report)
            chains.append(draws)
            divergences += diverged
            accept_probs.append(accept_prob)
    except _Cancelled:
        return None
    seconds = time.perf_counter() - start
    samples = torch.stack(chains)  # (chains, samples, P)
    predictions = _outputs(spec, samples.flatten(0, 1), rows)  # (chains·samples, N, K)
    if likelihood == "categorical":
        predictions = predictions.softmax(dim=-1)
    return HMCPosterior(
        spec=spec,
        samples=samples.flatten(0, 1).numpy(),
        likelihood=likelihood,
        **_function_space(predictions.unflatten(0, samples.shape[:2])),
        divergences=divergences,
        accept_prob=float(np.mean(accept_probs)),
        seconds=seconds,
        config=config,
    )


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


def _model(spec: NetworkSpec, x: torch.Tensor, y: torch.Tensor, likelihood: str, noise_sigma: float) -> None:
    """The joint density of θ (P,) and targets y (N,) given rows x (N, D), all float64."""
    prior = dist.Normal(torch.tensor(spec.prior_mu, dtype=x.dtype), torch.tensor(spec.prior_sigma, dtype=x.dtype))
    theta = pyro.sample("theta", prior.expand([spec.n_params]).to_event(1))  # (P,)
    # forward_samples applies activations in place, but only to fresh tensors whose producers (addmm, baddbmm)
    # do not keep them for the backward pass, so autograd through it is exact (tests/engine/test_hmc.py checks).
    outputs = spec.forward_samples(spec.split(theta[None]), x)[0]  # (K, N)
    with pyro.plate("rows", x.shape[0]):
        if likelihood == "categorical":
            pyro.sample("y", dist.Categorical(logits=outputs.T), obs=y)
        else:
            pyro.sample("y", dist.Normal(outputs[0], noise_sigma), obs=y)


def _report(
    on_progress: Callable[[HMCProgress], bool | None] | None,
    chain: int,
    config: HMCConfig,
    start: float,
    iteration: int,
    warmup: bool,
) -> None:
    """Tell ``on_progress`` about one finished iteration; raise _Cancelled if it answers True."""
    if on_progress is None:
        return
    iterations = config.warmup + config.samples
    if on_progress(HMCProgress(chain, config.chains, iteration, iterations, warmup, time.perf_counter() - start)):
        raise _Cancelled


def _run_chain(
    model: Callable[..., None],
    x: torch.Tensor,
    y: torch.Tensor,
    config: HMCConfig,
    key: int,
    report: Callable[[int, bool], None],
) -> tuple[torch.Tensor, int, float]:
    """One NUTS chain from seed ``key``: its kept draws (samples, P) float64, its divergences, its mean
    acceptance probability."""
    # init_to_sample starts each chain at its own draw from the prior, dispersed as R-hat assumes; init_to_median
    # would start every chain at θ = prior_mu, where all hidden units of a layer are the same (and dead for ReLU).
    # The JIT-compiled potential takes a gradient in about a third of the time of pyro's traced one.
    kernel = NUTS(
        model,
        max_tree_depth=config.max_tree_depth,
        target_accept_prob=config.target_accept,
        init_strategy=init_to_sample,
        jit_compile=True,
        ignore_jit_warnings=True,
    )
    accept_prob = [float("nan")]

    def hook(kernel: NUTS, params: dict, stage: str, i: int) -> None:
        warmup = stage.startswith("Warmup")
        if not warmup and i == config.samples - 1:  # the kernel resets its running mean when the chain ends
            accept_prob[0] = float(kernel.logging()["acc. prob"])
        report(i + 1 + (0 if warmup else config.warmup), warmup)

    mcmc = MCMC(kernel, num_samples=config.samples, warmup_steps=config.warmup, hook_fn=hook, disable_progbar=True)
    with _SAMPLING, torch.random.fork_rng(devices=[]):
        # torch's generator is the only one NUTS draws from; pyro.set_rng_seed would also reseed Python's and
        # NumPy's global generators, outside fork_rng, and so move other code's random numbers.
        torch.manual_seed(key)
        mcmc.run(x, y)
    divergences = len(mcmc.diagnostics()["divergences"]["chain 0"])
    return mcmc.get_samples()["theta"], divergences, accept_prob[0]


def _outputs(spec: NetworkSpec, samples: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The outputs (S, N, K) of S packed draws (S, P) at rows x (N, D), in chunks of draws that keep the widest
    activations under _CHUNK_FLOATS values."""
    per_draw = max(spec.sizes[1:]) * len(x)
    step = max(1, _CHUNK_FLOATS // per_draw)
    parts = [spec.forward_samples(spec.split(samples[i : i + step]), x) for i in range(0, len(samples), step)]
    return torch.cat(parts).transpose(1, 2)


def _function_space(predictions: torch.Tensor) -> dict[str, float]:
    """The largest and median split R-hat, and the smallest and median ESS, over every prediction
    (chains, samples, N, K); NaN when no prediction varies.

    A prediction that is the same in every draw (a probability saturated at exactly 0 or 1 in float64) gives
    R-hat 0/0 and says nothing about mixing, so it is left out.
    """
    varies = predictions.flatten(0, 1).std(dim=0).flatten() > 0
    if not varies.any():
        return dict.fromkeys(("rhat_max", "rhat_median", "ess_min", "ess_median"), float("nan"))
    rhat = split_gelman_rubin(predictions, chain_dim=0, sample_dim=1).flatten()[varies]
    ess = effective_sample_size(predictions, chain_dim=0, sample_dim=1).flatten()[varies]
    return {
        "rhat_max": float(rhat.max()),
        "rhat_median": float(rhat.median()),
        "ess_min": float(ess.min()),
        "ess_median": float(ess.median()),
    }


def reference_run_config(dataset: str) -> RunConfig:
    """The run the shipped references are for: the app's defaults, but ``dataset``, one hidden layer of 16 ReLU
    units, prior N(0, 1), 20% held out, standard scaling and seed 0."""
    return RunConfig(
        data=DataConfig(dataset=dataset, test_size=0.2, scale="standard"),
        model=ModelConfig(hidden=(16,), activation="relu", prior_mu=0.0, prior_sigma=1.0),
        seed=0,
    )


def run_hmc(
    data: PreparedData,
    run_config: RunConfig,
    hmc_config: HMCConfig,
    on_progress: Callable[[HMCProgress], bool | None] | None = None,
) -> HMCPosterior | None:
    """The reference posterior of ``run_config``'s network on ``data``'s training rows (``data`` prepared with
    ``run_config.data`` and ``run_config.seed``); None when cancelled.

    Raises:
        BNNInputError: the run is too big for HMC, or is a regression whose noise σ is not fixed.
    """
    regression = data.dataset.task == "regression"
    if regression and run_config.model.noise != "fixed":
        raise BNNInputError("HMC samples regression with a fixed noise σ only; set the noise model to fixed.")
    n_outputs = 1 if regression else data.dataset.n_classes
    spec = NetworkSpec.for_data(data.dataset.n_features, n_outputs, run_config.model)
    x, y = data.x[data.train_mask], data.y[data.train_mask]
    likelihood = "gaussian" if regression else "categorical"
    noise_sigma = run_config.model.noise_sigma / data.target_std  # in the units the network is trained in
    return hmc_posterior(spec, x, y, hmc_config, run_config.seed, likelihood, noise_sigma, on_progress)


def reference_key(run_config: RunConfig, hmc_config: HMCConfig) -> dict[str, str]:
    """What a reference posterior depends on, as strings (safetensors metadata holds only strings).

    The data (dataset, test share, scaling, and the seed, which picks the split and seeds the chains), the network
    and its prior (hidden widths joined by commas, activation, prior μ and σ), every HMCConfig field, and for
    regression the fixed noise σ. Training settings are left out: sampling does not train.
    """
    data, model = run_config.data, run_config.model
    key = {
        "dataset": data.dataset,
        "test_size": data.test_size,
        "scale": data.scale,
        "seed": run_config.seed,
        "hidden": ",".join(map(str, model.hidden)),
        "activation": model.activation,
        "prior_mu": model.prior_mu,
        "prior_sigma": model.prior_sigma,
        **asdict(hmc_config),
    }
    if data.task == "regression":
        key["noise_sigma"] = model.noise_sigma
    return {name: str(value) for name, value in key.items()}


def save_reference(path: str | Path, posterior: HMCPosterior, key: Mapping[str, str | int | float]) -> None:
    """Write ``posterior`` to a safetensors file: the draws (S, P) as tensor ``samples``, and as JSON metadata
    the ``key`` (values stored as strings), the network, the diagnostics and the HMC config."""
    spec = posterior.spec
    network = {"sizes": list(spec.sizes), "activation": spec.activation}
    network |= {"prior_mu": spec.prior_mu, "prior_sigma": spec.prior_sigma}
    diagnostics = {f.name: getattr(posterior, f.name) for f in fields(posterior)}
    for name in ("spec", "samples", "config"):
        del diagnostics[name]
    metadata = {
        "key": json.dumps({name: str(value) for name, value in key.items()}),
        "spec": json.dumps(network),
        "diagnostics": json.dumps(diagnostics),
        "config": json.dumps(asdict(posterior.config)),
    }
    save_file({"samples": np.ascontiguousarray(posterior.samples)}, str(path), metadata=metadata)


def load_reference(path: str | Path) -> tuple[HMCPosterior, dict[str, str]]:
    """Read a file written by :func:`save_reference`: the posterior and its key."""
    with safe_open(str(path), framework="numpy") as file:
        metadata, samples = file.metadata(), file.get_tensor("samples")
    network = json.loads(metadata["spec"])
    spec = NetworkSpec(tuple(network.pop("sizes")), **network)
    config = HMCConfig(**json.loads(metadata["config"]))
    posterior = HMCPosterior(spec=spec, samples=samples, config=config, **json.loads(metadata["diagnostics"]))
    return posterior, json.loads(metadata["key"])


def shipped_reference(run_config: RunConfig, hmc_config: HMCConfig) -> HMCPosterior | None:
    """The reference in REFERENCES whose key is ``reference_key(run_config, hmc_config)``, or None."""
    wanted = reference_key(run_config, hmc_config)
    for path in sorted(REFERENCES.glob("*.safetensors")):
        with safe_open(str(path), framework="numpy") as file:
            if json.loads(file.metadata()["key"]) == wanted:
                return load_reference(path)[0]
    return None
