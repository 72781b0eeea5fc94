"""Closed and idle sessions give their memory back: their models, maps and uploads are released on time.

Streamlit keeps a closed tab's session for ``server.disconnectedSessionTTL`` seconds (120 by
default) so that a reconnecting tab finds its state, and then forgets it only lazily: the next
time another session disconnects. After a class leaves, their models and maps would stay in
the server's memory. A janitor thread, one per server, empties the state of every session that
has been disconnected for longer than that, and hands the freed memory back to the system.
Streamlit also keeps, per session and outside its state, the uploaded files, the download buttons' data (whose
functions hold the run they download) and the tables' sources; it releases them when it shuts a session down,
which a session it forgets once its time is up never is. The janitor releases those too.

A tab left open but unused for ``IDLE_SECONDS`` keeps what the user chose (the run on screen, its
settings, data and view) and gives up what the app can recompute: the plain twin and the cached maps.

When the last session is released, the room has closed: the server's run cache is emptied too. It may hold up to
256 MB, of runs the next room is unlikely to ask for; a run asked for again is trained in a second or two (or read
from ``$BNN_SHARED_RUNS``). After ``benchmarks/memory.py``'s rooms (40 runs of 3,000 epochs each) it held its 32
runs, about 7 MB.
"""

from __future__ import annotations

import contextlib
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

from bnn_core.runs.cache import RunCache

from .. import state
from ..sources import run_cache
from . import heap

CHECK_SECONDS = 10.0  # how often the janitor looks; a closed session is released at most this late
IDLE_SECONDS = 30 * 60.0  # an open tab with no script run for this long gives up RECOMPUTABLE
RECOMPUTABLE = (state.TWIN, state.MEMO)  # redone on the next visit that needs them, from the run on screen
_LOG = get_logger(__name__)  # Streamlit's logger: its lines go to the server's log with Streamlit's own


@dataclass
class _Seen:
    state: weakref.ref  # the session's state (Streamlit's SafeSessionState); weak, so it never outlives the session
    last_run: float  # monotonic time of the session's latest script run (or fragment run)
    gone_since: float | None = None  # monotonic time the session was first seen disconnected


_SESSIONS: dict[str, _Seen] = {}
_LOCK = threading.Lock()
_janitor: threading.Thread | None = None


def seen() -> None:
    """Call on every script run and fragment run: remember this session and when it last ran; start the janitor
    once per server."""
    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists():  # AppTest and bare mode have no server whose sessions close
        return
    global _janitor
    with _LOCK:
        entry = _SESSIONS.get(ctx.session_id)
        if entry is None or entry.state() is not ctx.session_state:
            entry = _SESSIONS[ctx.session_id] = _Seen(weakref.ref(ctx.session_state), time.monotonic())
        entry.last_run = time.monotonic()
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
            held = entry.state()
            if held is None:  # Streamlit dropped the session itself
                del _SESSIONS[session_id]
            elif is_connected(session_id):
                entry.gone_since = None
            elif entry.gone_since is None:
                entry.gone_since = now
            elif now - entry.gone_since >= grace:
                _empty(held)
                del _SESSIONS[session_id]
                released.append(session_id)
    return released


def release_idle(now: float, is_connected: Callable[[str], bool], idle_after: float) -> list[str]:
    """Drop the RECOMPUTABLE keys of every open session whose last run is ``idle_after`` seconds old or more;
    return the ids of those that held any. Everything else in the session stays.

    Safe while a run is under way: a page that finds a key gone recomputes it.
    """
    released = []
    with _LOCK:
        for session_id, entry in _SESSIONS.items():
            held = entry.state()
            if held is None or not is_connected(session_id) or now - entry.last_run < idle_after:
                continue
            keys = held.filtered_state
            dropped = [key for key in RECOMPUTABLE if keys.get(key) is not None]
            _delete(held, dropped)
            if dropped:
                released.append(session_id)
    return released


def close_room(released: list[str], cache: RunCache) -> int | None:
    """If this sweep released sessions and none is left, empty ``cache`` and return how many runs it dropped;
    otherwise keep it (a session still open may ask for a run again) and return None."""
    if not released or tracked() > 0:
        return None
    return cache.clear()


def tracked() -> int:
    """How many sessions the janitor is watching."""
    with _LOCK:
        return len(_SESSIONS)


def _empty(held: Any) -> None:
    """Delete every user key of a session's state (each deletion takes the state's own lock)."""
    _delete(held, list(held.filtered_state))


def _delete(held: Any, keys: list[str]) -> None:
    for key in keys:
        with contextlib.suppress(KeyError):  # deleted meanwhile
            del held[key]


def _sweep_forever() -> None:
    grace = float(st.get_option("server.disconnectedSessionTTL"))
    while True:
        time.sleep(CHECK_SECONDS)
        if not Runtime.exists():
            return
        runtime = Runtime.instance()
        now = time.monotonic()
        released = release_closed(now, runtime.is_active_session, grace)
        for session_id in released:
            _release_streamlit_files(runtime, session_id)
        dropped = close_room(released, run_cache())
        if dropped is not None:
            _LOG.info("The room has closed: dropped %d finished run(s) from the run cache.", dropped)
        idle = release_idle(now, runtime.is_active_session, IDLE_SECONDS)
        if released or idle:
            heap.return_free_memory()
        if released:
            _LOG.info("Released %d closed session(s); %d still open.", len(released), tracked())
        if idle:
            _LOG.info("Released the maps and plain twins of %d idle session(s).", len(idle))


def _release_streamlit_files(runtime: Runtime, session_id: str) -> None:
    """What Streamlit holds for a closed session outside its state, released as its own shutdown would (each
    manager takes its own lock, so any thread may): its uploads, its download buttons' data and its tables'
    sources. A benchmark of 8 sessions x 5 trainings kept 105 MB more after they closed without this
    (benchmarks/memory.py)."""
    runtime.uploaded_file_mgr.remove_session_files(session_id)
    runtime.media_file_mgr.clear_session_refs(session_id)
    runtime.media_file_mgr.remove_orphaned_files()
    runtime.dataframe_source_mgr.clear_all_for_session(session_id)
