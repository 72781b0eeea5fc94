"""The No-U-Turn Sampler in compiled code: one NUTS transition on a network's exact log posterior.

The target is the network's posterior with deterministic weights w (P,), in the packed layout of
:class:`bnn_core.model.network.NetworkSpec`: the potential is

    U(w) = −log p(y | x, w) + Σ_k (w_k − μ₀)² / (2σ₀²)   (+ a constant),

the likelihood's part and its gradient from the trainer's own forward and backward pass
(:func:`bnn_core.compiled.kernels.negative_log_likelihood`). The dynamics use a diagonal inverse mass
matrix m (P,): momentum p ~ N(0, diag(1/m)), kinetic energy ½ Σ m_k p_k².

A transition is multinomial NUTS as Stan runs it (Betancourt 2017, "A Conceptual Introduction to Hamiltonian
Monte Carlo", appendix A): the trajectory doubles in a random direction until it turns back on itself, diverges
or reaches the maximum depth; a point is drawn from each new subtree in proportion to exp(−H) (uniformly inside a
subtree, biased towards the new subtree at the top), and the U-turn criterion is checked over every merged pair of
subtrees and across each join (Stan 2.23's extra checks). Stan builds a subtree by recursion; here its leaves are
made in order and merged on a stack, like a binary counter, so the kernel needs no recursion and allocates
nothing: the stack holds at most depth + 1 subtrees.

Randomness is owned: the transition's momentum and every uniform it uses are positions of one stream of
:mod:`bnn_core.compiled.noise`, so a chain is a pure function of its key.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import kernels
from .jit import jit
from .noise import fill_normals, uniform_at

_FAST = {"reassoc", "contract", "nsz", "arcp"}  # as in kernels: no "nnan"/"ninf", a divergence must show
MAX_DELTA_H = 1000.0  # a leaf whose energy is this much above the start's is a divergence (Stan's and pyro's)
STEP_SEARCH_ACCEPT = 0.8  # the first step size is doubled or halved until one leapfrog's acceptance crosses this
STEP_SEARCH_LIMITS = (1e-10, 1e10)  # and never leaves this range (pyro's bounds)
# The transition's statistics, in this order, in its ``stats`` array.
ACCEPT, LEAPFROGS, DEPTH, DIVERGED = range(4)
N_STATS = 4


class Target(NamedTuple):
    """The log posterior: the network and prior, the rows and likelihood, the fixed noise log σ, and scratch."""

    net: kernels.Net
    objective: kernels.Objective
    noise_log_sigma: float
    work: kernels.Workspace


class Point(NamedTuple):
    """A chain's state, updated in place. Shape: ``q`` and ``grad`` (P,), the position and dU/dq; ``potential`` (1,)."""

    q: np.ndarray
    grad: np.ndarray
    potential: np.ndarray


class Tree(NamedTuple):
    """Scratch for a transition, allocated once per chain.

    Shape: ``ends_q``, ``ends_p``, ``ends_grad`` (2, P), the trajectory's backward (0) and forward (1) ends;
    ``edge_q``, ``edge_p``, ``edge_grad``, ``rho``, ``sample_q``, ``sample_grad``, ``uniforms`` (P,);
    the stack of subtrees ``stack_rho``, ``stack_begin``, ``stack_end``, ``stack_q``, ``stack_grad``
    (D + 1, P) and ``stack_log_weight``, ``stack_potential``, ``stack_height`` (D + 1,), D the maximum depth.
    """

    ends_q: np.ndarray
    ends_p: np.ndarray
    ends_grad: np.ndarray
    edge_q: np.ndarray  # the leaf being extended from, moved one leapfrog step per leaf
    edge_p: np.ndarray
    edge_grad: np.ndarray
    rho: np.ndarray  # the whole trajectory's summed momentum
    sample_q: np.ndarray  # the point drawn so far, with its gradient and potential (sample_potential)
    sample_grad: np.ndarray
    uniforms: np.ndarray  # behind the momentum's normals
    stack_rho: np.ndarray  # per subtree on the stack: its summed momentum,
    stack_begin: np.ndarray  # the momentum of its first leaf (next to the trajectory) and of its last,
    stack_end: np.ndarray
    stack_q: np.ndarray  # the point drawn from it, with its gradient and potential,
    stack_grad: np.ndarray
    stack_log_weight: np.ndarray  # log Σ exp(H0 − H) over its leaves,
    stack_potential: np.ndarray
    stack_height: np.ndarray  # and its depth: 2^height leaves
    sample_potential: np.ndarray  # (1,)


