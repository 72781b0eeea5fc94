"""The server's malloc arenas: limited to ui.server.heap.ARENAS, counted from glibc's own report."""

from __future__ import annotations

import ctypes.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ui.server import heap

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    ctypes.util.find_library("c") is None
    or not hasattr(os, "confstr")
    or "glibc" not in os.confstr("CS_GNU_LIBC_VERSION"),
    reason="malloc arenas are glibc's",
)


def _arenas(*args: str) -> int:
    """Arenas a fresh process opens while 16 threads allocate at once (tests/support/arenas.py)."""
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run([sys.executable, "-m", "tests.support.arenas", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True, timeout=120)  # fmt: skip
    return int(done.stdout)


def test_the_server_keeps_its_threads_to_two_arenas_where_glibc_would_open_more() -> None:
    assert _arenas() > heap.ARENAS  # the control: the same threads without the limit open more
    assert _arenas("limit") <= heap.ARENAS
