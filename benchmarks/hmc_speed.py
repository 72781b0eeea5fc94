"""pyro's NUTS against the compiled NUTS on the same model, in one run: time per kept draw, R-hat and ESS.

    PYTHONPATH=. python benchmarks/hmc_speed.py [--quick] [--networks 16,32x32] [--numpyro]
        [--chains N] [--warmup N] [--samples N]

For each network (hidden widths, e.g. 16 or 32x32) on two_moons' reference run (prior N(0, 1), seed 0, the 240
training rows), both samplers of ``bnn_core.methods.hmc`` sample the posterior with the same HMCConfig (the default:
4 chains of 200 warm-up and 300 kept iterations, tree depth 8), one after another, on one thread each. The table
gives each run's wall time (warm-up included, compiles excluded: numba's is done before the clock, pyro's JIT trace
is a second or two of it), the time per kept draw, the leapfrog steps (gradients) per draw, the rank-normalised
split R-hat and bulk ESS over the predictions at the training rows and the 50 × 50 map grid, and the divergences.
``--numpyro`` adds NumPyro's NUTS (JAX) on the same model, if installed (``pip install numpyro``; not a dependency
of this project): the third candidate the sampler was chosen against, timed on a second run so that XLA's compile
is left out. ``--quick`` is a smoke test of seconds on tiny chains.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bnn_core.config import RunConfig
from bnn_core.data.datasets import load_builtin
from bnn_core.data.prepared import PreparedData, prepare
from bnn_core.engine.threads import one_thread_per_call
from bnn_core.methods.hmc import HMCConfig, hmc_spec, map_points, run_hmc
from bnn_core.methods.mixing import bulk_ess, rank_rhat
from bnn_core.methods.references import reference_run_config
from bnn_core.model.network import NetworkSpec

QUICK = HMCConfig(samples=10, warmup=10, max_tree_depth=3)
HEADER = (
    "| network | sampler | seconds | ms per kept draw | leapfrogs per iteration | µs per leapfrog | R-hat max "
    "| R-hat median | ESS min | ESS median | divergences |"
)


def network_run(hidden: tuple[int, ...]) -> RunConfig:
    """two_moons' reference run with these hidden widths."""
    run = reference_run_config("two_moons")
    return replace(run, model=replace(run.model, hidden=hidden))


def row(network: str, sampler: str, config: HMCConfig, seconds: float, leapfrogs: float, mixing: tuple) -> str:
    """One line of the table for a run of ``config`` whose iterations took ``leapfrogs`` steps on average (NaN: not
    reported); ``mixing`` is (R-hat max, median, ESS min, median, divergences)."""
    draws, iterations = config.chains * config.samples, config.chains * (config.warmup + config.samples)
    known = np.isfinite(leapfrogs)
    steps = f"{leapfrogs:.0f} | {1e6 * seconds / (iterations * leapfrogs):.0f}" if known else "— | —"
    rhat_max, rhat_median, ess_min, ess_median, divergences = mixing
    return (
        f"| {network} | {sampler} | {seconds:.1f} | {1000 * seconds / draws:.1f} | {steps} | {rhat_max:.4f} "
        f"| {rhat_median:.4f} | {ess_min:.0f} | {ess_median:.0f} | {divergences} |"
    )


