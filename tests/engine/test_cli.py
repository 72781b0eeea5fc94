"""The command line end to end, and every bad input ending in one line and exit code 2 with nothing written."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bnn_core.cli import main
from bnn_core.cli.common import TrainingBar
from bnn_core.config import DataConfig, ModelConfig, RunConfig
from bnn_core.engine.train import Progress
from bnn_core.methods.hmc import HMCConfig
from bnn_core.methods.references import load_reference, reference_key

ROOT = Path(__file__).resolve().parents[2]


def _run_cli(*args: str, python_flags: bool = False) -> subprocess.CompletedProcess[str]:
    """``python -m bnn_core ARGS`` in a real process; with ``python_flags`` the ARGS start with the interpreter's."""
    command = [sys.executable, *args] if python_flags else [sys.executable, "-m", "bnn_core", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.mark.slow
def test_train_then_show_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "iris-run"
    trained = _run_cli("train", "--out", str(out), "--epochs", "200", "--samples", "20", "--hidden", "32,16")
    assert trained.returncode == 0, trained.stderr
    assert "Trained a 4 → 32 → 16 → 3 BNN on iris (120 train / 30 test rows): 200 steps" in trained.stdout
    assert "200/200" in trained.stderr  # the progress bar reached the end
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json",
        "history.csv",
        "metrics.json",
        "model.safetensors",
        "predictions.csv",
    ]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] == 200 and metrics["test_accuracy"] >= 0.8
    shown = _run_cli("show", str(out))
    assert shown.returncode == 0 and "is a valid run: 4 → 32 → 16 → 3 BNN on iris" in shown.stdout


def test_train_on_a_csv_with_flags(tmp_path: Path) -> None:
    csv = tmp_path / "moons.csv"
    pd.DataFrame({"a": [0.0, 1, 2, 3, 4, 5, 6, 7], "b": [1.0, 0, 1, 0, 1, 0, 1, 0], "kind": list("xyxyxyxy")}).to_csv(
        csv, index=False
    )
    out = tmp_path / "csv-run"
    data_flags = ["--csv", str(csv), "--label", "kind", "--test-size", "0.5", "--scale", "none"]
    model_flags = ["--activation", "tanh", "--kl-reduction", "sum", "--epochs", "20", "--samples", "5", "--seed", "3"]
    code = main(["train", "--out", str(out), *data_flags, *model_flags])
    assert code == 0
    config = json.loads((out / "config.json").read_text())
    assert config["dataset"] == "csv:moons.csv" and config["class_names"] == ["x", "y"] and config["scaler"] is None
    assert config["activation"] == "tanh" and config["kl_reduction"] == "sum" and config["seed"] == 3
    assert pd.read_csv(out / "predictions.csv").columns[:4].tolist() == ["split", "a", "b", "label"]


PENGUINS = """species,island,bill_length_mm,body_mass_g,sex,year
Adelie,Torgersen,39.1,3750,male,2007
Adelie,Torgersen,NA,NA,NA,2007
Adelie,Biscoe,36.7,3450,female,2008
Adelie,Dream,37.8,3400,male,2007
Gentoo,Biscoe,46.1,"4,500",female,2007
Gentoo,Biscoe,50,"5,700",male,2007
Gentoo,Biscoe,48.7,"4,450",NA,2009
Gentoo,Biscoe,45.5,"4,650",female,2008
"""


def test_train_on_a_penguins_csv_prints_how_each_column_is_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "penguins.csv"
    csv.write_text(PENGUINS, encoding="utf-16")  # with a byte-order mark, as Excel's "Unicode text"
    out = tmp_path / "penguins-run"
    assert main(["train", "--out", str(out), "--csv", str(csv), "--label", "species", "--epochs", "5"]) == 0
    printed = capsys.readouterr().out
    assert "read penguins.csv: 6 of 8 rows are used: 2 had a missing cell" in printed
    assert "\n  island          one-hot (3 levels)\n" in printed and "\n  body_mass_g     feature\n" in printed
    assert "\n  species         label\n" in printed and "\n  year            feature\n" in printed
    config = json.loads((out / "config.json").read_text())
    assert config["feature_names"][:3] == ["island=Biscoe", "island=Dream", "island=Torgersen"]
    assert config["class_names"] == ["Adelie", "Gentoo"]
    predictions = pd.read_csv(out / "predictions.csv")
    assert sorted(predictions["body_mass_g"]) == [3400, 3450, 3750, 4500, 4650, 5700]  # "4,500" read as 4500


def test_engine_flag_picks_the_trainer(tmp_path: Path) -> None:
    """Plumbing only: the engines' equivalence is tested in test_fast.py."""
    for engine in ("torchbnn", "fast"):
        out = tmp_path / engine
        assert main(["train", "--out", str(out), "--engine", engine, "--epochs", "150", "--samples", "5"]) == 0
        config = json.loads((out / "config.json").read_text())
        metrics = json.loads((out / "metrics.json").read_text())
        assert config["engine"] == engine and metrics["engine"] == engine
        assert metrics["train_accuracy"] >= 0.9


