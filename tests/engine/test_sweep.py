"""Sweeps: grid specs, the local pool and Ray giving the same table, resuming after a kill, failed cells."""

from __future__ import annotations

import os
import random
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

from bnn_core import BNNInputError, RunConfig, sweep
from bnn_core.cli import main
from bnn_core.config import DataConfig, ModelConfig, TrainConfig
from bnn_core.data.datasets import load_builtin
from bnn_core.experiment import train_run
from bnn_core.sweep import (
    RESULTS_FILE,
    SPEC_FILE,
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


def _rows_written(out: Path) -> int:
    path = out / RESULTS_FILE
    return path.read_bytes().count(b"\n") if path.is_file() else 0


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_kill_9_at_random_moments_loses_only_the_cells_in_flight(tmp_path: Path, workers: int) -> None:
    """kill -9 of the whole sweep (its worker processes too) at random moments: early (imports, sweep.json), and
    a random fraction of a second after a row lands (often inside the next append). Each resume reads what is
    there, drops a row cut short, and the finished sweep equals one never killed."""
    out = tmp_path / "s"
    # Cells of about half a second (32 units, 20,000 epochs): with shorter ones (8 units, 300 and then 2,000 epochs,
    # a few hundredths of a second of training) two workers finished the rest of the grid inside the random wait
    # after a row, so fewer kills landed than the test needs (2 of 3, on CI's machine and on a clean clone here).
    command = [sys.executable, "-m", "bnn_core", "sweep", "--dataset", "two_moons", "--hidden", "32", "--epochs",
               "20000", "--samples", "20", "--prior-sigma", "0.1:1:3", "--kl-weight", "0.01,1", "--seeds", "0-1",
               "--workers", str(workers), "--out", str(out)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    chance = random.Random(workers)
    kills = 0
    for attempt in range(12):
        rows = _rows_written(out)
        sweeping = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    start_new_session=True)  # fmt: skip
        if attempt == 0:
            time.sleep(chance.uniform(0.5, 3.0))
        else:
            deadline = time.monotonic() + 180
            while sweeping.poll() is None and _rows_written(out) == rows and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(chance.uniform(0.0, 0.5))
        if sweeping.poll() is None:
            os.killpg(sweeping.pid, signal.SIGKILL)
            kills += 1
        sweeping.wait()
        done = len(read_results(out)) if out.exists() else 0  # never a ParserError
        assert done <= 12
        if done == 12:
            break
    assert kills >= 3, "the kills landed while the sweep ran"
    before = read_results(out)
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    assert f"({len(before)} already there, 0 failed)" in finished.stdout
    after = read_results(out)
    assert len(after) == 12 and set(after["status"]) == {"ok"}
    assert not list(out.glob("*.tmp-*"))  # no temporary file a killed atomic write left
    pd.testing.assert_frame_equal(  # the rows from before the last kill are kept as they were
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


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--prior-sigma", "0.01:10:1000", "--kl-weight", "1e-4:1:1000"],
         "This grid has 1,000,000 cells (1,000 σ₀ × 1,000 KL weights × 1 reduction(s) × 1 seed(s)), more than the "
         "10,000 a sweep may have; use fewer values, or raise the limit with --max-cells 1000000 if you mean it."),
        (["--seeds", "0-4294967295"], "of at most 1,000 seeds; '0-4294967295' holds 4,294,967,296."),
        (["--kl-weight", ",".join(["0.1"] * 1001)], "of at most 1,000 values; got 1,001."),
        (["--prior-sigma", "0.1,1", "--kl-weight", "0.01,1", "--max-cells", "3"],
         "This grid has 4 cells (2 σ₀ × 2 KL weights × 1 reduction(s) × 1 seed(s)), more than the 3 a sweep may have"),
    ],
)  # fmt: skip
def test_a_grid_too_big_is_refused_at_once_with_its_limit(
    flags: list[str], words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Counted before any cell or seed list is made: the 4-billion-seed range and the million-cell grid are
    refused in well under the seconds making them would take (and the memory they would fill)."""
    started = time.monotonic()
    code = main(["sweep", "--dataset", "two_moons", "--out", str(tmp_path / "s"), *flags])
    err = capsys.readouterr().err.strip()
    assert code == 2 and words in err and err.count("\n") == 0, err
    assert time.monotonic() - started < 5 and not (tmp_path / "s").exists()


def test_max_cells_raises_the_limit_on_purpose() -> None:
    grid = {"prior_sigmas": (0.1, 1.0), "kl_weights": (0.01, 1.0)}
    with pytest.raises(BNNInputError, match="more than the 3 a sweep may have"):
        SweepSpec(SMALL, **grid, max_cells=3)
    assert SweepSpec(SMALL, **grid, max_cells=4).n_cells == len(SweepSpec(SMALL, **grid).cells()) == 4


def _one_cell_sweep(out: Path) -> pd.DataFrame:
    table, _ = run_sweep(load_builtin("two_moons"), _grid(prior_sigmas=(1.0,), kl_weights=(0.01, 1.0)), out)
    return table


def test_sweep_json_is_written_whole_and_a_damaged_one_says_how_to_resume(tmp_path: Path) -> None:
    out = tmp_path / "s"
    first = _one_cell_sweep(out)
    assert sorted(p.name for p in out.iterdir()) == [RESULTS_FILE, SPEC_FILE]  # no temporary file left
    for damage in ("", '{"dataset": "two_moons", "da'):  # empty, and cut short by a kill
        (out / SPEC_FILE).write_text(damage)
        with pytest.raises(BNNInputError) as refused:
            _one_cell_sweep(out)
        message = str(refused.value)
        assert message.startswith(f"{out / SPEC_FILE} is damaged (") and "\n" not in message
        assert message.endswith("; delete it and rerun with the same settings to resume the cells in results.csv, "
                                "or choose a new --out.")  # fmt: skip
    (out / SPEC_FILE).unlink()  # as the sentence says
    again = _one_cell_sweep(out)
    pd.testing.assert_frame_equal(_values(again), _values(first), check_exact=True)


def test_a_row_cut_short_inside_a_quote_is_dropped_and_the_cell_runs_again(tmp_path: Path) -> None:
    """A kill can cut results.csv anywhere, inside a quoted message too: pandas raised ParserError on it."""
    out = tmp_path / "s"
    whole = _one_cell_sweep(out)
    lines = (out / RESULTS_FILE).read_text().splitlines(keepends=True)
    header, first, second = lines
    (out / RESULTS_FILE).write_text(header + first + second[:40] + ',"a message cut in the mid')
    assert len(read_results(out)) == 1  # the cut row is left out
    again = _one_cell_sweep(out)
    pd.testing.assert_frame_equal(_values(again), _values(whole), check_exact=True)
    assert (out / RESULTS_FILE).read_text().count("\n") == 3  # the cut row is gone from the file too


def test_a_damaged_row_before_the_last_is_refused_naming_its_line(tmp_path: Path) -> None:
    out = tmp_path / "s"
    _one_cell_sweep(out)
    header, first, second = (out / RESULTS_FILE).read_text().splitlines(keepends=True)
    (out / RESULTS_FILE).write_text(header + first[:30] + "\n" + second)
    with pytest.raises(BNNInputError) as refused:
        read_results(out)
    assert str(refused.value) == (
        f"{out / RESULTS_FILE} is damaged in its row starting at line 2; delete that row and rerun to resume (its "
        f"cell runs again), or move {out / RESULTS_FILE} aside to start the sweep again, or choose a new --out."
    )


def test_a_file_that_is_no_sweep_results_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "s"
    out.mkdir()
    (out / RESULTS_FILE).write_text("name,age\nann,3\n")
    with pytest.raises(BNNInputError, match="does not start with a sweep's header; move"):
        read_results(out)


def test_a_sweep_begun_before_the_node_column_resumes_in_its_own_columns(tmp_path: Path) -> None:
    dataset, out = load_builtin("two_moons"), tmp_path / "s"
    run_sweep(dataset, _grid(prior_sigmas=(1.0,), kl_weights=(0.01,)), out)
    old = pd.read_csv(out / RESULTS_FILE).drop(columns="node")  # as an earlier version wrote it
    old.to_csv(out / RESULTS_FILE, index=False)
    table, resumed = run_sweep(dataset, _grid(prior_sigmas=(1.0,), kl_weights=(0.01, 1.0)), out)
    assert resumed == 1 and list(table["status"]) == ["ok", "ok"]
    assert pd.read_csv(out / RESULTS_FILE).columns.tolist() == old.columns.tolist()
