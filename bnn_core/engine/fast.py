"""The fast trainer: the compiled ELBO loop of :mod:`bnn_core.compiled.kernels` on a network's packed parameters.

It trains the same parameters with the same loss, the same noise and the same Adam as the
reference loop in :mod:`bnn_core.engine.train` (torchbnn forward, ``BKLLoss``, autograd, torch's
Adam): the two differ only by floating-point arithmetic. What it drops is per-operation
overhead: the reference spends most of its ~3 ms a step dispatching small tensor
operations and building the autograd graph, not on arithmetic.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch

from ..compiled import kernels, noise
from ..config import TrainConfig
from ..model.likelihood import LOG_STD_LIMIT, Categorical, Likelihood
from ..model.network import ACTIVATIONS, ADAM_BETAS, ADAM_EPS, NetworkSpec, Params

# Above this many multiply-adds per step (rows × Σ fan_in · fan_out) torch's float32 matrix kernels beat the
# compiled loop, which keeps to plain vectorised loops: benchmarks/train_speed.py, table 2 (README), measured the
# compiled loop 1.0–1.8× as fast as torch at about 10 million (1024 units at 1,500 rows, 256-256 at 150 rows, 100 at
# 15,000 rows) and 1.7–4.5× slower from 31 million up (100-100-100 at 1,500 rows; 256-256 at 1,500; 1024-1024 at 150).
MAX_MULTIPLY_ADDS = 15_000_000


def slower_reason(spec: NetworkSpec, n_rows: int) -> str | None:
    """Why torchbnn's loop would be faster for this problem size, or None."""
    per_row = sum(layer.fan_in * layer.fan_out for layer in spec.layers)
    if n_rows * per_row > MAX_MULTIPLY_ADDS:
        return f"{n_rows:,} rows × {per_row:,} weights is large enough that torch's matrix kernels are faster"
    return None


def kernel_net(spec: NetworkSpec) -> kernels.Net:
    """The spec as the kernels read it."""
    shapes = np.array([(layer.fan_in, layer.fan_out) for layer in spec.layers], dtype=np.int64)
    starts = np.array([layer.start for layer in spec.layers], dtype=np.int64)
    return kernels.Net(shapes, starts, ACTIVATIONS[spec.activation].code, float(spec.prior_mu), float(spec.prior_sigma))


# The kernels' inner loops run along the rows, LLVM_VECTOR_ROWS at a time (four AVX-512 registers); a remainder
# runs one row at a time. The rows are padded with zeros to a multiple of it: at 150 rows the 22-row remainder
# took a third of a step. Padded rows carry no loss and no gradient, so the result is unchanged.
LLVM_VECTOR_ROWS = 32


