"""pyro's NUTS on the same posterior as the compiled sampler: the library reference it is checked and timed against.

The model is the packed parameter vector θ (P,), every entry N(prior_mu, prior_sigma²), and the likelihood of the
training rows: categorical on the logits, or Gaussian around the network's output with a fixed noise σ. The forward
pass is ``spec.forward_samples``, the one model definition.

pyro draws from torch's global generator and keeps its handler stack in a module global, so each chain holds
:data:`_SAMPLING` and a forked, seeded global generator: the same seed gives the same draws in any thread, and
nobody else's random state moves. The project's own code never draws from the global generator
(docs/design.md, Habits, 3), so nothing can step on it while a chain runs.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from pyro.infer import MCMC, NUTS
from pyro.infer.autoguide.initialization import init_to_sample

from ..model.network import NetworkSpec
from .nuts import Chain

_SAMPLING = threading.Lock()  # pyro's handler stack and torch's global generator are process-wide


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


def run_chain(
    spec: NetworkSpec,
    x: torch.Tensor,
    y: torch.Tensor,
    likelihood: str,
    noise_sigma: float,
    samples: int,
    warmup: int,
    max_depth: int,
    target_accept: float,
    key: int,
    report: Callable[[int, bool], None],
) -> Chain:
    """One pyro NUTS chain from seed ``key`` on rows x (N, D) float64 and targets y (N,); ``report(i, warmup)``
    after each iteration (i counts from 1). pyro does not report its leapfrog steps, so ``leapfrogs`` is empty."""
    # init_to_sample starts each chain at its own draw from the prior, dispersed as R-hat assumes; init_to_median
    # would start every chain at θ = prior_mu, where all hidden units of a layer are the same (and dead for ReLU).
    # The JIT-compiled potential takes a gradient in about a third of the time of pyro's traced one.
    model = functools.partial(_model, spec, likelihood=likelihood, noise_sigma=noise_sigma)
    kernel = NUTS(
        model,
        max_tree_depth=max_depth,
        target_accept_prob=target_accept,
        init_strategy=init_to_sample,
        jit_compile=True,
        ignore_jit_warnings=True,
    )
    accept_prob = [math.nan]

    def hook(kernel: NUTS, params: dict, stage: str, i: int) -> None:
        warm = stage.startswith("Warmup")
        if not warm and i == samples - 1:  # the kernel resets its running mean when the chain ends
            accept_prob[0] = float(kernel.logging()["acc. prob"])
        report(i + 1 + (0 if warm else warmup), warm)

    mcmc = MCMC(kernel, num_samples=samples, warmup_steps=warmup, hook_fn=hook, disable_progbar=True)
    with _SAMPLING, torch.random.fork_rng(devices=[]):
        # torch's generator is the only one NUTS draws from; pyro.set_rng_seed would also reseed Python's and
        # NumPy's global generators, outside fork_rng, and so move other code's random numbers.
        torch.manual_seed(key)
        mcmc.run(x, y)
    divergences = len(mcmc.diagnostics()["divergences"]["chain 0"])
    draws = mcmc.get_samples()["theta"].numpy()
    return Chain(draws, divergences, accept_prob[0], float(kernel.step_size), np.zeros(0, dtype=np.int64))
