"""What a speaker sees between the charts and the title: the strip names the run on screen wherever it came from,
and ← and → step through the gallery from where the talk is, through AppTest."""

from __future__ import annotations

import numpy as np
import pytest

from bnn_core import TrainedRun, load_builtin, train_run
from bnn_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from bnn_core.data.datasets import edit_rows
from bnn_core.runs.gallery import PRESETS
from tests.support.apptest import opened, read
from ui import state


def _strip(at) -> str:
    """The text of the strip above the charts (the first Markdown that names a run or a preset), as read."""
    return read(next(m.value for m in at.markdown if m.value.startswith("**")))


def test_the_strip_names_a_run_that_is_not_a_preset_and_where_it_came_from(quick_run: TrainedRun) -> None:
    origin = "From the sweep (the cell σ₀ 1, KL weight 0.01)"
    at = opened(**{state.RUN: quick_run, state.PRESET: None, state.ORIGIN: origin})
    assert not at.exception
    assert _strip(at).startswith(
        f"**{origin}:** iris, 4 → 100 → 3 relu, prior N(0, 1²), KL sum × 1/N, 300 epochs, seed 0; test accuracy "
    )


@pytest.mark.parametrize(("last", "key", "expected"), [
    ("textbook", "preset_next", "tight-prior"),  # on from the preset shown last, not again from the first
    ("textbook", "preset_prev", "textbook"),  # back to it
    (None, "preset_next", PRESETS[0].slug),  # no preset yet: the gallery's first and last
    (None, "preset_prev", PRESETS[-1].slug),
])  # fmt: skip
def test_arrows_after_a_run_of_ones_own_step_on_from_the_preset_shown_last(
    quick_run: TrainedRun, last: str | None, key: str, expected: str
) -> None:
    at = opened(**{state.RUN: quick_run, state.PRESET: None, state.LAST_PRESET: last})
    at.button(key=key).click().run()
    assert not at.exception and at.session_state[state.PRESET] == expected


def test_presenter_mode_says_that_a_regression_set_was_edited() -> None:
    """The sidebar that names the edited set is hidden in presenter mode: the strip says it."""
    cubic = load_builtin("cubic")
    config = RunConfig(
        data=DataConfig(dataset="cubic"), model=ModelConfig(hidden=(16,)), train=TrainConfig(epochs=100), samples=20
    )
    original = train_run(cubic, config)
    edited = edit_rows(cubic, add_x=np.array([[5.0]]), add_y=[0.0], is_test=original.data.is_test)
    run = train_run(edited, RunConfig(data=DataConfig(dataset=edited.name), model=config.model, train=config.train))
    session = {state.RUN: run, state.PRESET: None, state.ORIGIN: "Edited by clicks", state.PRESENT: True,
               state.EDITED_DATASET: edited, state.UNEDITED_RUN: original}  # fmt: skip
    at = opened(**session)
    assert not at.exception
    assert _strip(at).startswith(f"**Edited by clicks:** cubic with clicked points ({cubic.n_rows + 1} points; ")
