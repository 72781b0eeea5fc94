"""How long the uncertainty map takes: a grid over two iris features, S posterior samples, 4→100→3.

    python benchmarks/map_speed.py [--repeats 5]

Prints the median of several runs per size, for the BNN map (S samples) and the plain network's map.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bnn_core import RunConfig, TrainConfig, bnn_map, feature_grid, load_builtin, train_run, train_twin, twin_map


def median_seconds(work, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=300, help="training steps of the model that is mapped")
    args = parser.parse_args()
    run = train_run(load_builtin("iris"), RunConfig(train=TrainConfig(epochs=args.epochs)))
    twin = train_twin(run)
    print("Uncertainty map, median of", args.repeats, "runs (seconds)")
    print(f"| {'grid':>9} | {'samples':>7} | {'BNN map':>8} | {'plain map':>9} |")
    print(f"|{'-' * 11}|{'-' * 9}|{'-' * 10}|{'-' * 11}|")
    for resolution, samples in ((50, 100), (100, 30), (100, 100), (200, 100)):
        grid = feature_grid(run.data, 0, 1, resolution=resolution)
        bnn = median_seconds(lambda: bnn_map(run.model, run.data, grid, samples, 0), args.repeats)  # noqa: B023
        plain = median_seconds(lambda: twin_map(twin.model, run.data, grid), args.repeats)  # noqa: B023
        print(f"| {f'{resolution}×{resolution}':>9} | {samples:>7} | {bnn:8.3f} | {plain:9.4f} |")


if __name__ == "__main__":
    main()
