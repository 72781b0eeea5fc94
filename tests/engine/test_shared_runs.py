"""The run store every replica shares: read back whole, trained once by racing processes, bounded, uploads never.

The oracle for "the same run" is the training process's own posterior: a run read from the store must give the
same mean probabilities, to the bit, and the same weights.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from bnn_core import RunConfig, TrainConfig, TrainedRun, load_builtin, read_csv, train_run
from bnn_core.runs.cache import RunCache
from bnn_core.runs.shared import SharedRuns, run_key
from bnn_core.runs.store import MODEL_FILE
from tests.support.shared_race import CONFIG, TRAINED_BY

ROOT = Path(__file__).resolve().parents[2]
QUICK = RunConfig(train=TrainConfig(epochs=40), samples=5)


def _config(seed: int) -> RunConfig:
    return replace(QUICK, seed=seed)


def _run(seed: int) -> TrainedRun:
    return train_run(load_builtin("iris"), _config(seed))


def _never(report):
    pytest.fail("trained although the shared store had the run")


def _same(a: TrainedRun, b: TrainedRun) -> bool:
    left, right = a.model.state_dict(), b.model.state_dict()
    same_weights = left.keys() == right.keys() and all(torch.equal(left[key], right[key]) for key in left)
    return same_weights and torch.equal(a.evaluation.uncertainty.mean_probs, b.evaluation.uncertainty.mean_probs)


def test_a_run_trained_on_one_replica_is_read_on_another_without_training(tmp_path: Path) -> None:
    """Two replicas: two processes' memory caches over one folder (here two caches in one process)."""
    a, b = RunCache(shared=SharedRuns(tmp_path)), RunCache(shared=SharedRuns(tmp_path))
    trained = a.get_or_train(_config(1), lambda report: train_run(load_builtin("iris"), _config(1)))
    assert len(a.shared) == 1 and (tmp_path / run_key(_config(1))).is_symlink()
    assert b.get(_config(2)) is None
    read = b.get_or_train(_config(1), _never)
    assert read is not trained and read.config == _config(1) and _same(read, trained)
    assert read.metrics["train_seconds"] == trained.metrics["train_seconds"]  # its training, not a new one
    assert len(b) == 1 and _same(b.get(_config(1)), trained)  # now in b's memory too


