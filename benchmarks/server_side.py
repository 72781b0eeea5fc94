"""The server's side of many sessions, without browsers on the same cores: N sessions' work in N threads.

    python benchmarks/server_side.py [--sessions 1,4,8] [--repeats 2] [--neighbour]

A Streamlit server runs each session's script in a thread of one process. This runs the same
calls the same way: N threads of one process, under the app's thread policy
(``one_thread_per_call``), each training its own seed at the same moment. Real browser sessions
(benchmarks/load.py) put their Chromium renderers on the server's two cores too, where they took
most of the CPU; here the cores belong to the server, as they do when the users' browsers run on
their own machines.

1. N trainings at once: each one's wall time ÷ the median of the same training alone (iris and
   breast_cancer at the app's defaults, 3000 epochs), against the goal (N / cores) × 1.5.
2. A Resample's server work (the page's own code: sample #k against #k−1, hover, chart and its JSON) while N−1
   other threads train on breast_cancer; and while one thread trains 100,000 epochs × 1,000 units.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neighbour import neighbour

from bnn_core import DataConfig, RunConfig, TrainConfig, TrainedRun, load_builtin, train_run
from bnn_core.config import ModelConfig
from bnn_core.engine.threads import one_thread_per_call
from ui.figures.base import Points, Ring, class_scatter, padded_range, uncertainty_sizes
from ui.views.side_by_side import build_hover, sample_predictions

DATASETS = ("iris", "breast_cancer")
FIRST_SEED = 2000
LONG_EPOCHS, LONG_UNITS = 100_000, 1000
CORES = os.cpu_count() or 1


def config(dataset: str, seed: int, epochs: int = 3000, units: int = 100) -> RunConfig:
    base = RunConfig()
    return RunConfig(
        data=DataConfig(dataset=dataset, test_size=base.data.test_size),
        model=ModelConfig(hidden=(units,)),
        train=TrainConfig(epochs=epochs),
        seed=seed,
    )


def timed(work: Callable[[], object]) -> float:
    """Wall seconds of ``work()``."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def trainings_at_once(dataset: str, seeds: list[int]) -> list[float]:
    """Wall seconds of each of ``len(seeds)`` trainings started together, one thread each."""
    data = load_builtin(dataset)
    start = threading.Barrier(len(seeds))

    def one(seed: int) -> float:
        start.wait()
        return timed(lambda: train_run(data, config(dataset, seed)))

    with ThreadPoolExecutor(len(seeds)) as pool:
        return list(pool.map(one, seeds))


def resample_work(run: TrainedRun, k: int) -> None:
    """What a Resample press computes on the server with the page's own code: sample #k against #k−1 on every
    point, its hover text, the chart (class_scatter with its rings) and the chart's JSON for the browser."""
    rows = np.arange(run.data.dataset.n_rows)
    probs, changed = sample_predictions(run, k)
    predicted = probs.argmax(1)
    sizes = uncertainty_sizes(run.evaluation.uncertainty.entropy.numpy(), run.data.dataset.n_classes)
    hover = build_hover(run, rows).sample(k, probs, run.data.dataset.class_names)
    raw = run.data.dataset.x
    points = Points(raw[:, 2], raw[:, 3], predicted, run.data.is_test, hover, sizes)
    rings = [Ring("wrong", predicted != run.data.dataset.y, "#d62728"), Ring("changed", changed, "#111111")]
    ranges = (padded_range(raw[:, 2]), padded_range(raw[:, 3]))
    class_scatter(points, run.data.dataset.class_names, f"Posterior sample #{k}", ("x", "y"), ranges, rings).to_json()


def resample_beside(run: TrainedRun, trainings: list[Callable[[], object]]) -> list[float]:
    """Milliseconds of each Resample's work, pressed again and again while ``trainings`` run in threads."""
    times: list[float] = []
    with ThreadPoolExecutor(len(trainings)) as pool:
        running = [pool.submit(work) for work in trainings]
        k = 1
        while not all(job.done() for job in running):
            times.append(timed(lambda k=k: resample_work(run, k)) * 1000)
            k += 1
            time.sleep(0.05)  # a user's next press: not a spin
        for job in running:
            job.result()
    return times


