"""How long one prior-predictive update takes on the "Inside the network" page, against its 0.5 s goal.

    python benchmarks/prior_speed.py [--repeats 10]

One update is what moving the σ₀ slider recomputes: for a classification set, the four prior draws' classes over an
80 × 80 grid and 50 draws' confidence and mutual information (bnn_core.posterior.weights.prior_map);
for a regression set,
20 prior functions along the first feature (prior_curves). "with figures" adds building the plotly figures the page
sends. Each repeat moves σ₀ one step along the slider's ladder, so every update is a fresh computation. Medians,
with one thread per call (the app's policy, bnn_core/threads.py), on a quiet machine and then beside a neighbour
process that keeps one core busy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bnn_core import NetworkSpec, RunConfig, TrainConfig, TrainedRun, feature_grid, load_builtin, train_run
from bnn_core.engine.threads import one_thread_per_call
from bnn_core.posterior.regression import axis_grid
from bnn_core.posterior.weights import PRIOR_CURVES, PRIOR_MAPS, PRIOR_RESOLUTION, prior_curves, prior_map
from bnn_core.settings import SETTINGS
from ui.figures.weights import prior_curves_figure, prior_map_figure

GOAL = 0.5  # seconds, from the issue: moving σ₀ updates the pictures live
DATASETS = ("iris", "two_moons", "cubic")
BUSY = "while True: pass"  # the neighbour: one core, always busy


def update(run: TrainedRun, sigma: float, figures: bool) -> None:
    """What one σ₀ move recomputes on the page (and, with ``figures``, the figures it sends)."""
    spec = replace(NetworkSpec.of(run.model), prior_sigma=sigma)
    dataset, seed = run.data.dataset, run.config.seed
    if run.task == "regression":
        raw = axis_grid(run.data, 0)
        curves = prior_curves(spec, run.data, raw, PRIOR_CURVES, seed)
        if figures:
            prior_curves_figure(raw[:, 0], curves, (dataset.x[:, 0], dataset.y), ("x", "y"))
        return
    grid = feature_grid(run.data, 0, 1, resolution=PRIOR_RESOLUTION)
    maps = prior_map(spec, run.data, grid, PRIOR_MAPS, seed)
    if figures:
        points = (dataset.x[:, 0], dataset.x[:, 1], dataset.y)
        for k in range(PRIOR_MAPS):
            prior_map_figure(grid, maps.predicted[k], f"#{k}", ("a", "b"), dataset.class_names, points)


def median_seconds(work: Callable[[float], None], repeats: int) -> float:
    """The median time of ``work(σ₀)`` over ``repeats`` calls, σ₀ stepping along the slider's ladder."""
    ladder = SETTINGS["prior_sigma"].ladder
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        work(ladder[i % len(ladder)])
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@contextmanager
def busy_neighbour(on: bool) -> Iterator[None]:
    """Another process spinning on one core beside the benchmark, if ``on``."""
    if not on:
        yield
        return
    process = subprocess.Popen([sys.executable, "-c", BUSY])
    try:
        time.sleep(0.5)  # let it start spinning before the clock does
        yield
    finally:
        process.terminate()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    one_thread_per_call()
    # One training step is enough: the prior picture needs only the run's network shape, data and seed.
    runs = {name: train_run(load_builtin(name), RunConfig(train=TrainConfig(epochs=1))) for name in DATASETS}
    for run in runs.values():
        update(run, 0.1, figures=True)  # compiles the noise generator and warms plotly outside the clock
    load = os.getloadavg()[0]
    print(f"One prior-predictive update, median of {args.repeats} (seconds; goal {GOAL} s); load {load:.2f}")
    print("| dataset | network | drawn | neighbour | data | with figures | goal met |")
    print("|---|---|---|---|---|---|---|")
    for busy in (False, True):
        with busy_neighbour(busy):
            for name, run in runs.items():
                sizes = " → ".join(str(size) for size in NetworkSpec.of(run.model).sizes)
                drawn = (
                    f"{PRIOR_CURVES} functions"
                    if run.task == "regression"
                    else f"{PRIOR_MAPS} maps of {PRIOR_RESOLUTION}²"
                )
                data = median_seconds(lambda sigma: update(run, sigma, figures=False), args.repeats)  # noqa: B023
                full = median_seconds(lambda sigma: update(run, sigma, figures=True), args.repeats)  # noqa: B023
                where = "one core busy" if busy else "none"
                print(f"| {name} | {sizes} | {drawn} | {where} | {data:.3f} | {full:.3f} | "
                      f"{'yes' if full < GOAL else 'no'} |")  # fmt: skip


if __name__ == "__main__":
    main()
