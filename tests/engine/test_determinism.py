"""Same seed, same run: alone, or in threads beside other runs, as browser sessions share one server process."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
import torch

from bnn_core import (
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
    TrainedRun,
    load_builtin,
    load_run,
    sample_probs,
    save_run,
    train_run,
    train_twin,
)

# Four runs that differ in dataset, engine and architecture, plus the twin of the first.
CONFIGS = {
    "iris, fast": ("iris", RunConfig(train=TrainConfig(epochs=300), seed=3, samples=20)),
    "wine, torchbnn": ("wine", RunConfig(train=TrainConfig(epochs=300, engine="torchbnn"), seed=4, samples=20)),
    "two_moons, fast, 2 layers": (
        "two_moons",
        RunConfig(model=ModelConfig(hidden=(16, 16), activation="tanh"), train=TrainConfig(epochs=300), seed=5),
    ),
    "iris, torchbnn, sum": (
        "iris",
        RunConfig(
            data=DataConfig(test_size=0.3),
            train=TrainConfig(epochs=200, kl_reduction="sum", kl_weight=0.01, engine="torchbnn"),
            seed=6,
            samples=10,
        ),
    ),
}


def _fingerprint(run: TrainedRun) -> dict[str, object]:
    """Everything a run computed from its seed, as plain arrays (train_seconds left out: it is a clock)."""
    twin = train_twin(run)
    return {
        "split": run.data.is_test.copy(),
        "weights": {k: v.clone() for k, v in run.model.state_dict().items()},
        "history": run.fit.history.total.copy(),
        "mean_probs": run.evaluation.uncertainty.mean_probs.clone(),
        "metrics": {k: v for k, v in run.metrics.items() if k != "train_seconds"},
        "twin": {k: v.clone() for k, v in twin.model.state_dict().items()},
    }


def _run(name: str) -> dict[str, object]:
    dataset, config = CONFIGS[name]
    return _fingerprint(train_run(load_builtin(dataset), config))


def _assert_same(a: dict[str, object], b: dict[str, object], name: str) -> None:
    np.testing.assert_array_equal(a["split"], b["split"], err_msg=name)
    np.testing.assert_array_equal(a["history"], b["history"], err_msg=name)
    assert a["metrics"] == b["metrics"], name
    assert torch.equal(a["mean_probs"], b["mean_probs"]), name
    for part in ("weights", "twin"):
        for key, value in a[part].items():
            assert torch.equal(value, b[part][key]), f"{name}: {part} {key}"


def _train_into(name: str, results: dict[str, dict[str, object]]) -> None:
    results[name] = _run(name)


def _draw_from_the_global_generator(stop: threading.Event) -> None:
    """What another session's code might do meanwhile: draw from torch's global generator."""
    while not stop.is_set():
        torch.randn(1000)


@pytest.mark.slow
def test_runs_in_threads_beside_each_other_equal_the_same_runs_alone() -> None:
    alone = {name: _run(name) for name in CONFIGS}
    for trial in range(3):
        together: dict[str, dict[str, object]] = {}
        stop = threading.Event()

        noisy = threading.Thread(target=_draw_from_the_global_generator, args=(stop,))
        workers = [threading.Thread(target=_train_into, args=(name, together)) for name in CONFIGS]
        noisy.start()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        stop.set()
        noisy.join()
        assert set(together) == set(CONFIGS), f"trial {trial}: a thread failed"
        for name in CONFIGS:
            _assert_same(alone[name], together[name], f"trial {trial}, {name}")


@pytest.mark.parametrize("engine", ["fast", "torchbnn"])
def test_nothing_reads_or_moves_torchs_global_generator(tmp_path, engine: str) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    run = train_run(load_builtin("iris"), RunConfig(train=TrainConfig(epochs=30, engine=engine), samples=10))
    train_twin(run)
    sample_probs(run.model, run.data.x, 7, seed=1)
    load_run(save_run(run, tmp_path / "run"))
    assert torch.equal(torch.rand(3), expected)


def test_a_different_seed_changes_every_stream() -> None:
    a, b = (train_run(load_builtin("iris"), RunConfig(train=TrainConfig(epochs=30), samples=5, seed=s)) for s in (0, 1))
    assert not np.array_equal(a.data.is_test, b.data.is_test)
    assert not torch.equal(a.model[0].weight_mu, b.model[0].weight_mu)
    assert not np.array_equal(a.fit.history.total, b.fit.history.total)


# Each likelihood the kernels know, short runs: the hash of the trained weights' bytes.
_WEIGHTS_HASH = """
import hashlib
from bnn_core import ModelConfig, RunConfig, TrainConfig, load_builtin, train_run
hashes = []
for name, noise in (("iris", "learned"), ("cubic", "learned"), ("heteroscedastic", "heteroscedastic")):
    config = RunConfig(model=ModelConfig(noise=noise), train=TrainConfig(epochs=2000))
    run = train_run(load_builtin(name), config)
    weights = b"".join(value.detach().numpy().tobytes() for value in run.model.state_dict().values())
    hashes.append(hashlib.sha256(weights).hexdigest())
print(" ".join(hashes))
"""


@pytest.mark.slow
def test_kernels_compiled_in_this_process_train_as_the_cached_ones_do(tmp_path) -> None:
    """The first process on a machine compiles the kernels; later ones load them from numba's cache. Both must train
    the same bits, or a link reproduces its picture only on a warm server. With LLVM free to reassociate the KL's sum
    over the parameters, the two differed in the last bit of the first step and, 8,000 steps on, a heteroscedastic
    run's σ(x) by a factor of 2,000."""
    import subprocess
    import sys
    from pathlib import Path

    environment = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    root = Path(__file__).resolve().parents[2]

    def hashes() -> str:
        command = [sys.executable, "-c", _WEIGHTS_HASH]
        done = subprocess.run(command, cwd=root, env=environment, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    compiled_here = hashes()
    assert any((tmp_path / "cache").rglob("*.nbc")), "the first process should have filled the cache"
    assert hashes() == compiled_here
