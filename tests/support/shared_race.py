"""One app process asking a shared run store for a run, as a replica does: a test starts two of these at once.

    python -m tests.support.shared_race STORE OUT [--pause SECONDS] [--go FILE]

Writes ``OUT.ready`` once imported, waits for the file ``--go`` (so that two processes ask at the same moment),
then asks its own :class:`RunCache` over the store ``STORE`` for one fixed iris run, and writes ``OUT`` (JSON):
whether this process trained it, how many progress reports it heard, and the run's posterior mean probabilities.
A training appends this process's ID to ``STORE/trained-by`` first, then holds for ``--pause`` seconds,
reporting progress.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from bnn_core import Progress, RunConfig, TrainConfig, TrainedRun, load_builtin, train_run
from bnn_core.engine.train import ProgressCallback
from bnn_core.runs.cache import RunCache
from bnn_core.runs.shared import SharedRuns

CONFIG = RunConfig(train=TrainConfig(epochs=40), samples=5, seed=7)
TRAINED_BY = "trained-by"


def _train(store: Path, pause: float, trained: list[int]):
    def train(report: ProgressCallback) -> TrainedRun:
        trained.append(os.getpid())
        with open(store / TRAINED_BY, "a", encoding="utf-8") as log:
            log.write(f"{os.getpid()}\n")
        steps = max(1, round(pause / 0.1))
        for step in range(1, steps + 1):  # slow first steps: the other process asks meanwhile
            report(Progress(step, CONFIG.train.epochs, 1.0, 0.5, 1.0, 0.5, step * 0.1))
            time.sleep(pause / steps)
        return train_run(load_builtin("iris"), CONFIG, on_progress=report, progress_every=10)

    return train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--pause", type=float, default=1.5)
    parser.add_argument("--go", type=Path)
    args = parser.parse_args()
    cache, heard, trained = RunCache(shared=SharedRuns(args.store)), [], []
    args.out.with_suffix(".ready").touch()
    while args.go is not None and not args.go.exists():
        time.sleep(0.01)
    run = cache.get_or_train(CONFIG, _train(args.store, args.pause, trained), heard.append)
    result = {"trained": bool(trained), "heard": len(heard), "probs": run.evaluation.uncertainty.mean_probs.tolist()}
    args.out.write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main()