def padded_rows(n_rows: int) -> int:
    """``n_rows`` rounded up to a multiple of :data:`LLVM_VECTOR_ROWS`."""
    return -(-n_rows // LLVM_VECTOR_ROWS) * LLVM_VECTOR_ROWS


_CACHE_LINE_FLOATS = 8  # 64 bytes: one AVX-512 register, one cache line


def aligned_zeros(count: int) -> np.ndarray:
    """Zeros (count,) float64 starting on a cache line, so no vector load straddles two lines.

    With rows padded to :data:`LLVM_VECTOR_ROWS`, every row of a (units, N') buffer starts on one too.
    """
    spare = np.zeros(count + _CACHE_LINE_FLOATS)
    skip = (-spare.ctypes.data // 8) % _CACHE_LINE_FLOATS
    return spare[skip : skip + count]


@dataclass(frozen=True)
class Dropout:
    """Dropout on the hidden units while training (MC dropout, Gal & Ghahramani 2016).

    Each hidden unit of each training row is dropped with probability ``p`` and a kept one is scaled by 1 / (1 − p),
    as ``nn.Dropout`` does. The masks are uniforms of stream ``key``: step t's (t from 0) start at position
    t · N · H (N training rows, H hidden units), a mask (N, units) per hidden layer, row by row, layer after layer.
    """

    p: float
    key: int

    def __post_init__(self) -> None:
        if not 0.0 <= self.p < 1.0:
            raise ValueError(f"the dropout probability must be in [0, 1), not {self.p!r}")


def workspace(spec: NetworkSpec, n_rows: int, dropout: bool = False) -> kernels.Workspace:
    """Every buffer a step on ``n_rows`` training rows needs, allocated once; the masks' only ``dropout``."""
    per_param = [aligned_zeros(spec.n_params) for _ in range(7)]
    n_rows = padded_rows(n_rows)
    widest = n_rows * max(spec.sizes[1:])
    rows = [aligned_zeros(n_rows * sum(spec.sizes[1:])), aligned_zeros(widest), aligned_zeros(widest)]
    hidden = n_rows * sum(spec.sizes[1:-1]) if dropout else 0
    masks = [aligned_zeros(hidden), aligned_zeros(hidden)]  # keep, dropped
    return kernels.Workspace(*per_param, *rows, np.zeros(1), *masks)


def likelihood_code(likelihood: Likelihood) -> int:
    """The kernels' name for a likelihood."""
    if isinstance(likelihood, Categorical):
        return kernels.CATEGORICAL
    return kernels.HETEROSCEDASTIC if likelihood.noise == "heteroscedastic" else kernels.GAUSSIAN


def objective(
    spec: NetworkSpec,
    x: torch.Tensor,
    y: torch.Tensor,
    kl_weight: float,
    reduction: str,
    noise_key: int,
    likelihood: Likelihood | None = None,
    dropout: Dropout | None = None,
) -> kernels.Objective:
    """The training rows (x (N, D); y (N,) labels, or real targets for a Gaussian likelihood), the loss's
    weights and the dropout, as the kernels read them.

    The kernels get x transposed, (D, N') with N' = :func:`padded_rows` (N) and zeros beyond row N.
    """
    likelihood = likelihood if likelihood is not None else Categorical()
    n_features, n_padded = x.shape[1], padded_rows(len(y))
    xt = aligned_zeros(n_features * n_padded).reshape(n_features, n_padded)
    xt[:, : len(y)] = x.detach().double().numpy().T
    code = likelihood_code(likelihood)
    values = np.ascontiguousarray(y.detach().numpy())
    return kernels.Objective(
        xt,
        values.astype(np.int64) if code == kernels.CATEGORICAL else np.zeros(0, dtype=np.int64),
        float(kl_weight),
        float(spec.kl_scale(reduction)),
        np.uint64(noise_key),
        spec.bayesian,
        values.astype(np.float64) if code != kernels.CATEGORICAL else np.zeros(0),
        code,
        code == kernels.GAUSSIAN and likelihood.log_sigma.requires_grad,
        LOG_STD_LIMIT,
        0.0 if dropout is None or len(spec.sizes) == 2 else float(dropout.p),  # no hidden layer: nothing to drop
        np.uint64(0 if dropout is None else dropout.key),
    )


def _noise_log_sigma(likelihood: Likelihood | None) -> float:
    """The one noise log σ of a Gaussian likelihood (0 when there is none)."""
    if likelihood is None or isinstance(likelihood, Categorical) or likelihood.noise == "heteroscedastic":
        return 0.0
    return float(likelihood.log_sigma.detach())


class FastTrainer:
    """Adam on packed parameters (and a learned noise log σ), a block of steps per call; Adam's state carries over
    between calls. With ``dropout`` the hidden units are dropped in every step."""

    def __init__(
        self,
        spec: NetworkSpec,
        start: Params,
        x: torch.Tensor,
        y: torch.Tensor,
        config: TrainConfig,
        noise_key: int,
        likelihood: Likelihood | None = None,
        dropout: Dropout | None = None,
    ) -> None:
        self.spec = spec
        self.net = kernel_net(spec)
        config = config.resolved(len(y))  # a weight "F/N" is F over these training rows
        self.objective = objective(spec, x, y, config.kl_weight, config.kl_reduction, noise_key, likelihood, dropout)
        self.adam = kernels.Adam(float(config.lr), *ADAM_BETAS, ADAM_EPS)
        mu, log_sigma = aligned_zeros(spec.n_params), aligned_zeros(spec.n_params)
        mu[:], log_sigma[:] = start.mu, start.log_sigma
        moments = [aligned_zeros(spec.n_params) for _ in range(4)]
        self.state = kernels.State(mu, log_sigma, *moments, np.array([_noise_log_sigma(likelihood), 0.0, 0.0]))
        # The kernels write masks into work.keep whenever the objective's dropout is above 0: size it then.
        self.work = workspace(spec, len(y), dropout=self.objective.dropout > 0.0)
        self.steps_done = 0

    def set_lr(self, lr: float) -> None:
        """Adam's step size from the next step on; its moments and step count carry over."""
        if lr != self.adam.lr:
            self.adam = self.adam._replace(lr=float(lr))

    def run(self, steps: int) -> np.ndarray:
        """Take ``steps`` steps; return their (steps, 4) history of ce, kl, total and train accuracy."""
        history = np.empty((steps, 4))
        kernels.train_steps(self.net, self.objective, self.adam, self.state, self.work, self.steps_done, history)
        self.steps_done += steps
        return history

    @property
    def params(self) -> Params:
        return Params(self.state.mu, self.state.log_sigma)

    @property
    def noise_log_sigma(self) -> float:
        """The Gaussian likelihood's one noise log σ, as trained so far."""
        return float(self.state.noise[0])


def loss_and_gradients(
    spec: NetworkSpec,
    params: Params,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: np.ndarray,
    kl_weight: float,
    reduction: str,
    likelihood: Likelihood | None = None,
) -> tuple[float, float, float, np.ndarray, np.ndarray, float]:
    """One step's loss and gradients for the noise ``eps`` (P,), without changing anything.

    Returns:
        (data term, KL, total loss, d total / d μ (P,), d total / d log σ (P,), d total / d the one noise log σ
        of a Gaussian likelihood, 0 without one).
    """
    # The trainer's loop first: compiled after this standalone call, numba builds (and caches) a loop whose
    # floating-point results differ in the last bits, and a long run amplifies that (a test caught it).
    warm_up()
    work = workspace(spec, len(y))
    work.eps[:] = eps
    goal = objective(spec, x, y, kl_weight, reduction, 0, likelihood)
    data, kl, _ = kernels.step_gradients(
        kernel_net(spec), goal, params.mu, params.log_sigma, _noise_log_sigma(likelihood), work
    )
    return data, kl, data + kl_weight * kl, work.grad_mu.copy(), work.grad_ls.copy(), float(work.grad_noise[0])


_compiled = threading.Lock()
_ready = threading.Event()


def warm_up() -> None:
    """Compile every kernel once per process (or load it from numba's cache), on a tiny problem.

    Called before any training clock starts, and by the app at server start in the background, so
    compilation never happens inside a timing or, once the app is up, inside a click.
    """
    if _ready.is_set():
        return
    with _compiled:
        if _ready.is_set():
            return
        noise.warm_up()  # first: sampling needs only the generator, so a chart can be drawn meanwhile
        spec = NetworkSpec((2, 3, 2), "relu")
        x, y = torch.zeros(4, 2), torch.tensor([0, 1, 0, 1])
        FastTrainer(spec, spec.init(0), x, y, TrainConfig(epochs=1).resolved(len(y)), noise_key=0).run(1)
        kernels.kl_sum(np.zeros(1), np.zeros(1), 0.0, 1.0)
        _ready.set()
