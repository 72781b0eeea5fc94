"""The README is the front door: its commands are the ones CI runs, its examples (and those of docs/) run, and it
stays short."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from bnn_core.cli import main

ROOT = Path(__file__).resolve().parents[2]
# Files whose ```python blocks are examples a reader copies: each must run as written.
EXAMPLE_FILES = ("README.md", "docs/api.md")
FEWER_EPOCHS = 50  # the examples' epochs, cut so that they run in a test's time


def _blocks(name: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", (ROOT / name).read_text(), flags=re.S)


def _readme_commands() -> list[str]:
    return [line for block in _blocks("README.md", "bash") for line in block.splitlines()]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    test_command = next(line for line in _readme_commands() if "pytest" in line)
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci_lines


def test_readme_app_command_installs_and_starts_the_app() -> None:
    app_command = next(line for line in _readme_commands() if "streamlit run" in line)
    assert "pip install -r requirements.txt" in app_command and app_command.endswith("streamlit run app.py")


def test_the_readme_stays_a_front_door() -> None:
    """At most 250 lines, a 5-line example of each kind, and a link to every file in docs/."""
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    cli = [line for line in _readme_commands() if line.startswith("python -m bnn_core ")]
    assert len(cli) == 5
    (python,) = _blocks("README.md", "python")
    assert len([line for line in python.splitlines() if line.strip()]) == 5
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f"](docs/{page.name})" in readme, page.name
    assert "](docs/img/main-page.png)" in readme and (ROOT / "docs/img/main-page.png").stat().st_size < 300_000


@pytest.mark.slow  # trains the example run: 20 s
def test_the_readme_command_line_example_runs(tmp_path, monkeypatch, capsys) -> None:
    """Each `python -m bnn_core` line of the README, as written, in this process (the same `main` as the command)."""
    monkeypatch.chdir(tmp_path)
    for line in _readme_commands():
        if line.startswith("python -m bnn_core "):
            argv = shlex.split(line, comments=True)[3:]
            assert main(argv) == 0, line
    out = capsys.readouterr().out
    assert "runs/iris is a valid run: 4 → 100 → 3 BNN on iris" in out
    assert (tmp_path / "runs" / "cubic" / "predictions.csv").is_file()
    assert "deep ensemble" in out and "HMC reference" in out
    assert (tmp_path / "sweeps" / "moons" / "results.csv").read_text().count("\n") == 1 + 4  # a header, 2 × 2 cells


EXAMPLES = [(name, k) for name in EXAMPLE_FILES for k in range(len(_blocks(name, "python")))]


@pytest.mark.parametrize(("name", "index"), EXAMPLES, ids=[f"{name}-{k}" for name, k in EXAMPLES])
def test_every_python_example_runs(name: str, index: int, tmp_path, monkeypatch) -> None:
    """Every ```python block of the README and docs/api.md runs, with fewer epochs; what it promises in its
    comments about shapes holds."""
    block = _blocks(name, "python")[index]
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(re.sub(r"epochs=\d+", f"epochs={FEWER_EPOCHS}", block), name, "exec"), namespace)
    if "sample_probs(" in block:
        assert namespace["probs"].shape == (100, 5, 3)
    if "save_run(" in block:
        assert (tmp_path / "runs" / "iris" / "model.safetensors").is_file()
    if 'load_builtin("cubic")' in block:
        assert namespace["run"].task == "regression"
        assert namespace["grid"].shape == (200, 1) and namespace["bands"].epistemic.shape == (200,)


def test_the_examples_include_the_main_and_the_regression_example() -> None:
    blocks = [block for name in EXAMPLE_FILES for block in _blocks(name, "python")]
    assert sum("sample_probs(" in block for block in blocks) >= 2  # the README's and api.md's
    assert any("curve_bands(" in block for block in blocks)
