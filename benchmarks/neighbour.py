"""A busy neighbour: another process keeping one core busy, as a shared server always has one."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

NEIGHBOUR = "import numpy as np\na = np.random.rand(300, 300)\nwhile True:\n    a @ a"  # one core, always busy


@contextmanager
def neighbour(on: bool) -> Iterator[int | None]:
    """A process doing NumPy matmuls on one thread beside the benchmark, if ``on``; yields its PID."""
    if not on:
        yield None
        return
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-c", NEIGHBOUR], env=env)
    try:
        yield process.pid
    finally:
        process.terminate()
        process.wait()