def tree(n_params: int, max_depth: int) -> Tree:
    """The scratch of a transition for P = ``n_params`` and trees up to ``max_depth``."""
    flat = [np.zeros(n_params) for _ in range(7)]
    stack = [np.zeros((max_depth + 1, n_params)) for _ in range(5)]
    ends = [np.zeros((2, n_params)) for _ in range(3)]
    scalars = [np.zeros(max_depth + 1), np.zeros(max_depth + 1), np.zeros(max_depth + 1, dtype=np.int64)]
    return Tree(*ends, *flat, *stack, *scalars, np.zeros(1))


def stream_block(n_params: int, max_depth: int) -> int:
    """Stream positions one transition may use: P normals for the momentum, then at most one uniform per merge of
    two subtrees (2^D − 1 over all depths) and two per doubling (its direction and the top-level draw)."""
    return n_params + 2**max_depth + 2 * max_depth


@jit(fastmath=_FAST)
def potential(target: Target, q: np.ndarray, grad: np.ndarray) -> float:
    """U(q) and dU/dq into ``grad`` (P,)."""
    work = target.work
    work.weights[:] = q
    energy = kernels.negative_log_likelihood(target.net, target.objective, target.noise_log_sigma, work)
    prior_mu, precision = target.net.prior_mu, 1.0 / (target.net.prior_sigma * target.net.prior_sigma)
    for k in range(q.shape[0]):
        gap = q[k] - prior_mu
        energy += 0.5 * precision * gap * gap
        grad[k] = work.grad_mu[k] + precision * gap
    return energy


@jit(fastmath=_FAST)
def _kinetic(p: np.ndarray, inv_mass: np.ndarray) -> float:
    total = 0.0
    for k in range(p.shape[0]):
        total += inv_mass[k] * p[k] * p[k]
    return 0.5 * total


@jit(fastmath=_FAST)
def _leapfrog(target: Target, q: np.ndarray, p: np.ndarray, grad: np.ndarray, step: float, inv_mass: np.ndarray):
    """One velocity-Verlet step of signed size ``step``, in place; returns the new potential."""
    for k in range(q.shape[0]):
        p[k] -= 0.5 * step * grad[k]
        q[k] += step * inv_mass[k] * p[k]
    energy = potential(target, q, grad)
    for k in range(q.shape[0]):
        p[k] -= 0.5 * step * grad[k]
    return energy


@jit(fastmath=_FAST)
def _draw_momentum(key: np.uint64, start: int, inv_mass: np.ndarray, p: np.ndarray, uniforms: np.ndarray) -> None:
    """p ~ N(0, diag(1 / inv_mass)) from positions ``start …`` of the stream."""
    fill_normals(key, start, p, uniforms)
    for k in range(p.shape[0]):
        p[k] /= math.sqrt(inv_mass[k])


@jit(fastmath=_FAST)
def _goes_on(
    inv_mass: np.ndarray, p_one: np.ndarray, p_other: np.ndarray, rho_a: np.ndarray, rho_b: np.ndarray
) -> bool:
    """Stan's no-U-turn criterion for a stretch with end momenta ``p_one``, ``p_other`` and summed momentum
    rho_a + rho_b: both ends still move along it, p♯ · ρ > 0 with p♯ = m ⊙ p."""
    one, other = 0.0, 0.0
    for k in range(inv_mass.shape[0]):
        rho = rho_a[k] + rho_b[k]
        one += inv_mass[k] * p_one[k] * rho
        other += inv_mass[k] * p_other[k] * rho
    return one > 0.0 and other > 0.0


@jit(inline="always")
def _log_add_exp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    high, low = (a, b) if a > b else (b, a)
    return high + math.log1p(math.exp(low - high))


