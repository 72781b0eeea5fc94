"""Cells per second of a sweep: in this process (1 worker), in a pool of 2 local worker processes, and as Ray
tasks on a local runtime of 2 CPUs; and what Ray adds per cell. Each way runs the same cells into a new folder
(no resume), quiet and then beside one busy neighbour process.

    python benchmarks/sweep_speed.py [--cells 36] [--epochs 3000] [--hidden 16] [--no-neighbour]

"wall" includes starting the workers (spawned processes import torch; Ray also starts its runtime); "steady"
is the rate after the first cell came back. Ray's overhead per cell is its steady seconds per cell minus the
pool's, times 2 (two CPUs): the time each task costs beyond the training itself.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.neighbour import neighbour
from bnn_core import RunConfig
from bnn_core.config import DataConfig, ModelConfig, TrainConfig
from bnn_core.data.datasets import load_builtin
from bnn_core.engine.threads import one_thread_per_call
from bnn_core.sweep import CellRunner, SweepProgress, SweepSpec, pool_cells, ray_cells, run_sweep


def _spec(cells: int, hidden: int, epochs: int) -> SweepSpec:
    """About ``cells`` cells: a square σ₀ × KL weight grid, one seed."""
    side = max(1, round(math.sqrt(cells)))
    base = RunConfig(data=DataConfig(dataset="two_moons"), model=ModelConfig(hidden=(hidden,)),
                     train=TrainConfig(epochs=epochs))  # fmt: skip
    sigmas = tuple(float(f"{0.01 * 1000 ** (i / max(side - 1, 1)):.4g}") for i in range(side))
    weights = tuple(float(f"{1e-4 * 1e4 ** (i / max(side - 1, 1)):.4g}") for i in range(side))
    return SweepSpec(base, sigmas, weights)


def _time(runner: CellRunner, spec: SweepSpec) -> tuple[float, float, int]:
    """Wall seconds, seconds from the first result to the last, and the number of cells."""
    first: list[float] = []

    def note(progress: SweepProgress) -> None:
        if not first:
            first.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        table, _ = run_sweep(load_builtin("two_moons"), spec, Path(folder) / "s", runner, on_cell=note)
        end = time.perf_counter()
    assert set(table["status"]) == {"ok"}, table["message"].tolist()
    return end - start, end - first[0], len(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=36)
    parser.add_argument("--epochs", type=int, default=3000)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--no-neighbour", action="store_true", help="skip the runs beside a busy process")
    args = parser.parse_args()
    one_thread_per_call()
    spec = _spec(args.cells, args.hidden, args.epochs)
    ways = {"1 worker (in process)": pool_cells(1), "2 local workers": pool_cells(2),
            "Ray local, 2 CPUs": ray_cells("local", cpus=2)}  # fmt: skip
    print(f"two_moons, {args.hidden} units, {args.epochs} epochs, {len(spec.cells())} cells")
    print("| neighbour | way | wall (s) | cells/s (wall) | cells/s (steady) |")
    print("|---|---|---|---|---|")
    for busy in [False] if args.no_neighbour else [False, True]:
        steady = {}
        with neighbour(busy):
            for name, runner in ways.items():
                wall, after_first, cells = _time(runner, spec)
                steady[name] = (cells - 1) / after_first if after_first > 0 and cells > 1 else cells / wall
                print(f"| {'busy' if busy else 'quiet'} | {name} | {wall:.1f} | {cells / wall:.2f} | "
                      f"{steady[name]:.2f} |")  # fmt: skip
        overhead = 2 * (1 / steady["Ray local, 2 CPUs"] - 1 / steady["2 local workers"])
        where = "busy" if busy else "quiet"
        print(f"| {where} | Ray's overhead per cell vs the pool | {overhead * 1000:+.0f} ms | | |")


if __name__ == "__main__":
    main()
