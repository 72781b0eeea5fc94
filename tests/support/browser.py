"""Helpers to drive the real app: start `streamlit run` on a free port and open headless Debian Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IDLE = '[data-test-script-state="notRunning"]'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    """A running ``streamlit run``: its process ID, its URL and the file that holds its output."""

    pid: int
    url: str
    log: Path


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def streamlit_process(
    script: str = "app.py",
    cwd: Path = ROOT,
    timeout: float = 90,
    options: tuple[str, ...] = (),
    log: Path | None = None,
) -> Iterator[Server]:
    """Run ``streamlit run script`` headless on a free port until it is healthy; yield it; stop it afterwards.

    ``options`` are more ``--section.option value`` words. The output goes to the file ``log`` (a temporary
    file if None), never to a pipe: nobody reads a pipe during a long test, and a full pipe blocks the server.
    """
    port = free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", script,
        "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1", *options,
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="streamlit-log-") as scratch:
        log_path = log if log is not None else Path(scratch) / "server.log"
        with log_path.open("wb") as output:
            process = subprocess.Popen(command, cwd=cwd, stdout=output, stderr=subprocess.STDOUT, env=os.environ)
        try:
            deadline = time.monotonic() + timeout
            while not _healthy(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    text = log_path.read_text(errors="replace")
                    raise RuntimeError(f"streamlit did not start:\n{text}")
                time.sleep(0.3)
            yield Server(process.pid, url, log_path)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@contextmanager
def streamlit_server(
    script: str = "app.py",
    cwd: Path = ROOT,
    timeout: float = 90,
    options: tuple[str, ...] = (),
    log: Path | None = None,
) -> Iterator[str]:
    """`streamlit_process`, yielding only the URL."""
    with streamlit_process(script, cwd, timeout, options, log) as server:
        yield server.url


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def chromium() -> Iterator[object]:
    """Headless Debian Chromium under Playwright (never `playwright install`: it cannot download here)."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise RuntimeError("Chromium is not installed: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def browser_page(width: int = 1600, height: int = 1000) -> Iterator[object]:
    """One page of a fresh headless Chromium with the given viewport."""
    with chromium() as browser:
        yield browser.new_page(viewport={"width": width, "height": height})


def wait_idle(page: object, timeout_ms: float = 180_000) -> None:
    """Wait until the app's script run has finished (after a click or a page load)."""
    page.wait_for_selector(IDLE, state="attached", timeout=timeout_ms)