@jit(fastmath=_FAST)
def _push_leaf(tree: Tree, top: int, log_weight: float, energy: float) -> None:
    """Put the edge's point on the stack at ``top`` as a subtree of one leaf."""
    tree.stack_rho[top] = tree.edge_p
    tree.stack_begin[top] = tree.edge_p
    tree.stack_end[top] = tree.edge_p
    tree.stack_q[top] = tree.edge_q
    tree.stack_grad[top] = tree.edge_grad
    tree.stack_log_weight[top] = log_weight
    tree.stack_potential[top] = energy
    tree.stack_height[top] = 0


@jit(fastmath=_FAST)
def _merge(tree: Tree, inv_mass: np.ndarray, lower: int, key: np.uint64, position: int) -> bool:
    """Merge stack entry lower + 1 (built second) into ``lower``: draw the merged subtree's point uniformly by
    weight, sum the momenta, and return whether the merged subtree still makes no U-turn."""
    upper = lower + 1
    log_weight = _log_add_exp(tree.stack_log_weight[lower], tree.stack_log_weight[upper])
    if uniform_at(key, position) < math.exp(tree.stack_log_weight[upper] - log_weight):
        tree.stack_q[lower] = tree.stack_q[upper]
        tree.stack_grad[lower] = tree.stack_grad[upper]
        tree.stack_potential[lower] = tree.stack_potential[upper]
    rho_a, rho_b = tree.stack_rho[lower], tree.stack_rho[upper]
    begin_a, end_a = tree.stack_begin[lower], tree.stack_end[lower]
    begin_b, end_b = tree.stack_begin[upper], tree.stack_end[upper]
    goes_on = (
        _goes_on(inv_mass, begin_a, end_b, rho_a, rho_b)
        and _goes_on(inv_mass, begin_a, begin_b, rho_a, begin_b)  # the first half and the second's first leaf
        and _goes_on(inv_mass, end_a, end_b, end_a, rho_b)  # the first half's last leaf and the second half
    )
    for k in range(inv_mass.shape[0]):
        rho_a[k] += rho_b[k]
    tree.stack_end[lower] = end_b
    tree.stack_log_weight[lower] = log_weight
    tree.stack_height[lower] += 1
    return goes_on


@jit(fastmath=_FAST)
def _subtree(
    target: Target, tree: Tree, inv_mass: np.ndarray, depth: int, step: float, h0: float, key: np.uint64,
    position: int, stats: np.ndarray,
) -> tuple[bool, int]:  # fmt: skip
    """Build a subtree of 2^depth leaves from the edge, leapfrogging by the signed ``step``; on success it is stack
    entry 0. Returns (valid, the next free stream position); invalid when a leaf diverged or a part of it turned."""
    top = -1
    for _ in range(2**depth):
        energy = _leapfrog(target, tree.edge_q, tree.edge_p, tree.edge_grad, step, inv_mass)
        h = energy + _kinetic(tree.edge_p, inv_mass)
        if math.isnan(h):
            h = math.inf
        stats[LEAPFROGS] += 1
        stats[ACCEPT] += 1.0 if h <= h0 else math.exp(h0 - h)
        if h - h0 > MAX_DELTA_H:
            stats[DIVERGED] = 1
            return False, position
        top += 1
        _push_leaf(tree, top, h0 - h, energy)
        while top > 0 and tree.stack_height[top] == tree.stack_height[top - 1]:
            top -= 1
            goes_on = _merge(tree, inv_mass, top, key, position)
            position += 1
            if not goes_on:
                return False, position
    return True, position


