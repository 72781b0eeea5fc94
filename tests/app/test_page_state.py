"""Page state, declared once: the widgets whose values survive a visit to another page are named in ui/state.py
alone, and one call per request (state.carry_widgets) keeps them all."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bnn_core import Dataset, RunConfig, TrainConfig, TrainedRun, train_run
from tests.support.apptest import opened, press_train
from ui import sources, state

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def small_run(iris: Dataset) -> TrainedRun:
    return train_run(iris, RunConfig(train=TrainConfig(epochs=200), samples=30))


def _string_literals(path: Path) -> set[str]:
    return {node.value for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Constant)
            and isinstance(node.value, str)}  # fmt: skip


def test_kept_widget_keys_are_named_in_one_place() -> None:
    names = {*state.KEPT_WIDGETS, *state.KEPT_PREFIXES}
    for path in [*(ROOT / "ui").rglob("*.py"), *(ROOT / "app_pages").glob("*.py"), ROOT / "app.py"]:
        if path != ROOT / "ui" / "state.py":
            assert not names & _string_literals(path), f"{path.relative_to(ROOT)} names a kept key itself"


def test_the_maps_held_point_and_axes_survive_a_visit_to_another_page(small_run: TrainedRun) -> None:
    at = opened(**{state.RUN: small_run})
    at.switch_page("app_pages/uncertainty_map.py").run()
    at.selectbox(key=state.MAP_Y).set_value("petal width (cm)").run()
    at.radio(key=state.MAP_HOLD).set_value("a point I choose").run()
    held = state.HELD_VALUE + "petal length (cm)"
    at.slider(key=held).set_value(6.5).run()
    at.switch_page("app_pages/how_it_works.py").run()  # Streamlit drops the map's widget values here
    at.switch_page("app_pages/uncertainty_map.py").run()
    assert not at.exception
    assert at.selectbox(key=state.MAP_Y).value == "petal width (cm)"
    assert at.radio(key=state.MAP_HOLD).value == "a point I choose"
    assert at.slider(key=held).value == 6.5


def test_an_unkept_key_is_left_alone() -> None:
    assert state.kept(state.MAP_X) and state.kept(state.AXIS_X + "iris") and not state.kept("probe_preset")
    assert not state.kept(3)


def test_a_request_that_trains_asks_for_a_ready_run_once(small_run: TrainedRun, monkeypatch) -> None:
    """A Train press that must train: the gallery and the server's cache are looked up once, not again inside."""
    asked = []
    looked_up = sources.ready_run
    monkeypatch.setattr(sources, "ready_run", lambda *args: asked.append(args) or looked_up(*args))
    at = opened(**{state.RUN: small_run})
    at.number_input(key="form_epochs").set_value(150)
    asked.clear()
    press_train(at)
    assert not at.exception and at.session_state[state.RUN].config.train.epochs == 150
    assert len(asked) == 1
