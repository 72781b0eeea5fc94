"""Reference posteriors shipped in references/: NUTS on the reference runs and on every gallery preset HMC can take.

    PYTHONPATH=. python benchmarks/hmc_references.py [--quick --out DIR] [--datasets two_moons,circles]

It samples the reference run of each dataset (``bnn_core.methods.references.reference_run_config``: a 2 → 16 → 2 ReLU
network, prior N(0, 1), seed 0) and each gallery preset (``bnn_core/runs/gallery.py``) whose network and data HMC
takes and whose key is not already among them, with the default HMCConfig. It prints the wall time, the time per kept
draw, the R-hat and ESS over the training rows' and the map grid's predictions, the divergences and the test accuracy
of the posterior mean, and writes ``<out>/<dataset or preset>.safetensors``, which the app finds by its key.
``--quick`` runs tiny chains, a smoke test of seconds; its files are no references, so it needs ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bnn_core.config import RunConfig
from bnn_core.data.datasets import load_builtin
from bnn_core.data.prepared import prepare
from bnn_core.engine.threads import one_thread_per_call
from bnn_core.errors import BNNInputError
from bnn_core.methods.hmc import HMCConfig, HMCPosterior, hmc_spec, run_hmc
from bnn_core.methods.references import (
    REFERENCE_DATASETS,
    REFERENCES,
    reference_key,
    reference_run_config,
    save_reference,
)
from bnn_core.posterior.uncertainty import accuracy
from bnn_core.runs.gallery import PRESETS

QUICK = HMCConfig(samples=10, warmup=10, max_tree_depth=4)  # a few gradients a draw: seconds, not minutes


def reference_runs(datasets: list[str], config: HMCConfig) -> dict[str, RunConfig]:
    """{file name: run}: each dataset's reference run, then each classification preset HMC takes, once per key."""
    runs = {dataset: reference_run_config(dataset) for dataset in datasets}
    keys = [reference_key(run, config) for run in runs.values()]
    for preset in PRESETS:
        run = preset.config
        data = prepare(load_builtin(run.data.dataset), run.data, run.seed)
        try:
            hmc_spec(data, run)
        except BNNInputError:
            continue  # too big for HMC: the app offers a smaller network instead
        if data.dataset.task == "classification" and reference_key(run, config) not in keys:
            runs[preset.slug] = run
            keys.append(reference_key(run, config))
    return runs


def reference(run: RunConfig, config: HMCConfig, path: Path) -> tuple[HMCPosterior, float]:
    """Sample ``run``'s reference, write it to ``path``, and return it with its test accuracy."""
    data = prepare(load_builtin(run.data.dataset), run.data, run.seed)
    posterior = run_hmc(data, run, config)
    assert posterior is not None  # nothing cancels it
    save_reference(path, posterior, reference_key(run, config))
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
    print("| reference | seconds | ms per draw | rhat_max | rhat_median | ess_min | ess_median | divergences | accept "
          "| test acc. |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, run in reference_runs(args.datasets.split(","), config).items():
        posterior, test_accuracy = reference(run, config, out / f"{name}.safetensors")
        print(
            f"| {name} | {posterior.seconds:.1f} | {1000 * posterior.seconds_per_draw:.1f} | {posterior.rhat_max:.4f} "
            f"| {posterior.rhat_median:.4f} | {posterior.ess_min:.0f} | {posterior.ess_median:.0f} "
            f"| {posterior.divergences} | {posterior.accept_prob:.2f} | {test_accuracy:.1%} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
