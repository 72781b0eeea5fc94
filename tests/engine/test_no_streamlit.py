"""The engine is UI-free: importing it, every module of it, must not pull in Streamlit."""

import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "bnn_core"
# every module as a dotted name under bnn_core, sub-packages included: "probing" -> "posterior.probing"
MODULES = sorted(
    ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    for path in PACKAGE.rglob("*.py")
    if path.stem != "__init__"
)


@pytest.mark.slow  # a fresh interpreter: 3 s
def test_importing_bnn_core_loads_no_streamlit() -> None:
    imports = "; ".join(f"import bnn_core.{name}" for name in MODULES if not name.endswith("__main__"))
    code = f"import sys, bnn_core; {imports}; print(sorted(m for m in sys.modules if m.startswith('streamlit')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "posterior.probing" in MODULES and "cli.train" in MODULES  # the glob found the sub-packages
    assert out.strip() == "[]"