def print_trainings(counts: list[int], repeats: int) -> None:
    print(f"\n1. N trainings at once in N threads: wall time ÷ the same alone (median), {repeats} round(s)")
    print("| sessions | dataset | alone p50 (s) | n | p50 × | p95 × | max × | goal ≤ | met |")
    print("|---|---|---|---|---|---|---|---|---|")
    seeds = iter(range(FIRST_SEED, FIRST_SEED + 10_000))
    for dataset in DATASETS:
        alone = [trainings_at_once(dataset, [next(seeds)])[0] for _ in range(max(3, repeats))]
        base = statistics.median(alone)
        for n in counts:
            ratios = [s / base for _ in range(repeats) for s in trainings_at_once(dataset, [next(seeds)
                      for _ in range(n)])]  # fmt: skip
            goal = max(n / CORES, 1) * 1.5
            met = "yes" if max(ratios) <= goal else "no"
            print(f"| {n} | {dataset} | {base:.2f} | {len(ratios)} | {statistics.median(ratios):.2f} | "
                  f"{np.quantile(ratios, 0.95):.2f} | {max(ratios):.2f} | {goal:g} | {met} |")  # fmt: skip


def print_resamples(counts: list[int], long_seconds: float) -> None:
    print("\n2. A Resample's server work (ms) while other threads train")
    print("| while | n | p50 | p95 | max | p95 < 1 s |\n|---|---|---|---|---|---|")
    run = train_run(load_builtin("iris"), config("iris", FIRST_SEED - 1))
    bc = load_builtin("breast_cancer")
    rows = {"nothing else": [timed(lambda k=k: resample_work(run, k)) * 1000 for k in range(1, 41)]}
    for n in (n for n in counts if n > 1):
        trainings = [lambda s=s: train_run(bc, config("breast_cancer", s)) for s in range(FIRST_SEED - n, FIRST_SEED)]
        others = "1 other thread trains" if n == 2 else f"{n - 1} other threads train"
        rows[f"{others} breast_cancer"] = resample_beside(run, trainings[1:])
    stop = threading.Event()
    iris = load_builtin("iris")

    def long_run() -> None:
        train_run(iris, config("iris", 7, LONG_EPOCHS, LONG_UNITS), on_progress=lambda _: stop.is_set())

    timer = threading.Timer(long_seconds, stop.set)
    timer.start()
    rows[f"{LONG_EPOCHS:,} epochs × {LONG_UNITS:,} units train ({long_seconds:g} s, then stopped)"] = resample_beside(
        run, [long_run]
    )
    for name, values in rows.items():
        met = "yes" if np.quantile(values, 0.95) < 1000 else "no"
        print(f"| {name} | {len(values)} | {np.quantile(values, 0.5):.0f} | {np.quantile(values, 0.95):.0f} | "
              f"{max(values):.0f} | {met} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="1,4,8", help="comma-separated thread counts (default 1,4,8)")
    parser.add_argument("--repeats", type=int, default=2, help="rounds of each N at once")
    parser.add_argument("--long-seconds", type=float, default=10, help="how long the long training runs")
    parser.add_argument("--neighbour", action="store_true", help="keep one core busy with another process meanwhile")
    args = parser.parse_args()
    counts = sorted({int(n) for n in args.sessions.split(",")})
    one_thread_per_call()
    with neighbour(args.neighbour):
        busy = "one core busy" if args.neighbour else "none"
        print(f"The server's side of {', '.join(map(str, counts))} sessions at once: {CORES} cores, load average "
              f"{os.getloadavg()[0]:.2f} at the start; neighbour: {busy}")  # fmt: skip
        print_trainings(counts, args.repeats)
        print_resamples(counts, args.long_seconds)


if __name__ == "__main__":
    main()
