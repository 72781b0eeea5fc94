"""Closed sessions give their memory back: their models, maps and uploads are released on time.

Streamlit keeps a closed tab's session for ``server.disconnectedSessionTTL`` seconds (120 by
default) so that a reconnecting tab finds its state, and then forgets it only lazily: the next
time another session disconnects. After a class leaves, their models and maps would stay in
the server's memory. A janitor thread, one per server, empties the state of every session that
has been disconnected for longer than that, and hands the freed memory back to the system.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st
from streamlit.logger import get_logger
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

CHECK_SECONDS = 10.0  # how often the janitor looks; a closed session is released at most this late
_LOG = get_logger(__name__)  # Streamlit's logger: its lines go to the server's log with Streamlit's own


@dataclass
class _Seen:
    state: weakref.ref  # the session's state (Streamlit's SafeSessionState); weak, so it never outlives the session
    gone_since: float | None = None  # monotonic time the session was first seen disconnected


_SESSIONS: dict[str, _Seen] = {}
_LOCK = threading.Lock()
_janitor: threading.Thread | None = None


def seen() -> None:
    """Call on every script run: remember this session, and start the janitor once per server."""
    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists():  # AppTest and bare mode have no server whose sessions close
        return
    global _janitor
    with _LOCK:
        entry = _SESSIONS.get(ctx.session_id)
        if entry is None or entry.state() is not ctx.session_state:
            _SESSIONS[ctx.session_id] = _Seen(weakref.ref(ctx.session_state))
        if _janitor is None:
            _janitor = threading.Thread(target=_sweep_forever, name="bnn-session-janitor", daemon=True)
            _janitor.start()


def release_closed(now: float, is_connected: Callable[[str], bool], grace: float) -> list[str]:
    """Empty the state of every session disconnected for at least ``grace`` seconds; return their ids.

    A session that reconnects in time is kept as it was. A released session is forgotten.
    """
    released = []
    with _LOCK:
        for session_id, entry in list(_SESSIONS.items()):
            state = entry.state()
            if state is None:  # Streamlit dropped the session itself
                del _SESSIONS[session_id]
            elif is_connected(session_id):
                entry.gone_since = None
            elif entry.gone_since is None:
                entry.gone_since = now
            elif now - entry.gone_since >= grace:
                _empty(state)
                del _SESSIONS[session_id]
                released.append(session_id)
    return released


def tracked() -> int:
    """How many sessions the janitor is watching."""
    with _LOCK:
        return len(_SESSIONS)


def _empty(state: Any) -> None:
    """Delete every user key of a session's state (each deletion takes the state's own lock)."""
    for key in list(state.filtered_state):
        with contextlib.suppress(KeyError):  # deleted meanwhile
            del state[key]


def _sweep_forever() -> None:
    grace = float(st.get_option("server.disconnectedSessionTTL"))
    while True:
        time.sleep(CHECK_SECONDS)
        if not Runtime.exists():
            return
        runtime = Runtime.instance()
        released = release_closed(time.monotonic(), runtime.is_active_session, grace)
        if released:
            _return_free_memory()
            _LOG.info("Released %d closed session(s); %d still open.", len(released), tracked())


def _return_free_memory() -> None:
    """Ask glibc to hand freed heap pages back to the system (elsewhere: nothing to do)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None)
    if trim is not None:
        trim(0)
