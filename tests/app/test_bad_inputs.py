"""The bad-input matrix: every entry point refuses each bad input in one sentence and changes nothing.

One table per entry point: the command line (exit code 2, one line ``error: <sentence>`` on stderr), URL
parameters (one warning naming the parameter; the default model on screen), run zips (in the CLI's ``show`` and
the Data page's uploader) and the Data page's CSV upload (``st.error``; the data in use and the run on screen
as they were). Each row gives the input and a pattern its sentence must contain, such as the setting's name
and allowed range. Nothing may be left behind: no run folder, no temporary folder.
"""

from __future__ import annotations

import functools
import io
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from _pytest.mark.structures import ParameterSet
from streamlit.testing.v1 import AppTest

from bnn_core import RunConfig, TrainConfig, TrainedRun, load_builtin, train_run
from bnn_core.cli import main
from bnn_core.runs.archive import MAX_UNPACKED_BYTES, MAX_ZIP_BYTES, run_zip
from bnn_core.runs.gallery import PRESETS_BY_SLUG
from tests.support.apptest import notices, read
from ui import state
from ui.text import plain

ARTICLE = PRESETS_BY_SLUG["article"].config  # the run a first visit shows

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 180
QUICK = RunConfig(train=TrainConfig(epochs=50), samples=20, seed=7)
# The pages' own words after the engine's sentence, joined to it: nothing changed.
UNCHANGED = ("; the data in use has not changed.", "; the data in use and the model on screen have not changed.")
MANY_CLASSES = "a,y\n" + "".join(f"{i},c{i}\n" for i in range(60))


def row(name: str, *values: object, marks: pytest.MarkDecorator | tuple = ()) -> ParameterSet:
    """One row of a table: its id, then the input and the pattern its sentence must contain."""
    return pytest.param(*values, id=name, marks=marks)


def one_sentence(text: str) -> bool:
    """One plain sentence: a single line ending in a full stop, with no sentence starting inside it."""
    return text.endswith(".") and "\n" not in text and "Traceback" not in text and not re.search(r"[.!?] [A-Z]", text)


def _assert_sentence(sentence: str, pattern: str) -> None:
    assert one_sentence(sentence), sentence
    assert re.search(pattern, sentence), sentence


