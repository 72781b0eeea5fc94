"""The engine is UI-free: importing it, every module of it, must not pull in Streamlit."""

import subprocess
import sys
from pathlib import Path

MODULES = sorted(path.stem for path in (Path(__file__).resolve().parents[1] / "bnn_core").glob("*.py"))


def test_importing_bnn_core_loads_no_streamlit() -> None:
    imports = "; ".join(f"import bnn_core.{name}" for name in MODULES if name != "__main__")
    code = f"import sys, bnn_core; {imports}; print(sorted(m for m in sys.modules if m.startswith('streamlit')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "probing" in MODULES and "cli" in MODULES  # the glob found the package
    assert out.strip() == "[]"
