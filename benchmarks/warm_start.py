"""Why a clicked-in point retrains afresh: the bands after one click, trained afresh or warm-started.

    python benchmarks/warm_start.py [--seeds 0-2]

The cubic set with the gallery's cubic preset (50 units, the set's noise σ 3, textbook ELBO), then one point
added at (4.4, 72) as a click would. For each seed it
prints the epistemic std at x = −6, 0, 4.4 and 6 for the run before the click, for a fresh run on the 21 points
(what the dashboard does), and for runs warm-started from the first run's posterior (and learned noise σ) and
trained 3000, 1000, 300 or 100 more steps.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bnn_core import TrainConfig, TrainedRun, load_builtin, prepare, train_run
from bnn_core.data.datasets import edit_rows
from bnn_core.engine.train import fit
from bnn_core.model.network import NetworkSpec
from bnn_core.posterior.regression import curve_bands, likelihood_for
from bnn_core.runs.gallery import PRESETS_BY_SLUG
from bnn_core.seeds import TRAIN_NOISE, stream_seed

AT = np.array([[-6.0], [0.0], [4.4], [6.0]])
CLICK = (4.4, 72.0)


def epistemic(model, likelihood, data) -> str:
    bands = curve_bands(model, likelihood, data, AT, 200, seed=0)
    return " · ".join(f"{value:.2f}" for value in bands.epistemic)


def warm(run: TrainedRun, dataset, steps: int) -> str:
    """Train ``steps`` more steps on ``dataset`` from ``run``'s posterior and learned σ; its epistemic stds."""
    config = run.config
    data = prepare(dataset, config.data, config.seed)
    likelihood = likelihood_for(config, data)
    with torch.no_grad():
        likelihood.log_sigma.copy_(run.likelihood.log_sigma)
    spec = NetworkSpec.of(run.model)
    model = spec.build(spec.pack(run.model))
    train = data.train_mask
    more = TrainConfig(epochs=steps, lr=config.train.lr, kl_weight=config.train.kl_weight,
                       kl_reduction=config.train.kl_reduction)  # fmt: skip
    fit(model, data.x[train], data.y[train], more, stream_seed(config.seed, TRAIN_NOISE), likelihood=likelihood)
    return epistemic(model, likelihood, data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-2", help="a range such as 0-2")
    args = parser.parse_args()
    low, high = (int(part) for part in args.seeds.split("-"))
    print("| seed | run | epistemic std at x = −6 · 0 · 4.4 · 6 |\n|---|---|---|")
    for seed in range(low, high + 1):
        run = train_run(load_builtin("cubic"), replace(PRESETS_BY_SLUG["cubic"].config, seed=seed))
        edited = edit_rows(run.data.dataset, add_x=np.array([[CLICK[0]]]), add_y=np.array([CLICK[1]]))
        fresh = train_run(edited, run.config)
        print(f"| {seed} | before the click | {epistemic(run.model, run.likelihood, run.data)} |")
        print(f"| {seed} | afresh on 21 points | {epistemic(fresh.model, fresh.likelihood, fresh.data)} |")
        for steps in (3000, 1000, 300, 100):
            print(f"| {seed} | warm start, {steps} more steps | {warm(run, edited, steps)} |")


if __name__ == "__main__":
    main()
