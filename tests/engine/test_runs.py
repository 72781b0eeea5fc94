"""Run directories: round trip, torchbnn compatibility, atomic writes and refusal of bad files."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
import torchbnn
from safetensors.torch import load_file, save_file

from bnn_core import (
    BNNInputError,
    DataConfig,
    RunConfig,
    TrainConfig,
    TrainedRun,
    draw_noise,
    draw_probs,
    load_run,
    read_csv,
    sample_probs,
    save_run,
    train_run,
)
from bnn_core.runs import loading as loading_module
from bnn_core.runs import store as runs_module


@pytest.fixture()
def saved(tmp_path: Path, quick_run: TrainedRun) -> Path:
    return save_run(quick_run, tmp_path / "run")


def test_save_then_load_gives_identical_predictions(saved: Path, quick_run: TrainedRun) -> None:
    loaded = load_run(saved)
    assert loaded.config == quick_run.config
    x = loaded.inputs(quick_run.data.dataset.x)
    torch.testing.assert_close(x, quick_run.data.x)
    probs = sample_probs(loaded.model, x, quick_run.config.samples, quick_run.config.seed)
    assert torch.equal(probs.mean(0), quick_run.evaluation.uncertainty.mean_probs)
    assert torch.equal(probs[0], quick_run.evaluation.first_draw)
    assert loaded.class_names == ("setosa", "versicolor", "virginica")
    assert loaded.metrics == json.loads((saved / "metrics.json").read_text())


def test_weights_load_into_plain_torchbnn_layers(saved: Path, quick_run: TrainedRun) -> None:
    plain = torch.nn.Sequential(
        torchbnn.BayesLinear(prior_mu=0.0, prior_sigma=0.1, in_features=4, out_features=100),
        torch.nn.ReLU(),
        torchbnn.BayesLinear(prior_mu=0.0, prior_sigma=0.1, in_features=100, out_features=3),
    )
    plain.load_state_dict(load_file(str(saved / "model.safetensors")), strict=True)
    for layer, (weight_eps, bias_eps) in zip((plain[0], plain[2]), draw_noise(plain, seed=0, index=2), strict=True):
        layer.weight_eps, layer.bias_eps = weight_eps, bias_eps
    with torch.no_grad():
        expected = draw_probs(quick_run.model, quick_run.data.x, seed=0, index=2)
        torch.testing.assert_close(plain(quick_run.data.x).softmax(-1), expected)


def test_run_files_hold_what_the_docs_promise(saved: Path, quick_run: TrainedRun) -> None:
    config = json.loads((saved / "config.json").read_text())
    assert config["hidden"] == [100] and config["activation"] == "relu" and config["dataset"] == "iris"
    assert config["seed"] == 0 and config["kl_reduction"] == "sum" and config["prior_sigma"] == 1.0
    assert config["feature_names"][0] == "sepal length (cm)"
    assert config["class_names"] == ["setosa", "versicolor", "virginica"]
    assert len(config["scaler"]["mean"]) == len(config["scaler"]["std"]) == 4
    assert {"torch", "torchbnn", "bnn_core", "python"} <= set(config["versions"])
    metrics = json.loads((saved / "metrics.json").read_text())
    expected = {
        "train_accuracy",
        "test_accuracy",
        "nll",
        "brier",
        "ece",
        "final_ce",
        "final_kl",
        "train_seconds",
        "steps",
    }
    assert expected <= set(metrics)
    assert metrics["steps"] == 300 and 0 < metrics["test_accuracy"] <= 1
    predictions = pd.read_csv(saved / "predictions.csv")
    assert predictions.columns.tolist() == [
        "split",
        "sepal length (cm)",
        "sepal width (cm)",
        "petal length (cm)",
        "petal width (cm)",
        "label",
        "predicted",
        "p_setosa",
        "p_versicolor",
        "p_virginica",
        "entropy",
        "aleatoric",
        "epistemic",
        "variation_ratio",
        "predicted_std",
    ]
    assert len(predictions) == 150 and (predictions["split"] == "test").sum() == 30
    assert predictions["sepal length (cm)"].iloc[0] == 5.1  # raw, not scaled
    assert len(pd.read_csv(saved / "history.csv")) == 300


def _versions(run_dir: Path) -> list[str]:
    return sorted(p.name for p in (run_dir.parent / ".bnn_runs" / run_dir.name).iterdir() if p.name != ".lock")


def test_saving_over_an_earlier_run_replaces_it(saved: Path, quick_run: TrainedRun) -> None:
    (saved / "metrics.json").write_text("{}")
    first = _versions(saved)
    save_run(quick_run, saved)
    assert json.loads((saved / "metrics.json").read_text())["steps"] == 300
    assert sorted(p.name for p in saved.parent.iterdir()) == [".bnn_runs", "run"]
    assert len(_versions(saved)) == 1 and _versions(saved) != first  # a new version; the old one is gone
    assert saved.is_symlink() and saved.resolve().parent == (saved.parent / ".bnn_runs" / "run").resolve()


def test_a_failed_save_leaves_nothing_half_written(
    tmp_path: Path, quick_run: TrainedRun, saved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runs_module, "predictions_frame", broken)
    with pytest.raises(BNNInputError, match=r"Cannot write the run to .*new: No space left on device"):
        save_run(quick_run, tmp_path / "new")
    with pytest.raises(BNNInputError):
        save_run(quick_run, saved)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".bnn_runs", "run"]  # no new folder
    assert [p.name for p in (tmp_path / ".bnn_runs").iterdir()] == ["run"]  # nothing staged for "new"
    assert len(_versions(saved)) == 1  # no half-written version left beside the good one
    assert load_run(saved).metrics["steps"] == 300  # the earlier run is intact


def test_a_folder_with_a_config_json_among_other_files_is_left_alone(tmp_path: Path, quick_run: TrainedRun) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "config.json").write_text("{}")
    (project / "thesis.docx").write_text("years of work")
    with pytest.raises(BNNInputError, match="already holds files that are not a run"):
        save_run(quick_run, project)
    assert sorted(p.name for p in project.iterdir()) == ["config.json", "src", "thesis.docx"]


def test_the_current_folder_is_refused_and_new_parents_are_created(
    tmp_path: Path, quick_run: TrainedRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BNNInputError, match="is the current folder or holds it"):
        save_run(quick_run, ".")
    assert save_run(quick_run, "runs/deep/iris") == tmp_path.resolve() / "runs" / "deep" / "iris"
    assert sorted(p.name for p in (tmp_path / "runs" / "deep").iterdir()) == [".bnn_runs", "iris"]


def test_a_feature_named_like_an_output_column_is_prefixed(tmp_path: Path) -> None:
    dataset = read_csv(b"split,label,p_x,kind\n1,2,3,a\n2,3,4,b\n3,1,2,a\n4,4,4,b\n", "kind")
    run = train_run(dataset, RunConfig(data=DataConfig(test_size=0.5), train=TrainConfig(epochs=5), samples=3))
    table = pd.read_csv(save_run(run, tmp_path / "clash") / "predictions.csv")
    assert table.columns[:5].tolist() == ["split", "feature_split", "feature_label", "feature_p_x", "label"]
    assert set(table["split"]) == {"train", "test"} and set(table["label"]) == {"a", "b"}
    config = json.loads((tmp_path / "clash" / "config.json").read_text())
    assert config["dataset"] == "csv:The CSV file" and config["label_column"] == "kind"


def test_refuses_to_write_over_a_folder_that_is_not_a_run(tmp_path: Path, quick_run: TrainedRun) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"jpg")
    with pytest.raises(BNNInputError, match="already holds files that are not a run"):
        save_run(quick_run, tmp_path / "photos")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(BNNInputError, match="is a file"):
        save_run(quick_run, tmp_path / "afile")


def _edit_config(run_dir: Path, **changes: object) -> None:
    config = json.loads((run_dir / "config.json").read_text())
    config.update(changes)
    (run_dir / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        (lambda d: (d / "model.safetensors").write_bytes(b"\x00garbage" * 10), "is corrupt or not a safetensors file"),
        (lambda d: (d / "model.safetensors").unlink(), "model.safetensors is missing"),
        (lambda d: (d / "config.json").write_text("{not json"), "could not be read as JSON"),
        (lambda d: (d / "config.json").write_text("[1, 2]"), "should hold a JSON object"),
        (
            lambda d: _edit_config(d, hidden=[50]),
            "0.weight_mu has shape \\(100, 4\\) but config.json implies \\(50, 4\\)",
        ),
        (lambda d: _edit_config(d, prior_sigma=-1), "config.json is invalid: Prior spread σ₀ must be from 0.001"),
        (lambda d: _edit_config(d, class_names=["a", "b"]), "2.weight_mu has shape \\(3, 100\\)"),
        (lambda d: _edit_config(d, scaler={"mean": [0, 0], "std": [1, 1]}), "scaler needs 4 means and stds"),
        (lambda d: _edit_config(d, format_version=99), "has format_version 99; this version reads 1"),
        (lambda d: _drop_key(d, "2.bias_mu"), "missing \\['2.bias_mu'\\]"),
        (lambda d: _poison(d, "0.weight_mu"), "0.weight_mu holds non-finite"),
        (lambda d: _edit_config(d, format_version=True), "has format_version True"),
        (lambda d: _edit_config(d, hidden=100), "hidden must be a list of whole numbers of units"),
        (lambda d: _edit_config(d, epochs="10"), "epochs must be a whole number, got '10'"),
        (lambda d: _edit_config(d, scale="none"), "scale is 'none' but the scaler is set"),
        (lambda d: _edit_config(d, class_names=["a", "a", "b"]), "class_names must not repeat a name"),
        (
            lambda d: _edit_config(d, scaler={"mean": ["a"] * 4, "std": [1] * 4}),
            "scaler means must be a list of finite numbers",
        ),
        (lambda d: _drop_setting(d, "activation"), "settings missing: activation"),
    ],
)
def test_wrong_or_corrupt_runs_are_refused(saved: Path, damage, fragment: str) -> None:
    damage(saved)
    with pytest.raises(BNNInputError, match=fragment) as caught:
        load_run(saved)
    assert "\n" not in str(caught.value)


def _drop_setting(run_dir: Path, key: str) -> None:
    config = json.loads((run_dir / "config.json").read_text())
    del config[key]
    (run_dir / "config.json").write_text(json.dumps(config))


def _drop_key(run_dir: Path, key: str) -> None:
    state = load_file(str(run_dir / "model.safetensors"))
    del state[key]
    save_file(state, str(run_dir / "model.safetensors"))


def _poison(run_dir: Path, key: str) -> None:
    state = load_file(str(run_dir / "model.safetensors"))
    state[key][0, 0] = float("nan")
    save_file(state, str(run_dir / "model.safetensors"))


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BNNInputError, match="is not a run folder"):
        load_run(tmp_path / "nowhere")


def _save_forever(runs: list[TrainedRun], out: Path) -> None:
    """A child process's whole life: save the runs in turn, over the same folder, until killed."""
    while True:
        for run in runs:
            save_run(run, out)