def _tree(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


@pytest.fixture
def private_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder that ``tempfile`` uses for the test, to see that no temporary folder stays behind."""
    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


# ---------------------------------------------------------------------------------------------- the command line


def _write_fixtures(folder: Path) -> None:
    """The files the CLI rows point at: a plain file, a folder that is no run, and CSVs."""
    (folder / "notes.txt").write_text("keep me\n")
    (folder / "folder").mkdir()
    (folder / "folder" / "keep.txt").write_text("keep me too\n")
    (folder / "good.csv").write_text("a,b,y\n" + "".join(f"{i},{i % 3},{'pq'[i % 2]}\n" for i in range(20)))
    (folder / "one_row_class.csv").write_text("a,y\n1,p\n2,p\n3,p\n4,q\n")
    (folder / "many_classes.csv").write_text(MANY_CLASSES)


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``main(argv)`` in this process: its exit code (argparse's own exits too) and its stderr."""
    try:
        code = main(argv)
    except SystemExit as exited:
        code = exited.code
    return code, capsys.readouterr().err


TRAIN = [
    row("test_size_high", ["--test-size", "0.95"], r"Test share must be from 0 to 0\.9, got 0\.95"),
    row("test_size_negative", ["--test-size", "-0.1"], r"Test share must be from 0 to 0\.9"),
    row("prior_mu_high", ["--prior-mu", "6"], r"Prior mean μ₀ must be from -5 to 5"),
    row("prior_sigma_zero", ["--prior-sigma", "0"], r"Prior spread σ₀ must be from 0\.001 to 10"),
    row("prior_sigma_nan", ["--prior-sigma", "nan"], r"Prior spread σ₀ must be a finite number"),
    row("kl_weight_high", ["--kl-weight", "101"], r"KL weight must be from 0 to 100"),
    row("kl_weight_infinite", ["--kl-weight", "inf"], r"KL weight must be a finite number"),
    row("epochs_high", ["--epochs", "100001"], r"Epochs must be from 1 to 100,000"),
    row("lr_high", ["--lr", "2"], r"Learning rate must be from 1e-05 to 1"),
    row("seed_negative", ["--seed", "-1"], r"Seed must be from 0 to 4,294,967,295"),
    row("seed_huge", ["--seed", str(2**32)], r"Seed must be from 0 to 4,294,967,295, got 4294967296"),
    row("samples_zero", ["--samples", "0"], r"Posterior samples must be from 1 to 1,000"),
    row("hidden_zero_units", ["--hidden", "0,8"], r"Hidden units must be from 1 to 1,024, got 0"),
    row("hidden_too_wide", ["--hidden", "64,1025"], r"Hidden units must be from 1 to 1,024, got 1025"),
    row("hidden_too_deep", ["--hidden", "8,8,8,8,8"], r"The network needs 0 to 4 hidden layers, got 5"),
    row("hidden_not_a_number", ["--hidden", "64,x"], r"--hidden takes whole numbers of units"),
    row("epochs_not_whole", ["--epochs", "1.5"], r"--epochs.*'1\.5'"),
    row("lr_not_a_number", ["--lr", "fast"], r"--lr.*'fast'"),
    row("activation_unknown", ["--activation", "gelu"], r"'gelu'.*relu"),
    row("dataset_unknown", ["--dataset", "mnist"], r"Unknown dataset 'mnist'; choose one of iris"),
    row("csv_missing", ["--csv", "nothing.csv", "--label", "y"], r"Cannot read nothing\.csv: No such file"),
    row("csv_is_a_folder", ["--csv", "folder", "--label", "y"], r"folder is a folder, not a CSV file"),
    row("csv_without_label_column", ["--csv", "good.csv", "--label", "species"], r"good\.csv has no column 'species'"),
    row("csv_without_label_flag", ["--csv", "good.csv"], r"--csv needs --label COLUMN"),
    row("csv_class_too_small_to_split", ["--csv", "one_row_class.csv", "--label", "y"], r"Class 'q' has only 1 row"),
    row(
        "csv_over_50_classes",
        ["--csv", "many_classes.csv", "--label", "y"],
        r"many_classes\.csv has 60 classes; the limit is 50",
    ),
    row("out_non_run_folder", ["--out", "folder"], r"folder already holds files that are not a run"),
    row("out_a_file", ["--out", "notes.txt"], r"notes\.txt is a file; give a folder name"),
    row("out_inside_a_file", ["--out", "notes.txt/run"], r"notes\.txt/run is inside .*notes\.txt, which is a file"),
    row("out_current_folder", ["--out", "."], r"is the current folder or holds it"),
    # Refused before training, not after it (it trained fully, possibly for hours, and then failed to write).
    row("out_not_writable", ["--out", "/proc/bnn-run"], r"^Cannot write to /proc/bnn-run: /proc is not writable"),
]
SHOW = [
    row("show_missing_folder", "nowhere", r"nowhere is not a run folder \(no such directory\)"),
    row("show_non_run_folder", "folder", r"folder is not a complete run: config\.json is missing"),
    row("show_a_text_file", "notes.txt", r"notes\.txt is (a file|not a zip file)"),
]


def _train_argv(flags: list[str]) -> list[str]:
    """A quick ``train`` into ``run`` unless the row gives its own ``--out``."""
    return ["train", *([] if "--out" in flags else ["--out", "run"]), "--epochs", "5", "--samples", "5", *flags]


def _refusal_by_the_cli(argv: list[str], folder: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """The sentence of ``error: <sentence>``, after checking exit code 2, that line alone on stderr, and that
    nothing appeared in or vanished from ``folder`` (the current folder, which holds the temporary folder)."""
    before = _tree(folder)
    code, err = _cli(argv, capsys)
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and err.endswith("\n"), err
    assert _tree(folder) == before
    return err.removeprefix("error: ").removesuffix("\n")


@pytest.fixture
def cli_folder(tmp_path: Path, private_temp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's folder, as the current folder, holding the rows' files."""
    monkeypatch.chdir(tmp_path)
    _write_fixtures(tmp_path)
    return tmp_path


@pytest.mark.parametrize(("flags", "pattern"), TRAIN)
def test_train_refuses_in_one_line(
    flags: list[str], pattern: str, cli_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _assert_sentence(_refusal_by_the_cli(_train_argv(flags), cli_folder, capsys), pattern)


@pytest.mark.parametrize(("target", "pattern"), SHOW)
def test_show_refuses_in_one_line(
    target: str, pattern: str, cli_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _assert_sentence(_refusal_by_the_cli(["show", target], cli_folder, capsys), pattern)


# ----------------------------------------------------------------------------------------------------- run zips


@pytest.fixture(scope="module")
def shown_run() -> TrainedRun:
    """The run on screen before a bad upload (seed 7, so it is no gallery run)."""
    return train_run(load_builtin("iris"), QUICK)


@pytest.fixture(scope="module")
def good_zip(shown_run: TrainedRun) -> bytes:
    return run_zip(shown_run)


def _files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _replaced(good: bytes, name: str, content: bytes) -> bytes:
    return _zip({**_files(good), name: content})


def _with_config(good: bytes, **changes: object) -> bytes:
    config = json.loads(_files(good)["config.json"])
    return _replaced(good, "config.json", json.dumps({**config, **changes}).encode())


def _crc_damaged(good: bytes) -> bytes:
    """The run stored uncompressed, with one byte of config.json flipped: its checksum no longer matches."""
    data = bytearray(_zip(_files(good), zipfile.ZIP_STORED))
    data[data.index(b'"format_version"') + 2] ^= 1
    return bytes(data)


@functools.cache
def _bomb(good: bytes) -> bytes:
    """A complete run zip of a few hundred kB whose predictions.csv unpacks to more than the limit."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in _files(good).items():
            if name != "predictions.csv":
                archive.writestr(name, content)
        with archive.open("predictions.csv", "w") as entry:
            for _ in range(MAX_UNPACKED_BYTES // 2**20 + 1):
                entry.write(bytes(2**20))
    return buffer.getvalue()


def _too_large(good: bytes) -> bytes:
    """A zip one byte over the size limit: the run plus a stored entry of padding (stored: one byte per byte)."""
    overhead = len(_zip({**_files(good), "padding": b""}, zipfile.ZIP_STORED))
    return _zip({**_files(good), "padding": bytes(MAX_ZIP_BYTES + 1 - overhead)}, zipfile.ZIP_STORED)


ZIPS = [
    row("not_a_zip", lambda good: b"not a zip at all", r"is (not a zip file|a file)"),
    row("empty_zip", lambda good: _zip({}), r"is empty; a run zip holds model\.safetensors, config\.json"),
    row("without_config", lambda good: _zip({k: v for k, v in _files(good).items() if k != "config.json"}),
        r"lacks config\.json; a run zip holds"),
    row("corrupt_safetensors", lambda good: _replaced(good, "model.safetensors", b"garbage" * 20),
        r"does not hold a valid run: model\.safetensors is corrupt or not a safetensors file"),
    row("config_out_of_range", lambda good: _with_config(good, prior_sigma=-1),
        r"does not hold a valid run: config\.json is invalid: Prior spread σ₀ must be from 0\.001 to 10"),
    row("config_not_json", lambda good: _replaced(good, "config.json", b"{nope"),
        r"does not hold a valid run: config\.json could not be read as JSON"),
    row("path_traversal", lambda good: _replaced(good, "../x", b"x"), r"holds '\.\./x', which is not a run file"),
    row("checksum_wrong", _crc_damaged, r"is damaged: config\.json cannot be read"),
    row("zip_bomb", _bomb, r"unpacks to more than 256 MB"),
    row("too_large", _too_large, r"is 52,428,801 bytes, more than the 50 MB a run zip may be"),
]  # fmt: skip


def _with_json(good: bytes, name: str, **changes: object) -> bytes:
    """The run with fields of ``name`` (config.json or metrics.json) changed."""
    return _replaced(good, name, json.dumps({**json.loads(_files(good)[name]), **changes}).encode())


def _config(**changes: object) -> Callable[[bytes], bytes]:
    return lambda good: _with_json(good, "config.json", **changes)


def _metrics(**changes: object) -> Callable[[bytes], bytes]:
    return lambda good: _with_json(good, "metrics.json", **changes)


def _without_field(good: bytes, name: str, field: str) -> bytes:
    content = {key: value for key, value in json.loads(_files(good)[name]).items() if key != field}
    return _replaced(good, name, json.dumps(content).encode())


def _json_text(name: str, old: str, new: str) -> Callable[[bytes], bytes]:
    """The run with ``old`` replaced by ``new`` in the text of ``name`` (what json.dumps cannot write: NaN, a
    repeated key)."""
    return lambda good: _replaced(good, name, _files(good)[name].decode().replace(old, new).encode())


def _nested(good: bytes, name: str, depth: int) -> bytes:
    """``name`` with one field holding lists nested ``depth`` deep."""
    text = _files(good)[name].decode().rstrip().removesuffix("}")
    return _replaced(good, name, f'{text}, "deep": {"[" * depth}{"]" * depth}}}'.encode())


def _padded(good: bytes, name: str, size: int) -> bytes:
    """``name`` over ``size`` bytes, of spaces (a few kB once compressed)."""
    return _replaced(good, name, _files(good)[name] + b" " * size)


def _history(good: bytes, edit: Callable[[list[str]], list[str]]) -> bytes:
    """The run with history.csv's lines edited."""
    lines = _files(good)["history.csv"].decode().splitlines()
    return _replaced(good, "history.csv", ("\n".join(edit(lines)) + "\n").encode())


def _cell(lines: list[str], row: int, column: int, value: str) -> list[str]:
    cells = lines[row].split(",")
    cells[column] = value
    return [*lines[:row], ",".join(cells), *lines[row + 1 :]]


INVALID = r"does not hold a valid run: "
CONFIG, METRICS = INVALID + r"config\.json is invalid: ", INVALID + r"metrics\.json is invalid: "
# Each field of a run file with a wrong type, a wrong shape and an absurd size; each refused in one sentence.
RUN_FILES = [
    row("epochs_a_fraction", _config(epochs=50.0), CONFIG + r"epochs must be a whole number, got 50\.0"),
    row("epochs_text", _config(epochs="50"), CONFIG + r"epochs must be a whole number, got '50'"),
    row("epochs_absurd", _config(epochs=10**30), CONFIG + r"Epochs must be from 1 to 100,000"),
    row("seed_absurd", _config(seed=2**70), CONFIG + r"Seed must be from 0 to 4,294,967,295"),
    row("hidden_fractions", _config(hidden=[100.0]), CONFIG + r"hidden must be a list of whole numbers"),
    row("hidden_nested", _config(hidden=[[100]]), CONFIG + r"hidden must be a list of whole numbers"),
    row("hidden_too_deep", _config(hidden=[8] * 50), CONFIG + r"The network needs 0 to 4 hidden layers, got 50"),
    row("hidden_too_wide", _config(hidden=[10**6]), CONFIG + r"Hidden units must be from 1 to 1,024"),
    row("kl_weight_a_switch", _config(kl_weight=True), CONFIG + r"kl_weight must be a finite number, got True"),
    row("kl_weight_words", _config(kl_weight="lots"), CONFIG + r"KL weight must be a number from 0 to 100, or F/N"),
    row("kl_weight_absurd_factor", _config(kl_weight="1e300/N"),
        CONFIG + r"KL weight must .*or F/N for F \(above 0, at most 100\).*got '1e300/N'"),
    row("prior_sigma_text", _config(prior_sigma="0.1"), CONFIG + r"prior_sigma must be a finite number, got '0\.1'"),
    row("activation_a_number", _config(activation=5),
        CONFIG + r"activation must be text of at most 10,000 characters, got 5"),
    row("dataset_a_list", _config(dataset=["iris"]), CONFIG + r"dataset must be text"),
    row("feature_names_text", _config(feature_names="abcd"),
        CONFIG + r"feature_names must be a list of 1 to 1,000 names, got 'abcd'"),
    row("feature_names_numbers", _config(feature_names=[1, 2, 3, 4]),
        CONFIG + r"feature_names must be a list of names, got \[1, 2, 3, 4\]"),
    row("feature_names_absurd", _config(feature_names=[f"f{i}" for i in range(5000)]),
        CONFIG + r"feature_names must be a list of 1 to 1,000 names, got .*\(\d[\d,]* characters\)"),
    row("feature_name_absurd", _config(feature_names=["a", "b", "c", "d" * 5000]),
        CONFIG + r"feature_names holds a name of 5,000 characters; a name is at most 1,000"),
    row("class_names_none", _config(class_names=[]), CONFIG + r"class_names must be a list of 2 to 50 names"),
    row("scaler_text_numbers", _config(scaler={"mean": ["1.5"] * 4, "std": [1] * 4}),
        CONFIG + r"scaler means must be a list of finite numbers, got \['1\.5'"),
    row("scaler_nested", _config(scaler={"mean": [[0]] * 4, "std": [1] * 4}),
        CONFIG + r"scaler means must be a list of finite numbers"),
    row("scaler_wrong_length", _config(scaler={"mean": [0] * 3, "std": [1] * 3}),
        CONFIG + r"scaler needs 4 means and stds, one per feature"),
    row("scaler_a_list", _config(scaler=[0, 1]), CONFIG + r'scaler must be null or \{"mean"'),
    row("ignored_columns_a_number", _config(ignored_columns=5),
        CONFIG + r"ignored_columns must be a list of names, got 5"),
    row("ignored_columns_numbers", _config(ignored_columns=[5]),
        CONFIG + r"ignored_columns must be a list of names, got \[5\]"),
    row("label_column_a_number", _config(label_column=5), CONFIG + r"label_column must be text"),
    row("versions_text", _config(versions="new"), CONFIG + r"versions must map package names to version texts"),
    row("config_unknown_field", _config(admin=True),
        CONFIG + r"the field 'admin' is not among a run's settings and names"),
    row("config_repeated_key", _json_text("config.json", '"epochs": 50', '"epochs": 50, "epochs": 9'),
        INVALID + r"config\.json could not be read as JSON \(the key 'epochs' is given twice\)"),
    row("config_nan", _json_text("config.json", '"prior_mu": 0.0', '"prior_mu": NaN'),
        INVALID + r"config\.json could not be read as JSON \(NaN is not a number a run writes\)"),
    row("config_deep", lambda g: _nested(g, "config.json", 100_000),
        INVALID + r"config\.json is nested 100,001 levels deep; a run's JSON is at most 8"),
    row("config_absurd_size", lambda g: _padded(g, "config.json", 9 * 2**20),
        r"unpacks to more than 8 MB in config\.json"),
    row("metric_text", _metrics(test_accuracy="abc"),
        METRICS + r"test_accuracy must be a finite number from 0 to 1, or null, got 'abc'"),
    row("metric_out_of_range", _metrics(test_accuracy=5),
        METRICS + r"test_accuracy must be a finite number from 0 to 1, or null, got 5"),
    row("metric_a_list", _metrics(nll=[0.1]), METRICS + r"nll must be a finite number of at least 0, got \[0\.1\]"),
    row("steps_a_fraction", _metrics(steps=50.0),
        METRICS + r"steps must be a whole number from 1 to 100000, got 50\.0"),
    row("steps_absurd", _metrics(steps=10**12), METRICS + r"steps must be a whole number from 1 to 100000"),
    row("engine_unknown", _metrics(engine="gpu"), METRICS + r"engine must be one of fast, torchbnn, got 'gpu'"),
    row("converged_text", _metrics(converged="yes"), METRICS + r"converged must be true or false, or null, got 'yes'"),
    row("note_a_number", _metrics(convergence_note=5), METRICS + r"convergence_note must be text"),
    row("note_absurd", _metrics(convergence_note="x" * 20_000),
        METRICS + r"convergence_note must be text of at most 10,000 characters, got 'x+'… \(20,000 characters\)"),
    row("train_rows_negative", _metrics(train_rows=-1),
        METRICS + r"train_rows must be a whole number from 1 to 200000, got -1"),
    row("kl_weight_used_text", _metrics(kl_weight_used="1/N"),
        METRICS + r"kl_weight_used must be a finite number of at least 0, or null, got '1/N'"),
    row("metric_missing", lambda g: _without_field(g, "metrics.json", "nll"), METRICS + r"the field nll is missing"),
    row("metric_unknown", _metrics(secret=1),
        METRICS + r"the field 'secret' is not among a classification run's metrics"),
    row("metrics_a_list", lambda g: _replaced(g, "metrics.json", b"[1, 2]"),
        INVALID + r"metrics\.json should hold a JSON object, not list"),
    row("metrics_deep", lambda g: _nested(g, "metrics.json", 100_000),
        INVALID + r"metrics\.json is nested 100,001 levels deep"),
    row("metrics_absurd_size", lambda g: _padded(g, "metrics.json", 9 * 2**20),
        r"unpacks to more than 8 MB in metrics\.json"),
    row("history_text", lambda g: _history(g, lambda lines: _cell(lines, 1, 2, "abc")),
        INVALID + r"history\.csv: row 1, column kl holds 'abc', not a finite number"),
    row("history_infinite", lambda g: _history(g, lambda lines: _cell(lines, 2, 1, "inf")),
        INVALID + r"history\.csv: row 2, column ce holds 'inf', not a finite number"),
    row("history_columns", lambda g: _history(g, lambda lines: [line.rsplit(",", 1)[0] for line in lines]),
        INVALID + r"history\.csv must have the columns step, ce, kl, total, train_accuracy"),
    row("history_accuracy", lambda g: _history(g, lambda lines: _cell(lines, 3, 4, "7")),
        INVALID + r"history\.csv: every train_accuracy must be from 0 to 1"),
    row("history_rows", lambda g: _history(g, lambda lines: lines[:10]),
        INVALID + r"history\.csv has 9 rows but metrics\.json gives 50 steps"),
    row("history_absurd_size", lambda g: _padded(g, "history.csv", 17 * 2**20),
        r"unpacks to more than 16 MB in history\.csv"),
]  # fmt: skip


def _assert_sentence_about_the_zip(sentence: str, pattern: str) -> None:
    _assert_sentence(sentence, pattern)
    assert sentence.startswith("bad.zip ")
    assert "bnn-unzip" not in sentence  # files are named inside the zip, not in a temporary folder


@pytest.mark.parametrize(("build", "pattern"), ZIPS + RUN_FILES)
def test_show_refuses_a_bad_run_zip(
    build: Callable[[bytes], bytes], pattern: str, good_zip: bytes, cli_folder: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    (cli_folder / "bad.zip").write_bytes(build(good_zip))
    _assert_sentence_about_the_zip(_refusal_by_the_cli(["show", "bad.zip"], cli_folder, capsys), pattern)


@pytest.mark.slow  # a real process: 3 s
def test_a_real_process_shows_a_bad_run_zip_in_one_line(good_zip: bytes, tmp_path: Path) -> None:
    path = tmp_path / "bad.zip"
    path.write_bytes(_with_config(good_zip, epochs=0))
    shown = subprocess.run(
        [sys.executable, "-m", "bnn_core", "show", str(path)], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert shown.returncode == 2 and shown.stdout == ""
    assert shown.stderr == (
        f"error: {path} does not hold a valid run: config.json is invalid: Epochs must be from 1 to 100,000, got 0.\n"
    )


def _data_page(**session: object) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / "data.py"), default_timeout=TIMEOUT)
    for key, value in session.items():
        at.session_state[key] = value
    return at.run()


def _the_error(at: AppTest) -> str:
    """The page's one error, without its fixed words that nothing changed; no exception beside it."""
    assert not at.exception
    assert len(at.error) == 1, [error.value for error in at.error]
    text = read(at.error[0].value)
    return next((text.removesuffix(tail) + "." for tail in UNCHANGED if text.endswith(tail)), text)


# On the Data page every run-file row takes a page run of its own (about 1 s); the checks are the engine's, which
# the command line's rows above cover one by one, so the inner loop takes one row of each file and kind.
ON_THE_PAGE_QUICK = {
    "epochs_a_fraction", "ignored_columns_a_number", "config_deep", "metric_text", "metrics_absurd_size",
    "history_text",
}  # fmt: skip
ON_THE_PAGE = ZIPS + [
    pytest.param(*case.values, id=case.id, marks=() if case.id in ON_THE_PAGE_QUICK else pytest.mark.slow)
    for case in RUN_FILES
]


@pytest.mark.parametrize(("build", "pattern"), ON_THE_PAGE)
def test_the_data_page_refuses_a_bad_run_zip_and_keeps_the_run_on_screen(
    build: Callable[[bytes], bytes], pattern: str, good_zip: bytes, shown_run: TrainedRun,
    tmp_path: Path, private_temp: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    runs = tmp_path / "runs"
    monkeypatch.setenv("BNN_RUNS_DIR", str(runs))
    at = _data_page(**{state.RUN: shown_run})
    first_key, first_tensor = next(iter(shown_run.model.state_dict().items()))
    kept = first_tensor.clone()
    at.file_uploader(key="run_zip").set_value(("bad.zip", build(good_zip), "application/zip")).run()
    at.button(key="load_zip").click().run()
    _assert_sentence_about_the_zip(_the_error(at), pattern)
    on_screen = at.session_state[state.RUN]
    assert on_screen is shown_run and on_screen.config == QUICK
    assert torch.equal(on_screen.model.state_dict()[first_key], kept)
    assert not runs.exists() and not any(private_temp.iterdir())


# ------------------------------------------------------------------------------------------------ URL parameters

LINKS = [
    row("seed_negative", {"seed": "-1"}, r"^seed='-1': Seed must be from 0 to 4,294,967,295, got -1\.$"),
    row("seed_not_a_number", {"seed": "abc"}, r"seed='abc': Seed must be a whole number from 0 to 4,294,967,295"),
    row("epochs_zero", {"epochs": "0"}, r"epochs='0': Epochs must be from 1 to 100,000"),
    row("dataset_unknown", {"dataset": "mnist"}, r"dataset='mnist': Unknown dataset 'mnist'; choose one of iris"),
    row("prior_sigma_negative", {"prior_sigma": "-0.1"}, r"prior_sigma='-0\.1': Prior spread σ₀ must be from 0\.001"),
    row("kl_weight_infinite", {"kl_weight": "inf"}, r"kl_weight='inf': KL weight must be a finite number"),
    row("engine_unknown", {"engine": "jax"}, r"engine='jax': Engine must be one of fast, torchbnn"),
    row("page_unknown", {"page": "admin"}, r"page='admin' is not a parameter this app knows"),
    row("cache_unknown", {"cache": "off"}, r"cache='off' is not a parameter this app knows"),
    row("sample_negative", {"sample": "-1"}, r"sample='-1' must be a whole number from 0 to 1,000,000"),
    row("sample_huge", {"sample": "99999999999"}, r"sample='99999999999' must be a whole number from 0 to 1,000,000"),
    row("hidden_malformed", {"hidden": "32,,32"}, r"hidden='32,,32': Hidden units must be a whole number from 1 to"),
    row("hidden_too_deep", {"hidden": "8,8,8,8,8"}, r"hidden='8,8,8,8,8': The network needs 0 to 4 hidden layers"),
    row("preset_unknown", {"preset": "nope"}, r"preset='nope' is not in the gallery; choose one of article"),
    row("axis_unknown", {"x": "petal"}, r"x='petal' is not a feature of this data \(sepal length \(cm\)"),
    row("hold_wrong_length", {"hold": "1,2"}, r"hold has 2 numbers but the data has 4 features"),
    # Hostile or careless values: each named as text (the page shows it literally), cut, in one line.
    row("markdown_link", {"page": "[Log in again](http://evil.example/login)"},
        r"^page='\[Log in again\]\(http://evil\.example/login\)' is not a parameter this app knows"),
    row("markdown_image", {"with": "![t](http://127.0.0.1:9/track.png)"},
        r"^with='!\[t\]\(http://127\.0\.0\.1:9/track\.png\)' must be one of plain, dropout, ensemble, laplace, hmc"),
    row("html_in_preset", {"preset": "<img src=x onerror=alert(1)>"},
        r"^preset='<img src=x onerror=alert\(1\)>' is not in the gallery"),
    row("markdown_csv_name", {"dataset": "csv:[Log in](http://evil.example)"},
        r"^This link shows a model trained on the CSV '\[Log in\]\(http://evil\.example\)', which stays"),
    row("markdown_name", {"[x](http://evil.example)": "1"}, r"^\[x\]\(http://evil\.example\)='1' is not a parameter"),
    row("value_of_100_kb", {"x": "a" * 100_000}, r"^x='a{60}'… \(100,000 characters\) is not a feature of this data"),
    row("digits_of_100_kb", {"sample": "9" * 100_000},
        r"^sample='9{60}'… \(100,000 characters\) must be a whole number"),
    row("bidi_and_escape", {"epochs": "\u202e5\x1b[2J"}, r"^epochs='\\u202e5\\x1b\[2J': Epochs must be a whole number"),
    row("line_break", {"v": "2\n- injected line"}, r"^v='2\\n- injected line' is not a link version this app knows"),
    row("repeated_key", {"seed": ["3", "5"]},
        r"^seed is given 2 times \('3', '5'\); a link gives each parameter once, so none of them was used"),
    row("hold_absurd", {"hold": "1e308,3,4,1"},
        r"^hold puts sepal length \(cm\) at 1e\+308, beyond its slider's 4\.3 to 7\.9; the nearest end is used"),
    row("point_absurd", {"point": "1e300,3,4,1"},
        r"^point puts sepal length \(cm\) at 1e\+300, beyond its slider's -6\.5 to 18\.7; the nearest end is used"),
]  # fmt: skip
LINK_HEADING = "Some of this link's parameters were not used:"


def _open_link(params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def _assert_default_model_on_screen(at: AppTest) -> None:
    assert at.session_state[state.RUN].config == ARTICLE and at.session_state[state.PRESET] == "article"
    assert at.session_state[state.SAMPLE_INDEX] == 0


@pytest.mark.parametrize(("params", "pattern"), LINKS)
def test_a_bad_link_is_one_warning_line_and_the_default_model(params: dict[str, str], pattern: str) -> None:
    """Links keep the app's one warning, a line per unused parameter (the other parameters are honoured); the line
    is plain text, every Markdown mark in it escaped (how Chromium draws it: tests/browser/test_hostile_text.py)."""
    at = _open_link(params)
    assert not at.exception and not at.error
    assert len(notices(at)) == 1
    heading, *lines = notices(at)[0].value.split("\n")
    assert read(heading) == LINK_HEADING and len(lines) == 1 and lines[0].startswith("- ")
    sentence = read(lines[0].removeprefix("- "))
    assert lines[0].removeprefix("- ") == plain(sentence)
    _assert_sentence(sentence, pattern)
    _assert_default_model_on_screen(at)


def test_a_link_the_engine_cannot_train_is_one_error_and_the_default_model() -> None:
    """Settings each within bounds that no split allows: 1% of iris holds out 2 rows for 3 classes."""
    at = _open_link({"test_size": "0.01", "epochs": "50"})
    assert not at.exception and not notices(at) and len(at.error) == 1
    frame = ("The model this link names could not be trained: ", "; the default model is shown.")
    text = read(at.error[0].value)
    assert text.startswith(frame[0]) and text.endswith(frame[1])
    _assert_sentence(text, r"A test share of 0\.01 holds out 2 rows, fewer than the 3 classes")
    _assert_default_model_on_screen(at)


# ------------------------------------------------------------------------------------ the Data page's CSV upload

GOOD_CSV = ("width,height,size\n" + "".join(f"{i % 7},{(i * 3) % 5},{'sl'[i % 7 < 3]}\n" for i in range(60))).encode()
CSVS = [
    row("empty_file", b"", r"bad\.csv is empty; it needs a header row and at least one data row"),
    row("header_only", b"a,b,y\n", r"bad\.csv has a header but no data rows"),
    row("binary_bytes", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), r"bad\.csv is not a text CSV"),
    row("one_class", b"a,y\n1,p\n2,p\n3,p\n", r"bad\.csv has only 1 class; a classifier needs at least 2"),
    row("over_50_classes", MANY_CLASSES.encode(), r"bad\.csv has 60 classes; the limit is 50"),
    row("infinite_value", b"a,y\n1,p\ninf,q\n3,p\n4,q\n", r"data row 2, column 'a' is infinite"),
    row("value_1e300", b"a,y\n1,p\n1e300,q\n3,p\n4,q\n", r"data row 2, column 'a' is 1e\+300, beyond ±1e\+15"),
    # Read, then refused by the split: it must not become the data in use either.
    row("class_too_small_to_split", b"a,y\n1,p\n2,p\n3,p\n4,q\n", r"Class 'q' has only 1 row, too few to split"),
]  # fmt: skip


def _upload_csv(at: AppTest, name: str, content: bytes, label: str) -> AppTest:
    """Upload a CSV; unless it is refused at once, choose ``label`` and press "Use this CSV and train".

    Which refusals come on upload and which on the press is the CSV reader's business: either must do.
    """
    at.file_uploader(key="csv_upload").set_value((name, content, "text/csv")).run()
    if at.error:
        return at
    at.selectbox(key=f"csv_label:{name}").set_value(label).run()
    return at.button(key="use_csv").click().run()


@pytest.mark.parametrize(("content", "pattern"), CSVS)
def test_a_bad_csv_upload_is_one_error_and_keeps_the_data_and_the_run(
    content: bytes, pattern: str, private_temp: Path
) -> None:
    at = _upload_csv(_data_page(**{state.FORM_CONFIG: QUICK}), "good.csv", GOOD_CSV, "size")
    assert not at.exception and not at.error
    good_run, good_data = at.session_state[state.RUN], at.session_state[state.USER_DATASET]
    assert good_run.data.dataset is good_data and good_data.name == "csv:good.csv"
    _upload_csv(at, "bad.csv", content, "y")
    _assert_sentence(_the_error(at), pattern)
    assert at.session_state[state.RUN] is good_run
    assert at.session_state[state.USER_DATASET] is good_data
    assert at.session_state[state.CHOSEN_DATASET] == "csv:good.csv"
    assert "In use: csv:good.csv" in [read(header.value) for header in at.subheader]
    assert not any(private_temp.iterdir())
