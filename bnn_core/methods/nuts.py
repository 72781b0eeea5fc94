"""Chains of the compiled NUTS sampler (:mod:`bnn_core.compiled.nuts`): the warm-up that tunes it, then kept draws.

The warm-up is Stan's, as pyro runs it: the step size by dual averaging (Hoffman & Gelman 2014) towards a target
mean acceptance probability, and a diagonal mass matrix, the regularised variance of the draws of each slow window
(the windows double in length between a fast first and last buffer). After each window the step size is searched
afresh and its averaging restarts; at the end of the warm-up it is fixed at the average.

Each chain starts from its own draw from the prior, and every random number it uses comes from its key: sub-stream
0 is the starting point, 1 the transitions (transition t uses its own block of positions), 2 the step-size searches.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..compiled import noise
from ..compiled import nuts as kernel
from ..engine import fast
from ..model.likelihood import Categorical, Gaussian
from ..model.network import NetworkSpec
from ..seeds import stream_seed

START, MOVES, STEP_SEARCH = 0, 1, 2  # a chain's sub-streams
# Stan's windows (pyro's too): a fast first buffer, slow windows from this length doubling, a fast last buffer.
START_BUFFER, FIRST_WINDOW, END_BUFFER = 75, 25, 50


@dataclass(frozen=True, eq=False)
class Chain:
    """One chain's kept draws and what its transitions reported.

    Shape: ``draws`` (S, P) float64; ``leapfrogs`` (warmup + S,) the leapfrog steps of every transition.
    """

    draws: np.ndarray
    divergences: int  # kept transitions with a divergent leaf
    accept_prob: float  # mean over the kept transitions of their mean acceptance probability
    step_size: float  # after the warm-up
    leapfrogs: np.ndarray


@dataclass
class DualAveraging:
    """Nesterov's dual averaging of log step size as Hoffman & Gelman (2014, section 3.2) adapt it, with their
    constants: ``update`` takes target − acceptance; ``log_step`` is the next iterate, ``log_average`` the one to
    keep."""

    centre: float  # μ = log(10 ε₀): the iterates shrink towards it
    t0: float = 10.0
    kappa: float = 0.75
    gamma: float = 0.05
    steps: int = 0
    error: float = 0.0  # the running average of target − acceptance
    log_step: float = 0.0
    log_average: float = 0.0

    def update(self, miss: float) -> None:
        self.steps += 1
        self.error += (miss - self.error) / (self.steps + self.t0)
        self.log_step = self.centre - math.sqrt(self.steps) / self.gamma * self.error
        weight = self.steps**-self.kappa
        self.log_average = (1.0 - weight) * self.log_average + weight * self.log_step


class Welford:
    """Each coordinate's running mean and sum of squared deviations (Welford's update), for a window's variance."""

    def __init__(self, n: int) -> None:
        self.count, self.mean, self.squares = 0, np.zeros(n), np.zeros(n)

    def add(self, value: np.ndarray) -> None:
        self.count += 1
        gap = value - self.mean
        self.mean += gap / self.count
        self.squares += gap * (value - self.mean)

    def regularised(self) -> np.ndarray:
        """The sample variance shrunk towards 1e-3 as Stan does: n / (n + 5) · var + 1e-3 · 5 / (n + 5)."""
        n = self.count
        return n / (n + 5.0) * self.squares / (n - 1) + 1e-3 * 5.0 / (n + 5.0)


def adaptation_windows(warmup: int) -> list[tuple[int, int]]:
    """The warm-up's windows as (first, last) iterations: a fast buffer, slow windows, a fast buffer.

    Stan's rule as pyro implements it: buffers of 75 and 50 around windows of 25, 50, 100, … (the last one
    stretched to the end buffer); below 150 iterations the buffers take 15% and 10% and one slow window the rest;
    below 20 a single window, in which only the step size adapts.
    """
    if warmup < 20:
        return [(0, warmup - 1)]
    start, window, end = START_BUFFER, FIRST_WINDOW, END_BUFFER
    if start + window + end > warmup:
        start, end = int(0.15 * warmup), int(0.1 * warmup)
        window = warmup - start - end
    windows = [(0, start - 1)]
    end_start = warmup - end
    first, size = start, window
    while first < end_start:
        if 3 * size <= end_start - first:
            following = 2 * size
        else:
            size, following = end_start - first, size
        windows.append((first, first + size - 1))
        first, size = first + size, following
    windows.append((end_start, warmup - 1))
    return windows