@pytest.mark.slow
def test_a_save_killed_at_any_moment_leaves_the_old_run_or_the_new_one(tmp_path: Path, iris) -> None:
    """kill -9 at 40 random moments of back-to-back saves: `show` always loads one whole run, and the next
    save clears what the killed ones left behind."""
    import multiprocessing
    import random

    quick = RunConfig(train=TrainConfig(epochs=20), samples=5)
    runs = [train_run(iris, RunConfig(**{**quick.__dict__, "seed": seed})) for seed in (1, 2)]
    out = tmp_path / "run"
    save_run(runs[0], out)
    chance = random.Random(0)
    fork = multiprocessing.get_context("fork")  # starts at once, with the runs already in memory
    for _ in range(40):
        child = fork.Process(target=_save_forever, args=(runs, out))
        child.start()
        time.sleep(chance.uniform(0.0, 0.3))
        child.kill()
        child.join()
        assert child.exitcode == -9  # killed mid-work, not finished
        loaded = load_run(out)
        assert loaded.config.seed in (1, 2)
        expected = runs[loaded.config.seed - 1]
        assert loaded.metrics["final_ce"] == expected.metrics["final_ce"]
        torch.testing.assert_close(loaded.model.state_dict(), expected.model.state_dict(), rtol=0, atol=0)
    save_run(runs[1], out)
    assert len(_versions(out)) == 1
    assert not list(tmp_path.glob(".run.link-*"))
    assert load_run(out).config.seed == 2


