"""The engine is UI-free: importing it must not pull in Streamlit."""

import subprocess
import sys


def test_importing_bnn_core_loads_no_streamlit() -> None:
    code = "import sys, bnn_core, bnn_core.cli; print(sorted(m for m in sys.modules if m.startswith('streamlit')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