def target(spec: NetworkSpec, x: torch.Tensor, y: torch.Tensor, likelihood: str, noise_sigma: float) -> kernel.Target:
    """The kernel's log posterior for rows x (N, D) float64 and targets y (N,): class numbers, or real targets
    with the fixed noise σ ``noise_sigma``."""
    model = Categorical() if likelihood == "categorical" else Gaussian("fixed", noise_sigma)
    goal = fast.objective(spec, x, y, kl_weight=0.0, reduction="sum", noise_key=0, likelihood=model)
    return kernel.Target(fast.kernel_net(spec), goal, math.log(noise_sigma), fast.workspace(spec, len(y)))


class Sampler:
    """One chain: its point, its tuning, and the scratch of its transitions."""

    def __init__(self, spec: NetworkSpec, posterior: kernel.Target, key: int, max_depth: int) -> None:
        n = spec.n_params
        q = spec.prior_mu + spec.prior_sigma * noise.normals(stream_seed(key, START), 0, n)
        grad = np.zeros(n)
        self.point = kernel.Point(q, grad, np.array([kernel.potential(posterior, q, grad)]))
        self.posterior, self.max_depth = posterior, max_depth
        self.tree = kernel.tree(n, max_depth)
        self.inv_mass = np.ones(n)
        self.moves = np.uint64(stream_seed(key, MOVES))
        self.searches, self.searched = np.uint64(stream_seed(key, STEP_SEARCH)), 0
        self.block = kernel.stream_block(n, max_depth)
        self.stats = np.zeros(kernel.N_STATS)
        self.step_size = 1.0

    def search_step_size(self) -> None:
        """A fresh first step size for the current point and mass matrix."""
        self.step_size, self.searched = kernel.find_step_size(
            self.posterior, self.point, self.tree, self.inv_mass, self.step_size, self.searches, self.searched
        )

    def move(self, iteration: int) -> np.ndarray:
        """Transition ``iteration``; returns its statistics (kernel.N_STATS,)."""
        kernel.transition(
            self.posterior, self.point, self.tree, self.inv_mass, self.step_size, self.max_depth, self.moves,
            iteration * self.block, self.stats,
        )  # fmt: skip
        return self.stats


def run_chain(
    spec: NetworkSpec,
    posterior: kernel.Target,
    samples: int,
    warmup: int,
    max_depth: int,
    target_accept: float,
    key: int,
    report: Callable[[int, bool], None],
) -> Chain:
    """A chain from key ``key``: ``warmup`` tuning transitions, then ``samples`` kept ones; ``report(i, warmup)``
    after each (i counts from 1)."""
    chain = Sampler(spec, posterior, key, max_depth)
    chain.search_step_size()
    averaging = DualAveraging(centre=math.log(10 * chain.step_size))
    windows = adaptation_windows(warmup)
    draws, leapfrogs = np.empty((samples, spec.n_params)), np.empty(warmup + samples, dtype=np.int64)
    divergences, accepts = 0, 0.0
    window, variance = 0, Welford(spec.n_params)
    for i in range(warmup + samples):
        stats = chain.move(i)
        leapfrogs[i] = stats[kernel.LEAPFROGS]
        if i >= warmup:
            draws[i - warmup] = chain.point.q
            divergences += int(stats[kernel.DIVERGED])
            accepts += stats[kernel.ACCEPT]
            report(i + 1, False)
            continue
        averaging.update(target_accept - stats[kernel.ACCEPT])
        chain.step_size = math.exp(averaging.log_step)
        slow = 0 < window < len(windows) - 1
        if slow:
            variance.add(chain.point.q)
        if i == windows[window][1]:
            if window == len(windows) - 1:
                chain.step_size = math.exp(averaging.log_average)
            elif slow:
                chain.inv_mass[:] = variance.regularised()
                variance = Welford(spec.n_params)
                chain.search_step_size()
                averaging = DualAveraging(centre=math.log(10 * chain.step_size))
            window += 1
        report(i + 1, True)
    return Chain(draws, divergences, accepts / samples, chain.step_size, leapfrogs)


_compiled = threading.Lock()
_ready = threading.Event()


def warm_up() -> None:
    """Compile the sampler's kernels once per process (or load them from numba's cache), on a tiny problem, so
    that no chain's clock includes a compile."""
    if _ready.is_set():
        return
    with _compiled:
        if _ready.is_set():
            return
        fast.warm_up()  # the trainer's kernels first, as fast.loss_and_gradients explains
        spec = NetworkSpec((2, 3, 2), "relu", 0.0, 1.0)
        x = torch.zeros(4, 2, dtype=torch.float64)
        for likelihood, y in (("categorical", torch.tensor([0, 1, 0, 1])), ("gaussian", torch.zeros(4))):
            run_chain(spec, target(spec, x, y, likelihood, 1.0), 2, 2, 2, 0.8, 0, lambda i, warmup: None)
        _ready.set()
