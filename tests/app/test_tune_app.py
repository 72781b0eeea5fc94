"""The Tune button through AppTest: the search runs in the background, then its choice is in the form and trained."""

from __future__ import annotations

import time

import pytest

from bnn_core import DataConfig, ModelConfig, RunConfig, TrainConfig, load_builtin, train_run
from tests.support.apptest import opened
from ui import links, state
from ui.views import tune

QUICK = RunConfig(data=DataConfig(dataset="two_moons"), model=ModelConfig(hidden=(8,)), train=TrainConfig(epochs=600),
                  samples=20)  # fmt: skip


@pytest.mark.slow  # a whole search: 2.5 s
def test_tune_searches_in_the_background_then_trains_its_choice_with_it_in_the_form() -> None:
    run = train_run(load_builtin("two_moons"), QUICK)
    at = opened(**{state.RUN: run})
    assert not at.exception
    next(button for button in at.button if button.label == "Tune σ₀ and the KL weight").click().run()
    assert at.session_state[tune.JOB] is not None
    deadline = time.monotonic() + 180
    while tune.JOB in at.session_state and at.session_state[tune.JOB] is not None and time.monotonic() < deadline:
        time.sleep(1)
        at.run()
    assert not at.exception and not at.error
    result, name = at.session_state[tune.LAST]
    assert name == "two_moons" and len(result.table) == tune.CELLS
    trained = at.session_state[state.RUN]
    assert trained.config == result.config  # the page trained the choice, so it is in the URL too
    assert at.text_input(key="form_kl_weight").value == result.config.train.kl_weight
    written = {name: at.query_params[name] for name in at.query_params}
    assert links.parse(written).config == result.config  # a copied link opens the tuned run


def test_too_few_training_rows_is_one_sentence_and_no_search() -> None:
    tiny = RunConfig(data=DataConfig(dataset="cubic", test_size=0.9), model=ModelConfig(hidden=(4,)),
                     train=TrainConfig(epochs=100), samples=10)  # fmt: skip
    at = opened(**{state.RUN: train_run(load_builtin("cubic"), tiny)})
    next(button for button in at.button if button.label == "Tune σ₀ and the KL weight").click().run()
    assert tune.JOB not in at.session_state or at.session_state[tune.JOB] is None
    assert any("tune needs at least 8 training rows" in error.value for error in at.error)
