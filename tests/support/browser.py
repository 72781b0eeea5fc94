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


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive ports that are free now."""
    while True:
        first = free_port()
        try:
            for port in range(first + 1, first + count):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return first


def _served_by(url: str, replica: str) -> bool:
    """Whether the proxy at ``url`` hands a browser holding ``replica``'s cookie to that replica, healthy."""
    request = urllib.request.Request(f"{url}/_stcore/health", headers={"Cookie": f"bnn_replica={replica}"})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status == 200 and response.headers.get("X-BNN-Replica") == replica
    except OSError:
        return False


@contextmanager
def replicas_process(replicas: int, shared: Path, timeout: float = 180, log: Path | None = None) -> Iterator[Server]:
    """``deploy/run.sh REPLICAS PORT`` on free ports, its runs shared in ``shared``, until the proxy reaches every
    replica; yield it (the script's process ID, the proxy's URL); then SIGTERM, as a supervisor stops it.

    Raises:
        RuntimeError: it did not start, or it was still running 30 s after SIGTERM.
    """
    port = free_ports(replicas + 1)
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "BNN_SHARED_RUNS": str(shared), "PYTHON": sys.executable}
    with tempfile.TemporaryDirectory(prefix="replicas-log-") as scratch:
        log_path = log if log is not None else Path(scratch) / "run.log"
        with log_path.open("wb") as output:
            process = subprocess.Popen(
                ["bash", str(ROOT / "deploy" / "run.sh"), str(replicas), str(port)],
                cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + timeout
            while not all(_served_by(url, f"r{i}") for i in range(1, replicas + 1)):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"deploy/run.sh did not start:\n{log_path.read_text(errors='replace')}")
                time.sleep(0.5)
            yield Server(process.pid, url, log_path)
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                raise RuntimeError("deploy/run.sh was still running 30 s after SIGTERM") from None


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