def _bad_csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return str(path)


BAD_INPUTS = [
    (["--prior-sigma", "0"], "Prior spread σ₀ must be from 0.001 to 10"),
    (["--prior-sigma", "nan"], "Prior spread σ₀ must be a finite number"),
    (["--kl-weight", "-1"], "KL weight must be from 0 to 100"),
    (["--epochs", "0"], "Epochs must be from 1 to 100,000"),
    (["--epochs", "100001"], "Epochs must be from 1 to 100,000"),
    (["--epochs", "ten"], "argument --epochs: invalid int value: 'ten'"),
    (["--lr", "0"], "Learning rate must be from 1e-05 to 1"),
    (["--test-size", "0.95"], "Test share must be from 0 to 0.9"),
    (["--dataset", "mnist"], "Unknown dataset 'mnist'"),
    (["--hidden", "64,x"], "--hidden takes whole numbers"),
    (["--samples", "0"], "Posterior samples must be from 1 to 1,000"),
    (["--kl-reduction", "max"], "argument --kl-reduction: invalid choice: 'max'"),
    (["--engine", "jax"], "argument --engine: invalid choice: 'jax'"),
    (["--csv", "{missing}"], "--csv needs --label COLUMN"),
    (["--csv", "{tmp}/nothing.csv", "--label", "y"], "Cannot read"),
    (["--csv", "{bin}", "--label", "y"], "is not a text CSV file"),
    (["--csv", "{csv:a,y\n1,p\n2,q,3,4\n}", "--label", "y"], "could not be parsed as CSV"),
    (["--csv", "{csv:a,y\n1,p\n2,q\n}", "--label", "species"], "has no column 'species'"),
    (["--csv", "{csv:name,y\nx,p\nz,q\n}", "--label", "y"], "has no feature column besides the label 'y'"),
    (["--csv", "{csv:a,b,y\n1,NA,p\n?,2,q\n}", "--label", "y"], "leaves no rows; a classifier needs rows of"),
    (["--csv", "{csv:a,b,y\n1,2,p\n3,,q\n}", "--label", "y"], "data row 2, column 'b' is empty"),
    (["--csv", "{csv:a,y\n1,p\n2,p\n}", "--label", "y"], "only 1 class"),
    (["--csv", "{csv:a,y\n1,p\n2,p\n3,p\n4,q\n}", "--label", "y"], "Class 'q' has only 1 row"),
    (["--label", "y"], "--label only applies with --csv"),
]


