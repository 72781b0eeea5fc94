"""The janitor that releases closed sessions: what it empties, what it keeps, and when."""

from __future__ import annotations

import weakref

import pytest

from bnn_core import TrainedRun
from bnn_core.runs.cache import RunCache
from ui.server import sessions


class FakeState(dict):
    """Stands in for Streamlit's SafeSessionState: user keys, and deletion one key at a time."""

    @property
    def filtered_state(self) -> dict:
        return dict(self)


@pytest.fixture
def tracked() -> dict[str, FakeState]:
    """Three sessions with a model each, registered with the janitor; unregistered afterwards."""
    states = {sid: FakeState(bnn_run=f"model of {sid}", bnn_memo={"map": "big"}) for sid in ("a", "b", "c")}
    sessions._SESSIONS.clear()
    sessions._SESSIONS.update({sid: sessions._Seen(weakref.ref(state), 0.0) for sid, state in states.items()})
    yield states
    sessions._SESSIONS.clear()


def test_a_session_is_released_only_after_the_grace_period_of_being_disconnected(tracked) -> None:
    connected = {"a"}
    assert sessions.release_closed(100.0, connected.__contains__, grace=120) == []  # b, c seen gone at t=100
    assert sessions.release_closed(219.0, connected.__contains__, grace=120) == []  # 119 s: may still reconnect
    assert tracked["b"] and tracked["c"]
    assert sorted(sessions.release_closed(220.0, connected.__contains__, grace=120)) == ["b", "c"]
    assert tracked["b"] == {} and tracked["c"] == {}
    assert tracked["a"]["bnn_run"] == "model of a"  # the open tab keeps everything
    assert sessions.tracked() == 1


def test_a_session_that_reconnects_in_time_keeps_its_state_and_its_clock_restarts(tracked) -> None:
    connected = {"a", "c"}
    sessions.release_closed(0.0, connected.__contains__, grace=120)  # b gone since 0
    sessions.release_closed(100.0, {"a", "b", "c"}.__contains__, grace=120)  # b back
    sessions.release_closed(150.0, connected.__contains__, grace=120)  # b gone again since 150
    assert sessions.release_closed(200.0, connected.__contains__, grace=120) == []
    assert tracked["b"]["bnn_run"] == "model of b"
    assert sessions.release_closed(270.0, connected.__contains__, grace=120) == ["b"]


def test_a_session_streamlit_already_dropped_is_forgotten(tracked) -> None:
    del tracked["c"]  # the last reference: the weak one dies with it
    sessions.release_closed(0.0, lambda sid: True, grace=120)
    assert sessions.tracked() == 2


def test_an_idle_open_tab_gives_up_only_what_can_be_recomputed(tracked) -> None:
    for held in tracked.values():
        held.update(bnn_twin=("run", "twin"), bnn_form_config="settings", bnn_view={"axis_y": 2})
    sessions._SESSIONS["c"].last_run = 1000.0  # c ran lately; a and b last ran at 0
    connected = {"a", "c"}  # b is closed: that is the other release's job
    idle_after = sessions.IDLE_SECONDS
    assert sessions.release_idle(idle_after - 1, connected.__contains__, idle_after) == []  # not idle yet
    assert sessions.release_idle(idle_after, connected.__contains__, idle_after) == ["a"]
    assert tracked["a"] == {"bnn_run": "model of a", "bnn_form_config": "settings", "bnn_view": {"axis_y": 2}}
    assert "bnn_memo" in tracked["b"] and "bnn_twin" in tracked["c"] and "bnn_memo" in tracked["c"]
    assert sessions.release_idle(idle_after + 10, connected.__contains__, idle_after) == []  # nothing left to give
    assert sessions.tracked() == 3  # an idle tab is still watched: it is open


def test_the_run_cache_is_emptied_when_the_last_session_of_a_room_is_released(tracked, quick_run: TrainedRun) -> None:
    cache = RunCache()
    cache.put(quick_run)
    sessions.release_closed(0.0, {"a"}.__contains__, grace=0)  # b and c seen closed; a still open
    released = sessions.release_closed(0.0, {"a"}.__contains__, grace=0)
    assert sorted(released) == ["b", "c"]
    assert sessions.close_room(released, cache) is None and cache.get(quick_run.config) is not None
    assert sessions.close_room([], cache) is None  # a sweep that released nothing changes nothing
    sessions.release_closed(1.0, set().__contains__, grace=0)  # a closes too: the room is empty
    released = sessions.release_closed(1.0, set().__contains__, grace=0)
    assert released == ["a"]
    assert sessions.close_room(released, cache) == 1
    assert len(cache) == 0 and cache.get(quick_run.config) is None