def numpyro_row(network: str, data: PreparedData, run: RunConfig, config: HMCConfig) -> str:
    """NumPyro's NUTS on the same network, prior, rows and settings, timed on its second run."""
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    import jax
    import numpyro
    from numpyro import distributions
    from numpyro.infer import MCMC, NUTS
    from numpyro.infer.initialization import init_to_sample

    jax.config.update("jax_enable_x64", True)
    spec = hmc_spec(data, run)
    x, y = data.x[data.train_mask].double().numpy(), data.y[data.train_mask].numpy()

    def model(x: np.ndarray, y: np.ndarray) -> None:
        prior = distributions.Normal(spec.prior_mu, spec.prior_sigma).expand([spec.n_params]).to_event(1)
        theta = numpyro.sample("theta", prior)
        numpyro.sample("y", distributions.Categorical(logits=_forward(spec, theta, x)), obs=y)

    kernel = NUTS(model, max_tree_depth=config.max_tree_depth, target_accept_prob=config.target_accept,
                  init_strategy=init_to_sample)  # fmt: skip
    mcmc = MCMC(kernel, num_warmup=config.warmup, num_samples=config.samples, num_chains=config.chains,
                chain_method="sequential", progress_bar=False)  # fmt: skip
    for attempt in range(2):  # the first run compiles
        start = time.perf_counter()
        mcmc.run(jax.random.PRNGKey(attempt), x, y, extra_fields=("num_steps", "diverging"))
        draws = np.asarray(jax.block_until_ready(mcmc.get_samples(group_by_chain=True)["theta"]))
        seconds = time.perf_counter() - start
    extra = mcmc.get_extra_fields(group_by_chain=True)
    points = np.concatenate([x, data.inputs(map_points(data)).double().numpy()])
    flat = draws.reshape(-1, spec.n_params)
    probs = np.stack([np.asarray(jax.nn.softmax(_forward(spec, theta, points))) for theta in flat])  # (S, M, K)
    chains, samples = draws.shape[:2]
    quantities = probs.reshape(chains, samples, -1).transpose(2, 0, 1)
    quantities = quantities[quantities.std(axis=(1, 2)) > 0]
    rhat, ess = rank_rhat(quantities), bulk_ess(quantities)
    divergences = int(np.asarray(extra["diverging"]).sum())
    mixing = (rhat.max(), np.median(rhat), ess.min(), np.median(ess), divergences)
    leapfrogs = float(np.asarray(extra["num_steps"]).mean())  # warm-up and kept, as the others count
    return row(network, "numpyro", config, seconds, leapfrogs, mixing)


def _forward(spec: NetworkSpec, theta: Any, x: Any) -> Any:
    """The network's logits (N, K) for packed weights θ (P,), in JAX."""
    import jax

    h = x
    for index, layer in enumerate(spec.layers):
        weight = theta[layer.weights].reshape(layer.fan_out, layer.fan_in)
        h = (jax.nn.relu(h) if index else h) @ weight.T + theta[layer.biases]
    return h


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny chains on the 16-unit network: a smoke test")
    parser.add_argument("--networks", default="16,32x32", help="hidden widths per network, e.g. 16,32x32")
    parser.add_argument("--numpyro", action="store_true", help="also NumPyro's NUTS, if installed")
    parser.add_argument("--chains", type=int, help="chains per sampler (default: HMCConfig's)")
    parser.add_argument("--warmup", type=int, help="warm-up iterations per chain (default: HMCConfig's)")
    parser.add_argument("--samples", type=int, help="kept iterations per chain (default: HMCConfig's)")
    args = parser.parse_args()
    networks = ["16"] if args.quick else args.networks.split(",")
    config = QUICK if args.quick else HMCConfig()
    # Shorter chains for the larger network, where pyro takes the better part of an hour at the defaults: the
    # time per kept draw still compares the samplers, the R-hat of so few draws does not.
    lengths = {"chains": args.chains, "warmup": args.warmup, "samples": args.samples}
    config = replace(config, **{name: value for name, value in lengths.items() if value is not None})
    one_thread_per_call()
    settings = ", ".join(f"{name} {value}" for name, value in asdict(config).items() if name != "sampler")
    print(f"Every sampler: {settings}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(HEADER)
    print("|" + "---|" * (HEADER.count("|") - 1))
    ratios = []
    for network in networks:
        run = network_run(tuple(int(width) for width in network.split("x")))
        data = prepare(load_builtin("two_moons"), run.data, run.seed)
        per_draw = {}
        for sampler in ("pyro", "compiled"):
            posterior = run_hmc(data, run, replace(config, sampler=sampler))
            assert posterior is not None  # nothing cancels it
            mixing = (posterior.rhat_max, posterior.rhat_median, posterior.ess_min, posterior.ess_median,
                      posterior.divergences)  # fmt: skip
            print(row(network, sampler, config, posterior.seconds, posterior.leapfrogs, mixing), flush=True)
            per_draw[sampler] = posterior.seconds_per_draw
        if args.numpyro:
            print(numpyro_row(network, data, run, config), flush=True)
        ratios.append(f"- {network}: the compiled sampler takes 1/{per_draw['pyro'] / per_draw['compiled']:.0f} "
                      "of pyro's time per kept draw.")  # fmt: skip
    print("\n" + "\n".join(ratios))


if __name__ == "__main__":
    main()
