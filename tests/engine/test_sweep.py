"""Sweeps: grid specs, the local pool and Ray giving the same table, resuming after a kill, failed cells."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bnn_core import RunConfig, sweep
from bnn_core.cli import main
from bnn_core.config import DataConfig, ModelConfig, TrainConfig
from bnn_core.data.datasets import load_builtin
from bnn_core.experiment import train_run
from bnn_core.sweep import (
    RESULTS_FILE,
    SweepSpec,
    parse_grid,
    parse_seeds,
    pool_cells,
    ray_cells,
    read_results,
    run_sweep,
    summarize,
)

ROOT = Path(__file__).resolve().parents[2]
SMALL = RunConfig(
    data=DataConfig(dataset="two_moons"), model=ModelConfig(hidden=(8,)), train=TrainConfig(epochs=300), samples=20
)
PLACE_AND_TIME = ["train_seconds", "node"]  # the only columns that may differ between two runs of the same cells


def _grid(**changes: object) -> SweepSpec:
    return SweepSpec(SMALL, **{"prior_sigmas": (0.1, 1.0), "kl_weights": (0.01, 1.0), **changes})


def _values(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=PLACE_AND_TIME).sort_values("cell").reset_index(drop=True)


def test_log_range_includes_both_ends_and_lists_keep_order() -> None:
    assert parse_grid("0.01:10:4", "prior_sigma") == (0.01, 0.1, 1.0, 10.0)
    assert parse_grid("0,0.01,1", "kl_weight") == (0.0, 0.01, 1.0)
    assert parse_grid("0.3", "prior_sigma") == (0.3,)
    assert parse_seeds("0-4") == (0, 1, 2, 3, 4)
    assert parse_seeds("7,3") == (7, 3)


@pytest.mark.parametrize(
    ("flag", "value", "words"),
    [
        ("--prior-sigma", "0.01:10", "LOW:HIGH:COUNT"),
        ("--prior-sigma", "0:10:5", "LOW must be above 0"),
        ("--prior-sigma", "1:10:0", "COUNT from 1 to 1000"),
        ("--prior-sigma", "0.1,abc", "LOW:HIGH:COUNT"),
        ("--prior-sigma", "0.1,50", "from 0.001 to 10"),
        ("--kl-weight", "1e-4:1000:3", "from 0 to 100"),
        ("--kl-weight", "nan", "LOW:HIGH:COUNT"),
        ("--kl-reduction", "mean,max", "one of mean, sum"),
        ("--seeds", "4-1", "--seeds takes a range"),
        ("--seeds", "a", "--seeds takes a range"),
        ("--workers", "0", "--workers takes 1 to"),
        ("--ray", "127.0.0.1:9", "Cannot reach the Ray cluster at '127.0.0.1:9'"),
        ("--ray", "nowhere", "--ray takes local, auto or a cluster's HOST:PORT"),
    ],
)
def test_a_bad_grid_gets_one_sentence_and_exit_code_2(
    flag: str, value: str, words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sweep"
    code = main(["sweep", "--dataset", "two_moons", "--out", str(out), flag, value])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert words in err and err.count("\n") == 0 and "Traceback" not in err
    assert not out.exists()  # nothing written


def test_a_regression_cell_is_measured_by_nll_rmse_and_coverage(tmp_path: Path) -> None:
    """tune searches regression sets through the sweep, so a regression cell has its own columns: the same NLL,
    RMSE and coverage as the ordinary run's metrics, the classification columns empty."""
    base = RunConfig(data=DataConfig(dataset="cubic"), model=ModelConfig(hidden=(8,)), train=TrainConfig(epochs=300),
                     samples=20)  # fmt: skip
    table, _ = run_sweep(load_builtin("cubic"), SweepSpec(base, (1.0,), (0.05,)), tmp_path / "s")
    alone = train_run(load_builtin("cubic"), replace(base, train=replace(base.train, kl_weight=0.05)))
    row = table.iloc[0]
    assert row["status"] == "ok" and np.isnan(row["test_accuracy"])
    assert row["nll"] == pytest.approx(alone.metrics["nll"], rel=1e-9)
    assert row["test_rmse"] == pytest.approx(alone.metrics["test_rmse"], rel=1e-9)
    assert row["coverage_90"] == alone.metrics["coverage_90"]


def test_each_cell_is_the_ordinary_run_with_its_settings(tmp_path: Path) -> None:
    spec = _grid(prior_sigmas=(1.0,), kl_weights=(0.01,), seeds=(3,))
    table, resumed = run_sweep(load_builtin("two_moons"), spec, tmp_path / "s")
    assert resumed == 0 and list(table["status"]) == ["ok"]
    config = RunConfig.from_flat(
        {**SMALL.to_flat(), "prior_sigma": 1.0, "kl_weight": 0.01, "seed": 3, "task": "classification"}
    )
    alone = train_run(load_builtin("two_moons"), config)
    assert table.loc[0, "test_accuracy"] == alone.metrics["test_accuracy"]
    assert table.loc[0, "nll"] == pytest.approx(alone.metrics["nll"], rel=1e-6)
    assert table.loc[0, "ece"] == pytest.approx(alone.metrics["ece"], rel=1e-6)
    assert table.loc[0, "engine"] == alone.metrics["engine"]


