"""Two replicas behind HAProxy (deploy/run.sh): two browsers land on different replicas, each session's websocket
stays on its replica, a link opened on one and then on the other trains once, and SIGTERM stops everything."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.support.browser import chromium, chromium_path, replicas_process, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if chromium_path() is None or shutil.which("haproxy") is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Chromium and HAProxy here: apt-get install -y chromium haproxy")
    pytest.skip("Chromium or HAProxy is not installed (apt-get install -y chromium haproxy)", allow_module_level=True)

SEED, EPOCHS = 4242, 300  # a link naming a run nobody has trained (no gallery preset has this seed)
LINK = f"/?dataset=iris&seed={SEED}&epochs={EPOCHS}"
# The first posterior sample's chart as plotly holds it (decoded): the same model draws the same sample.
SAMPLE_JS = """() => {
    const div = Array.from(document.querySelectorAll('.js-plotly-plot')).find(d => d.layout && d.layout.title
        && d.layout.title.text.replace(/<[^>]*>/g, '') === 'Posterior sample #0');
    return div && div._fullData.map(trace => Array.from(trace.x || []).concat(Array.from(trace.y || [])));
}"""


def _open(browser, url: str) -> tuple[object, str, list[str]]:
    """A new browser (its own cookies) opening the link: its page, the replica that served the page, and the
    replica of every websocket it opened (HAProxy's X-BNN-Replica header on the handshake)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sockets: list[str] = []
    cdp = context.new_cdp_session(page)
    cdp.on(
        "Network.webSocketHandshakeResponseReceived",
        lambda event: sockets.append({k.lower(): v for k, v in event["response"]["headers"].items()}["x-bnn-replica"]),
    )
    cdp.send("Network.enable")
    response = page.goto(url + LINK)
    page.wait_for_function(f"() => Boolean(({SAMPLE_JS})())", timeout=240_000)  # trained, or found ready
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    return page, response.headers["x-bnn-replica"], sockets


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _only_entry(shared: Path) -> Path:
    """The one run in the shared store."""
    (entry,) = (path for path in shared.iterdir() if path.is_symlink())
    return entry


def _environment_of_replica_on(port: int) -> dict[str, str]:
    """The environment of the ``streamlit run`` process serving ``port``, read from /proc."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
            if b"streamlit" in words and str(port).encode() in words:
                pairs = (cmdline.parent / "environ").read_bytes().split(b"\0")
                return dict(pair.decode().split("=", 1) for pair in pairs if b"=" in pair)
        except OSError:  # a process that ended meanwhile
            continue
    raise LookupError(f"no streamlit process serves port {port}")


def test_two_sessions_land_on_two_replicas_and_a_link_trains_once(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    with replicas_process(2, shared) as server, chromium() as browser:
        first, first_replica, first_sockets = _open(browser, server.url)
        saved = os.readlink(_only_entry(shared))  # the first session trained the run, into the shared store
        second, second_replica, second_sockets = _open(browser, server.url)
        assert {first_replica, second_replica} == {"r1", "r2"}
        assert set(first_sockets) == {first_replica} and set(second_sockets) == {second_replica}
        assert os.readlink(_only_entry(shared)) == saved  # the second replica read it: no new training, no save
        assert first.evaluate(SAMPLE_JS) == second.evaluate(SAMPLE_JS)  # the same run on both
        port = urlparse(server.url).port
        for replica_port in (port + 1, port + 2):  # two malloc arenas each (ui/server/heap.py)
            assert _environment_of_replica_on(replica_port)["MALLOC_ARENA_MAX"] == "2"
    assert not any(_listening(port + k) for k in range(3))  # SIGTERM stopped the proxy and both replicas