def test_the_key_is_every_setting_and_the_package_version(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = {run_key(config) for config in (QUICK, _config(1), replace(QUICK, samples=6))}
    assert len(keys) == 3 and run_key(QUICK) == run_key(RunConfig.from_flat(QUICK.to_flat()))
    monkeypatch.setattr("bnn_core.runs.shared.__version__", "99.0")
    assert run_key(QUICK) not in keys


def test_the_least_recently_used_runs_go_first_and_the_bounds_hold(tmp_path: Path) -> None:
    runs = {seed: _run(seed) for seed in range(4)}
    store = SharedRuns(tmp_path / "count", max_runs=3)
    for seed in (0, 1, 2):
        store.put(runs[seed])
        time.sleep(0.02)  # distinct marks of use
    assert store.get(_config(0)) is not None  # 0 is now the most recently used; 1 is the least
    time.sleep(0.02)
    store.put(runs[3])
    assert len(store) == 3 and store.get(_config(1)) is None
    assert all(store.get(_config(seed)) is not None for seed in (0, 2, 3))
    assert not (tmp_path / "count" / ".locks" / f"{run_key(_config(1))}.lock").exists()
    one = sum(f.stat().st_size for f in (tmp_path / "count" / run_key(_config(0))).resolve().iterdir())
    small = SharedRuns(tmp_path / "bytes", max_bytes=int(2.5 * one))
    for seed in range(4):
        small.put(runs[seed])
        time.sleep(0.02)
    assert [small.get(_config(s)) is not None for s in range(4)] == [False, False, True, True]
    assert len(list((tmp_path / "bytes" / ".bnn_runs").iterdir())) == 2  # the evicted runs' folders are gone


def test_a_damaged_entry_is_a_miss_and_is_trained_again(tmp_path: Path) -> None:
    store = SharedRuns(tmp_path)
    store.put(_run(1))
    (tmp_path / run_key(_config(1)) / MODEL_FILE).unlink()
    assert store.get(_config(1)) is None
    calls = []
    run = store.get_or_train(_config(1), lambda report: calls.append(1) or _run(1))
    assert calls == [1] and _same(store.get(_config(1)), run)


def test_a_run_on_an_upload_never_reaches_the_shared_store(tmp_path: Path) -> None:
    text = "a,b,kind\n" + "".join(f"{i},{(i * 7) % 5},{'xy'[i % 2]}\n" for i in range(40))
    dataset = read_csv(text.encode(), "kind", name="private.csv")
    config = replace(QUICK, data=replace(QUICK.data, dataset=dataset.name))
    cache = RunCache(shared=SharedRuns(tmp_path))
    cache.put(train_run(dataset, config))
    assert len(cache) == 1 and len(cache.shared) == 0
    assert not [entry for entry in tmp_path.iterdir() if not entry.name.startswith(".")]


def _racer(store: Path, out: Path, *options: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "tests.support.shared_race", str(store), str(out), *options]
    return subprocess.Popen(command, cwd=ROOT)


def _wait_for(path: Path, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@pytest.mark.slow  # two fresh Python processes importing torch: 20-30 s on a loaded 2-core machine
def test_two_processes_racing_for_one_config_train_it_once(tmp_path: Path) -> None:
    """Two app processes ask for the same run at the same moment: one trains, the other waits, hearing its
    progress, then reads it; both end with the same run."""
    store, go = tmp_path / "store", tmp_path / "go"
    racers = [_racer(store, tmp_path / f"p{i}.json", "--go", str(go), "--pause", "2") for i in range(2)]
    for i in range(2):
        _wait_for(tmp_path / f"p{i}.ready")
    go.touch()
    assert [racer.wait(timeout=180) for racer in racers] == [0, 0]
    results = [json.loads((tmp_path / f"p{i}.json").read_text()) for i in range(2)]
    assert sorted(result["trained"] for result in results) == [False, True]
    assert len((store / TRAINED_BY).read_text().split()) == 1
    assert results[0]["probs"] == results[1]["probs"]
    waiter = next(result for result in results if not result["trained"])
    assert waiter["heard"] >= 2  # it watched the other process's training through the progress file
    assert len(SharedRuns(store)) == 1 and not list((store / ".progress").iterdir())


@pytest.mark.slow
def test_when_the_training_process_dies_a_waiting_one_trains(tmp_path: Path) -> None:
    """The lock is the system's: a replica killed mid-training leaves no lock behind, and its waiter trains."""
    store = tmp_path / "store"
    first = _racer(store, tmp_path / "first.json", "--pause", "120")
    _wait_for(store / TRAINED_BY)
    second = _racer(store, tmp_path / "second.json", "--pause", "0")
    _wait_for(tmp_path / "second.ready")
    time.sleep(1.5)  # the second waits on the lock meanwhile
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert second.wait(timeout=180) == 0
    result = json.loads((tmp_path / "second.json").read_text())
    assert result["trained"] and result["heard"] >= 1
    assert len((store / TRAINED_BY).read_text().split()) == 2 and len(SharedRuns(store)) == 1
    assert SharedRuns(store).get(CONFIG) is not None


def test_a_store_that_cannot_be_written_costs_only_the_sharing(tmp_path: Path, monkeypatch, caplog) -> None:
    def full(run, out):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("bnn_core.runs.shared.save_run", full)
    cache = RunCache(shared=SharedRuns(tmp_path))
    run = cache.get_or_train(_config(1), lambda report: _run(1))
    assert run.config == _config(1) and len(cache) == 1 and len(cache.shared) == 0
    assert "kept no copy of a run: [Errno 28] No space left on device" in caplog.text
