"""The README's commands are the ones CI runs, and its examples run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _readme_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    return [line for block in blocks for line in block.splitlines()]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    test_command = next(line for line in _readme_commands() if "pytest" in line)
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci_lines


def test_readme_app_command_installs_and_starts_the_app() -> None:
    app_command = next(line for line in _readme_commands() if "streamlit run" in line)
    assert "pip install -r requirements.txt" in app_command and app_command.endswith("streamlit run app.py")


def test_the_python_example_in_the_readme_runs(tmp_path, monkeypatch) -> None:
    block = re.search(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(block.replace("epochs=1000", "epochs=50"), "README.md", "exec"), namespace)
    assert namespace["probs"].shape == (100, 5, 3)
    assert (tmp_path / "runs" / "iris" / "model.safetensors").is_file()


def test_the_regression_example_in_the_readme_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    block = next(block for block in blocks if 'load_builtin("cubic")' in block)
    namespace: dict[str, object] = {}
    exec(compile(block.replace("epochs=3000", "epochs=100"), "README.md", "exec"), namespace)
    assert namespace["grid"].shape == (200, 1) and namespace["bands"].epistemic.shape == (200,)
    assert namespace["run"].task == "regression"
