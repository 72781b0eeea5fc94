"""Reference posteriors for the built-in 2-D sets: NUTS on the app's network, written to references/.

    PYTHONPATH=. python benchmarks/hmc_references.py [--quick --out DIR] [--datasets two_moons,circles]

For each set it samples the run of ``bnn_core.methods.hmc.reference_run_config``
(a 2 → 16 → 2 ReLU network, prior N(0, 1),
seed 0) with the default HMCConfig, prints the wall time, the function-space split R-hat and ESS, the divergences
and the test accuracy of the posterior mean, and writes ``<out>/<dataset>.safetensors``, which the app finds by
its key. ``--quick`` runs tiny chains, a smoke test of seconds; its files are no references, so it needs ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bnn_core.data.datasets import load_builtin
from bnn_core.data.prepared import prepare
from bnn_core.engine.threads import one_thread_per_call
from bnn_core.methods.hmc import (
    REFERENCE_DATASETS,
    REFERENCES,
    HMCConfig,
    HMCPosterior,
    reference_key,
    reference_run_config,
    run_hmc,
    save_reference,
)
from bnn_core.posterior.uncertainty import accuracy

QUICK = HMCConfig(samples=10, warmup=10, max_tree_depth=4)  # a few gradients a draw: seconds, not minutes


def reference(dataset: str, config: HMCConfig, out: Path) -> tuple[HMCPosterior, float]:
    """Sample ``dataset``'s reference run, write it to ``out``, and return it with its test accuracy."""
    run = reference_run_config(dataset)
    data = prepare(load_builtin(dataset), run.data, run.seed)
    posterior = run_hmc(data, run, config)
    assert posterior is not None  # nothing cancels it
    save_reference(out / f"{dataset}.safetensors", posterior, reference_key(run, config))
    mean_probs = posterior.probs(data.x[data.test_mask]).mean(dim=0)  # (N_test, C)
    return posterior, accuracy(mean_probs, data.y[data.test_mask])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny chains: a smoke test, not references")
    parser.add_argument("--out", type=Path, help=f"where the files go (default {REFERENCES})")
    parser.add_argument("--datasets", default=",".join(REFERENCE_DATASETS), help="comma-separated built-in sets")
    args = parser.parse_args()
    if args.quick and args.out is None:
        parser.error("--quick needs --out, so its throwaway chains never replace the shipped references")
    out = args.out or REFERENCES
    out.mkdir(parents=True, exist_ok=True)
    config = QUICK if args.quick else HMCConfig()
    one_thread_per_call()
    print(f"HMCConfig: {config}")
    print("| dataset | seconds | rhat_max | rhat_median | ess_min | ess_median | divergences | accept | test acc. |")
    print("|---|---|---|---|---|---|---|---|---|")
    for dataset in args.datasets.split(","):
        posterior, test_accuracy = reference(dataset, config, out)
        print(
            f"| {dataset} | {posterior.seconds:.1f} | {posterior.rhat_max:.3f} | {posterior.rhat_median:.3f} "
            f"| {posterior.ess_min:.0f} | {posterior.ess_median:.0f} | {posterior.divergences} "
            f"| {posterior.accept_prob:.2f} | {test_accuracy:.1%} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