@jit(fastmath=_FAST)
def transition(
    target: Target, point: Point, tree: Tree, inv_mass: np.ndarray, step_size: float, max_depth: int,
    key: np.uint64, position: int, stats: np.ndarray,
) -> None:  # fmt: skip
    """One NUTS transition from ``point``, which it replaces with the draw, using stream positions from ``position``
    on (at most :func:`stream_block` of them).

    ``stats`` (N_STATS,) receives the mean acceptance probability over the trajectory's leaves (what step-size
    adaptation aims at), the number of leapfrog steps, the depth, and whether a leaf diverged (1 or 0).
    """
    stats[:] = 0.0
    n = point.q.shape[0]
    _draw_momentum(key, position, inv_mass, tree.edge_p, tree.uniforms)
    position += n
    h0 = point.potential[0] + _kinetic(tree.edge_p, inv_mass)
    for side in range(2):
        tree.ends_q[side] = point.q
        tree.ends_p[side] = tree.edge_p
        tree.ends_grad[side] = point.grad
    tree.rho[:] = tree.edge_p
    tree.sample_q[:] = point.q
    tree.sample_grad[:] = point.grad
    tree.sample_potential[0] = point.potential[0]
    log_weight = 0.0  # the start's own weight, exp(H0 − H0)
    depth = 0
    while depth < max_depth:
        side = 1 if uniform_at(key, position) > 0.5 else 0
        position += 1
        tree.edge_q[:] = tree.ends_q[side]
        tree.edge_p[:] = tree.ends_p[side]
        tree.edge_grad[:] = tree.ends_grad[side]
        step = step_size if side == 1 else -step_size
        valid, position = _subtree(target, tree, inv_mass, depth, step, h0, key, position, stats)
        if not valid:
            break
        depth += 1
        # Biased progressive sampling: the new subtree's point replaces the current one with probability
        # min(1, its weight / the old trajectory's), which favours points far from the start.
        if uniform_at(key, position) < math.exp(tree.stack_log_weight[0] - log_weight):
            tree.sample_q[:] = tree.stack_q[0]
            tree.sample_grad[:] = tree.stack_grad[0]
            tree.sample_potential[0] = tree.stack_potential[0]
        position += 1
        log_weight = _log_add_exp(log_weight, tree.stack_log_weight[0])
        far, near = tree.ends_p[1 - side], tree.ends_p[side]
        rho_new, begin, end = tree.stack_rho[0], tree.stack_begin[0], tree.stack_end[0]
        goes_on = (
            _goes_on(inv_mass, far, end, tree.rho, rho_new)
            and _goes_on(inv_mass, far, begin, tree.rho, begin)
            and _goes_on(inv_mass, near, end, near, rho_new)
        )
        for k in range(n):
            tree.rho[k] += rho_new[k]
        tree.ends_q[side] = tree.edge_q
        tree.ends_p[side] = tree.edge_p
        tree.ends_grad[side] = tree.edge_grad
        if not goes_on:
            break
    point.q[:] = tree.sample_q
    point.grad[:] = tree.sample_grad
    point.potential[0] = tree.sample_potential[0]
    stats[ACCEPT] /= max(stats[LEAPFROGS], 1.0)
    stats[DEPTH] = depth


@jit(fastmath=_FAST)
def find_step_size(
    target: Target, point: Point, tree: Tree, inv_mass: np.ndarray, step_size: float, key: np.uint64, position: int
) -> tuple[float, int]:
    """pyro's and Stan's first guess: double (or halve) the step size until one leapfrog step from ``point``, with a
    fresh momentum each try, crosses an acceptance of STEP_SEARCH_ACCEPT. Returns the step size and the next free
    stream position (each try uses P)."""
    n = point.q.shape[0]
    threshold = math.log(STEP_SEARCH_ACCEPT)
    direction = 0
    low, high = STEP_SEARCH_LIMITS
    while True:
        _draw_momentum(key, position, inv_mass, tree.edge_p, tree.uniforms)
        position += n
        h0 = point.potential[0] + _kinetic(tree.edge_p, inv_mass)
        tree.edge_q[:] = point.q
        tree.edge_grad[:] = point.grad
        energy = _leapfrog(target, tree.edge_q, tree.edge_p, tree.edge_grad, step_size, inv_mass)
        delta = energy + _kinetic(tree.edge_p, inv_mass) - h0
        way = 1 if threshold < -delta else -1  # a NaN delta counts as too big a step
        if direction == 0:
            direction = way
        elif way != direction or not low < step_size < high:
            return min(max(step_size, low), high), position
        step_size = step_size * 2.0 if direction == 1 else step_size * 0.5