@pytest.mark.slow
def test_ray_local_gives_exactly_the_local_pool_table(tmp_path: Path) -> None:
    """The 2×2×1 grid on a real local Ray runtime of 2 CPUs, against two local worker processes."""
    dataset, spec = load_builtin("two_moons"), _grid()
    pooled, _ = run_sweep(dataset, spec, tmp_path / "pool", pool_cells(2))
    rayed, _ = run_sweep(dataset, spec, tmp_path / "ray", ray_cells("local", cpus=2))
    assert len(pooled) == 4 and set(pooled["status"]) == {"ok"}
    pd.testing.assert_frame_equal(_values(pooled), _values(rayed), check_exact=True)


def test_a_failed_cell_records_its_message_and_the_sweep_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def diverging(dataset, config):
        if config.model.prior_sigma == 0.1 and config.train.kl_weight == 1.0:
            raise FloatingPointError("the loss became NaN at step 12")
        return train_run(dataset, config)

    monkeypatch.setattr(sweep, "train_run", diverging)
    table, _ = run_sweep(load_builtin("two_moons"), _grid(), tmp_path / "s")
    assert list(table["status"]) == ["ok", "failed", "ok", "ok"]  # σ₀ outer, KL weight inner
    assert table.loc[1, "message"] == "FloatingPointError: the loss became NaN at step 12"
    monkeypatch.undo()
    rerun, resumed = run_sweep(load_builtin("two_moons"), _grid(), tmp_path / "s")
    assert resumed == 3 and set(rerun["status"]) == {"ok"}  # a rerun tries the failed cell again


@pytest.mark.slow
def test_a_killed_sweep_resumes_and_loses_only_the_cells_in_flight(tmp_path: Path) -> None:
    out = tmp_path / "s"
    command = [sys.executable, "-m", "bnn_core", "sweep", "--dataset", "two_moons", "--hidden", "8", "--epochs",
               "300", "--samples", "20", "--prior-sigma", "0.1:1:3", "--kl-weight", "0.01,1", "--seeds", "0-1",
               "--workers", "1", "--out", str(out)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(read_results(out)) < 3:
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    before = read_results(out)
    assert 3 <= len(before) < 12, "the sweep was killed part way"
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert f"({len(before)} already there, 0 failed)" in finished.stdout
    after = read_results(out)
    assert len(after) == 12 and set(after["status"]) == {"ok"}
    pd.testing.assert_frame_equal(  # the rows from before the kill are kept as they were
        _values(after[after["cell"].isin(before["cell"])]), _values(before), check_exact=True
    )
    again, _ = run_sweep(load_builtin("two_moons"), _spec_of(after), tmp_path / "fresh")
    pd.testing.assert_frame_equal(_values(after), _values(again), check_exact=True)


def _spec_of(table: pd.DataFrame) -> SweepSpec:
    base = RunConfig.from_flat(__import__("json").loads(table.loc[0, "config"]))
    return SweepSpec(
        base,
        prior_sigmas=tuple(sorted(set(table["prior_sigma"]))),
        kl_weights=tuple(sorted(set(table["kl_weight"]))),
        seeds=tuple(sorted(set(table["seed"]))),
    )


def test_a_folder_of_another_sweep_is_refused(tmp_path: Path) -> None:
    dataset = load_builtin("two_moons")
    run_sweep(dataset, _grid(prior_sigmas=(1.0,), kl_weights=(0.01,)), tmp_path / "s")
    other = SweepSpec(RunConfig.from_flat({**SMALL.to_flat(), "epochs": 200}), (1.0,), (0.01,))
    with pytest.raises(Exception, match="epochs 300 there, 200 now"):
        run_sweep(dataset, other, tmp_path / "s")


def test_summary_is_mean_and_spread_over_seeds_by_brute_force(tmp_path: Path) -> None:
    table, _ = run_sweep(load_builtin("two_moons"), _grid(kl_weights=(0.01,), seeds=(0, 1, 2)), tmp_path / "s")
    summary = summarize(table)
    assert len(summary) == 2
    for _, row in summary.iterrows():
        seeds = table[table["prior_sigma"] == row["prior_sigma"]]["nll"].tolist()
        assert row["nll_mean"] == pytest.approx(sum(seeds) / 3)
        assert row["nll_min"] == min(seeds) and row["nll_max"] == max(seeds) and row["nll_count"] == 3


def test_results_csv_has_the_config_metrics_time_engine_and_node(tmp_path: Path) -> None:
    run_sweep(load_builtin("two_moons"), _grid(prior_sigmas=(1.0,), kl_weights=(0.01,)), tmp_path / "s")
    table = pd.read_csv(tmp_path / "s" / RESULTS_FILE)
    for column in ("prior_sigma", "kl_weight", "kl_reduction", "seed", "config", "test_accuracy", "nll", "ece",
                   "mi_far", "mi_gap", "train_seconds", "engine", "node", "status", "message"):  # fmt: skip
        assert column in table.columns
    assert list(table["node"]) == [socket.gethostname()]  # this process ran it


def test_a_sweep_begun_before_the_node_column_resumes_in_its_own_columns(tmp_path: Path) -> None:
    dataset, out = load_builtin("two_moons"), tmp_path / "s"
    run_sweep(dataset, _grid(prior_sigmas=(1.0,), kl_weights=(0.01,)), out)
    old = pd.read_csv(out / RESULTS_FILE).drop(columns="node")  # as an earlier version wrote it
    old.to_csv(out / RESULTS_FILE, index=False)
    table, resumed = run_sweep(dataset, _grid(prior_sigmas=(1.0,), kl_weights=(0.01, 1.0)), out)
    assert resumed == 1 and list(table["status"]) == ["ok", "ok"]
    assert pd.read_csv(out / RESULTS_FILE).columns.tolist() == old.columns.tolist()
