"""The server-wide run cache: 50 callers for one link train once, bounds, least recently used out, failure hand-over."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest
import torch

from bnn_core import Progress, RunConfig, TrainConfig, TrainedRun, load_builtin, train_run
from bnn_core.runs.cache import RunCache, run_bytes

QUICK = RunConfig(train=TrainConfig(epochs=40), samples=5)


def _config(seed: int) -> RunConfig:
    return replace(QUICK, seed=seed)


def _trainer(calls: list[RunConfig], config: RunConfig, pause: float = 0.0):
    def train(report):
        calls.append(config)
        for step in range(1, 4):  # slow first steps: every other caller arrives and watches meanwhile
            report(Progress(step, config.train.epochs, 1.0, 0.5, 1.0, 0.5, 0.0))
            time.sleep(pause / 3)
        return train_run(load_builtin("iris"), config, on_progress=report, progress_every=10)

    return train


def test_fifty_callers_for_one_config_train_once_and_each_gets_its_own_copy() -> None:
    cache, calls, results, heard = RunCache(), [], [None] * 50, [0] * 50

    def caller(i: int) -> None:
        def listen(progress) -> None:
            heard[i] += 1

        results[i] = cache.get_or_train(_config(1), _trainer(calls, _config(1), pause=1.5), listen)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len(cache) == 1
    assert all(r is not None for r in results) and len({id(r) for r in results}) == 50
    assert len({id(r.model) for r in results}) == 50  # no session shares a model with another
    for run in results:
        assert torch.equal(run.evaluation.uncertainty.mean_probs, results[0].evaluation.uncertainty.mean_probs)
    assert sum(h > 0 for h in heard) >= 45  # the waiting callers watched the training's progress


def test_a_kept_run_is_returned_as_a_copy_without_training(quick_run: TrainedRun) -> None:
    cache = RunCache()
    cache.put(quick_run)
    first = cache.get_or_train(quick_run.config, lambda report: pytest.fail("trained again"))
    assert first is not quick_run and first.model is not quick_run.model
    with torch.no_grad():
        first.model[0].weight_mu.zero_()  # a session changing its copy
    assert not torch.equal(cache.get(quick_run.config).model[0].weight_mu, first.model[0].weight_mu)


def test_the_least_recently_used_run_goes_first_and_the_bounds_hold() -> None:
    runs = {seed: train_run(load_builtin("iris"), _config(seed)) for seed in range(4)}
    cache = RunCache(max_runs=3)
    for seed in (0, 1, 2):
        cache.put(runs[seed])
    assert cache.get(_config(0)) is not None  # 0 is now the most recently used; 1 is the least
    cache.put(runs[3])
    assert len(cache) == 3 and cache.get(_config(1)) is None
    assert all(cache.get(_config(seed)) is not None for seed in (0, 2, 3))
    small = RunCache(max_bytes=int(2.5 * run_bytes(runs[0])))
    for seed in range(4):
        small.put(runs[seed])
    assert len(small) == 2 and small.bytes <= small.max_bytes
    assert [small.get(_config(s)) is not None for s in range(4)] == [False, False, True, True]


def test_when_the_training_caller_fails_a_waiting_caller_trains_instead() -> None:
    cache, calls = RunCache(), []
    started = threading.Event()

    def failing(report):
        calls.append("failing")
        started.set()
        time.sleep(0.3)
        raise KeyboardInterrupt  # a stopped script: not an ordinary error

    failures = []

    def first() -> None:
        try:
            cache.get_or_train(_config(2), failing)
        except KeyboardInterrupt:
            failures.append("first")

    thread = threading.Thread(target=first)
    thread.start()
    started.wait()
    run = cache.get_or_train(_config(2), _trainer(calls, _config(2)))
    thread.join()
    assert failures == ["first"] and calls == ["failing", _config(2)]
    assert run.config == _config(2) and len(cache) == 1


def test_a_cancelled_run_is_not_kept() -> None:
    cache = RunCache()
    run = cache.get_or_train(
        _config(3), lambda report: train_run(load_builtin("iris"), _config(3), on_progress=lambda p: True)
    )
    assert run.fit.cancelled and len(cache) == 0


def test_clear_forgets_every_kept_run_and_the_cache_trains_again(quick_run: TrainedRun) -> None:
    cache, calls = RunCache(), []
    cache.put(quick_run)
    assert cache.clear() == 1 and len(cache) == 0 and cache.bytes == 0
    assert cache.get(quick_run.config) is None
    cache.get_or_train(quick_run.config, lambda report: calls.append(1) or quick_run)
    assert calls == [1] and len(cache) == 1  # kept again after training
    assert cache.clear() == 1 and cache.clear() == 0