def test_a_run_saved_before_versioning_is_replaced_by_a_link(tmp_path: Path, quick_run: TrainedRun) -> None:
    legacy = tmp_path / "old"
    legacy.mkdir()
    for file in (save_run(quick_run, tmp_path / "model")).iterdir():
        (legacy / file.name).write_bytes(file.read_bytes())
    assert not legacy.is_symlink() and load_run(legacy).config == quick_run.config
    save_run(quick_run, legacy)
    assert legacy.is_symlink() and len(_versions(legacy)) == 1
    assert load_run(legacy).config == quick_run.config


def test_a_link_this_package_did_not_make_is_left_alone(tmp_path: Path, quick_run: TrainedRun) -> None:
    elsewhere = save_run(quick_run, tmp_path / "real")
    (tmp_path / "mine").symlink_to(elsewhere.resolve())
    with pytest.raises(BNNInputError, match=r"is a link to .*not a run saved here"):
        save_run(quick_run, tmp_path / "mine")
    assert (tmp_path / "mine").resolve() == elsewhere.resolve()


def test_a_save_that_fails_after_the_link_moved_keeps_the_new_run(
    saved: Path, iris, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure after the rename (here: flushing the folder) must not delete the version the link points at."""
    other = train_run(iris, RunConfig(train=TrainConfig(epochs=20), samples=5, seed=9))
    real_fsync = runs_module._fsync

    def fsync_fails_on_the_parent(path: Path) -> None:
        if path == saved.parent:
            raise OSError(5, "Input/output error")
        real_fsync(path)

    monkeypatch.setattr(runs_module, "_fsync", fsync_fails_on_the_parent)
    with pytest.raises(BNNInputError, match="Input/output error"):
        save_run(other, saved)
    assert load_run(saved).config.seed == 9  # the link points at a whole run, not at a deleted folder


def test_a_first_versioned_save_killed_before_its_link_still_loads_the_old_run(
    tmp_path: Path, quick_run: TrainedRun, iris
) -> None:
    """The moment between moving a plain-folder run into the store and placing the link: the run is still found."""
    legacy = tmp_path / "old"
    legacy.mkdir()
    for file in save_run(quick_run, tmp_path / "model").iterdir():
        (legacy / file.name).write_bytes(file.read_bytes())
    store = tmp_path / ".bnn_runs" / "old"
    store.mkdir(parents=True)
    legacy.rename(store / "unversioned-killed")  # what _point does first; a kill here leaves no link
    assert load_run(legacy).config == quick_run.config
    other = train_run(iris, RunConfig(train=TrainConfig(epochs=20), samples=5, seed=9))
    save_run(other, legacy)
    assert load_run(legacy).config.seed == 9 and len(_versions(legacy)) == 1


def test_a_failed_link_puts_a_plain_folder_run_back(
    tmp_path: Path, quick_run: TrainedRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    legacy = tmp_path / "old"
    legacy.mkdir()
    for file in save_run(quick_run, tmp_path / "model").iterdir():
        (legacy / file.name).write_bytes(file.read_bytes())

    def replace_fails(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runs_module.os, "replace", replace_fails)
    with pytest.raises(BNNInputError, match="No space left on device"):
        save_run(quick_run, legacy)
    assert legacy.is_dir() and not legacy.is_symlink() and load_run(legacy).config == quick_run.config


def test_a_read_during_a_save_reads_the_new_run(saved: Path, iris, monkeypatch: pytest.MonkeyPatch) -> None:
    """A save that deletes the version being read makes the read start again on the new one."""
    other = train_run(iris, RunConfig(train=TrainConfig(epochs=20), samples=5, seed=9))
    real_checked_state = loading_module._checked_state
    calls = []

    def a_save_lands_midway(*args: object):
        calls.append(args)
        if len(calls) == 1:
            save_run(other, saved)  # replaces the link and deletes the version being read
        return real_checked_state(*args)

    monkeypatch.setattr(loading_module, "_checked_state", a_save_lands_midway)
    assert load_run(saved).config.seed == 9 and len(calls) == 2


@pytest.mark.parametrize("store_too", [True, False], ids=["lock-and-store", "lock-only"])
def test_the_store_lock_stays_exclusive_when_a_failed_save_deletes_it(tmp_path: Path, store_too: bool) -> None:
    """A save waiting for the lock while the holder deletes the lock file (and the store, when nothing else is in
    it) must lock the file then in place."""
    import fcntl
    import threading

    store = tmp_path / ".bnn_runs" / "run"
    holding, deleted = threading.Event(), threading.Event()
    seen: list[str] = []

    def first() -> None:
        with runs_module._locked(store):
            holding.set()
            time.sleep(0.2)  # the second save is waiting on this file now
            (store / ".lock").unlink()
            if store_too:
                store.rmdir()
            deleted.set()

    def second() -> None:
        if not holding.wait(timeout=30):
            return
        with runs_module._locked(store):
            seen.append("deleted before" if deleted.is_set() else "too early")
            try:
                with open(store / ".lock") as probe:  # the file in place is the one held: nobody else gets it
                    fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    seen.append("a third save got the lock too")
            except BlockingIOError:
                seen.append("exclusive")
            except OSError as err:
                seen.append(f"no lock file in place: {err}")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert seen == ["deleted before", "exclusive"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [("iris textbook", "iris-textbook"), ("  moons_v2.final ", "moons_v2.final"), ("A-1", "A-1")],
)
def test_a_run_name_becomes_a_folder_inside_the_runs_folder(tmp_path: Path, name: str, expected: str) -> None:
    assert runs_module.run_path(tmp_path, name) == tmp_path / expected


@pytest.mark.parametrize("name", ["", "   ", "../escape", "a/b", ".hidden", "-rf", "x" * 65, "naïve", "a\\b", ".."])
def test_a_name_that_could_leave_the_folder_or_hide_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(BNNInputError, match=r"^(Give the run a name|A run's name may hold letters)"):
        runs_module.run_path(tmp_path, name)


def test_saved_runs_lists_runs_from_the_app_and_the_command_line(tmp_path: Path, quick_run: TrainedRun) -> None:
    save_run(quick_run, tmp_path / "b-app")
    plain = tmp_path / "a-cli"
    plain.mkdir()
    for file in (tmp_path / "b-app").iterdir():
        (plain / file.name).write_bytes(file.read_bytes())
    (tmp_path / "notes").mkdir()
    assert [p.name for p in runs_module.saved_runs(tmp_path)] == ["a-cli", "b-app"]
    assert runs_module.saved_runs(tmp_path / "missing") == []


def test_every_run_file_has_the_same_mode(saved: Path) -> None:
    """model.safetensors was 0600 (safetensors writes through a private temporary file) beside 0644 files: a run
    shared on a server or copied for a colleague had every file readable but its weights."""
    modes = {name: stat.S_IMODE((saved / name).stat().st_mode) for name in runs_module.RUN_FILES}
    assert len(set(modes.values())) == 1, modes


def test_a_folder_that_cannot_be_written_is_refused_before_anything_is_done(tmp_path: Path) -> None:
    """The permissions alone would not say it: /proc refuses every new file, to root too."""
    with pytest.raises(BNNInputError, match=r"^Cannot write to /proc/run: /proc is not writable \(.+\)\.$"):
        runs_module.check_run_target(Path("/proc/run"))
    runs_module.check_run_target(tmp_path / "new" / "run")  # a writable place is fine, and nothing is left there
    assert not list(tmp_path.iterdir())