@pytest.mark.parametrize(("flags", "fragment"), BAD_INPUTS)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], fragment: str
) -> None:
    resolved = []
    for flag in flags:
        if flag.startswith("{csv:"):
            flag = _bad_csv(tmp_path, flag[5:-1])
        elif flag == "{bin}":
            (tmp_path / "image.csv").write_bytes(b"\x89PNG\x00\x00")
            flag = str(tmp_path / "image.csv")
        resolved.append(flag.replace("{tmp}", str(tmp_path)).replace("{missing}", str(tmp_path / "m.csv")))
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exited:
        sys.exit(main(["train", "--out", str(out), "--epochs", "5", *resolved]))
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and fragment in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_bad_out_folder_is_refused_before_training(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    assert main(["train", "--out", str(tmp_path), "--epochs", "5"]) == 2
    assert "already holds files that are not a run" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_hmc_samples_and_writes_a_reference_in_the_shipped_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "moons"
    flags = ["--dataset", "two_moons", "--hidden", "8", "--draws", "20", "--warmup", "20", "--seed", "4"]
    assert main(["hmc", "--out", str(out), *flags]) == 0
    posterior, key = load_reference(out / "reference.safetensors")
    config = RunConfig(data=DataConfig(dataset="two_moons"), model=ModelConfig(hidden=(8,)), seed=4)
    assert key == reference_key(config, HMCConfig(samples=20, warmup=20))
    assert posterior.samples.shape == (4 * 20, 2 * 8 + 8 + 8 * 2 + 2) and [p.name for p in out.iterdir()] == [
        "reference.safetensors"
    ]
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("Sampled the posterior of the 2 → 8 → 2 network on two_moons (240 training rows) "
                                 "with NUTS (compiled): 4 chains × (20 warm-up + 20 kept) in ")  # fmt: skip
    assert f"max {posterior.rhat_max:.4f}" in printed[1] and f"min {posterior.ess_min:,.0f}" in printed[2]
    assert printed[3].startswith(f"  divergences: {posterior.divergences} of 80 kept iterations")
    assert printed[4] == f"Saved to {out / 'reference.safetensors'}"


def test_hmc_samples_a_regression_with_a_fixed_noise(tmp_path: Path) -> None:
    flags = ["--dataset", "sine_gap", "--hidden", "4", "--noise", "fixed", "--noise-sigma", "0.1"]
    assert main(["hmc", "--out", str(tmp_path), *flags, "--draws", "10", "--warmup", "10", "--chains", "2"]) == 0
    posterior, key = load_reference(tmp_path / "reference.safetensors")
    assert posterior.likelihood == "gaussian" and key["noise_sigma"] == "0.1" and key["chains"] == "2"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ([], "at most 2 hidden layers of at most 32 units; this one has 1 hidden layer of 100 units."),
        (["--hidden", "8,8,8"], "this one has 3 hidden layers of 8, 8 and 8 units."),
        (["--dataset", "breast_cancer", "--hidden", "8", "--test-size", "0"], "at most 500 training rows; this set"),
        (["--dataset", "cubic", "--hidden", "8"], "HMC samples regression with a fixed noise σ only; set the noise"),
        (["--hidden", "8", "--chains", "1"], "HMC chains must be a whole number from 2 to 8 (R-hat compares"),
        (["--hidden", "8", "--target-accept", "0.3"], "HMC target accept must be a number from 0.5 to 0.99, not 0.3."),
        (["--hidden", "8", "--out", "{file}"], "is a file; give a folder to write reference.safetensors in."),
    ],
)
def test_hmc_refuses_what_it_cannot_sample_in_one_sentence_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    out = ["--out", str(tmp_path / "out")] if "--out" not in flags else []
    flags = [str(tmp_path / "notes.txt") if flag == "{file}" else flag for flag in flags]
    assert main(["hmc", *out, *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    assert (tmp_path / "notes.txt").read_text() == "keep me"


@pytest.mark.slow  # real processes: 3 s
def test_a_real_process_prints_no_traceback_for_bad_input(tmp_path: Path) -> None:
    result = _run_cli("train", "--out", str(tmp_path / "x"), "--prior-sigma", "-1")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: Prior spread σ₀ must be from 0.001 to 10 (e.g. 0.1), got -1.0."
    assert not (tmp_path / "x").exists()


def test_help_explains_every_flag() -> None:
    result = _run_cli("train", "--help")
    assert result.returncode == 0
    flags = "--dataset --csv --label --prior-mu --prior-sigma --kl-weight --kl-reduction --epochs --lr --hidden"
    for flag in [*flags.split(), "--activation", "--test-size", "--scale", "--seed", "--samples", "--engine", "--out"]:
        assert flag in result.stdout


HEAVY = ("torch", "torchbnn", "numpy", "pandas", "sklearn", "scipy", "numba", "pyro", "tqdm", "safetensors")


def _heavy_imports(*args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run the command line under ``-X importtime`` and list the heavy packages the process imported (read from
    the interpreter's own list of every module it imported, not from a timing)."""
    result = _run_cli("-X", "importtime", "-m", "bnn_core", *args, python_flags=True)
    imported = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if line.count("|") == 2}
    assert "bnn_core.cli.parser" in imported  # the list is the real one
    return result, sorted(name for name in imported if name.split(".")[0] in HEAVY)


@pytest.mark.parametrize("command", ["", "train", "compare", "sweep", "hmc", "show", "gallery"])
def test_help_imports_nothing_heavy(command: str) -> None:
    """--help answers at once because the parser is pure Python and a command's module loads only to run it."""
    result, heavy = _heavy_imports(*command.split(), "--help")
    assert result.returncode == 0 and result.stdout.startswith("usage: python -m bnn_core")
    assert heavy == []


def test_a_usage_error_imports_nothing_heavy() -> None:
    result, heavy = _heavy_imports("train", "--epochs", "ten")
    assert result.returncode == 2 and "argument --epochs: invalid int value: 'ten'" in result.stderr
    assert heavy == []


def _progress(step: int, epochs: int = 200) -> Progress:
    return Progress(step, epochs, ce=0.5, kl=2.0, total=0.52, train_accuracy=0.9, elapsed=step / 100)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_redirected_progress_bar_writes_a_line_per_tenth_of_the_steps() -> None:
    stream = io.StringIO()
    bar = TrainingBar(stream, label="BNN (torchbnn)")
    for step in range(1, 201):
        bar(_progress(step))
    bar.close()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue() and len(lines) == 11  # 0%, 10%, …, 100%
    assert [line.split(":")[1].split("%")[0].strip() for line in lines] == [str(10 * k) for k in range(11)]
    assert lines[-1].startswith("BNN (torchbnn): 100%") and "200/200" in lines[-1]
    assert "CE 0.500, KL 2.000, acc 90.0%" in lines[-1]


def test_a_progress_bar_on_a_terminal_redraws_one_line_and_ends_it() -> None:
    stream = _Terminal()
    bar = TrainingBar(stream, regression=True)
    for step in range(1, 201):
        bar(_progress(step))
    bar(_progress(200))  # a repeated last report moves nothing
    bar.close()
    text = stream.getvalue()
    assert "\r" in text and text.endswith("\n") and text.count("\n") == 1
    assert "200/200" in text.rsplit("\r", 1)[1] and "NLL 0.500, KL 2.000, RMSE 0.900" in text


def test_a_sampler_bar_shows_steps_without_losses() -> None:
    stream = io.StringIO()
    bar = TrainingBar(stream, label="HMC reference", losses=False)
    bar(_progress(50, epochs=50))
    assert "50/50" in stream.getvalue() and "KL" not in stream.getvalue()
