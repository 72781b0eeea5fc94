"""What pages derive from a finished run is built once per run object and reused by reruns (ui.state.derived), and
a page showing it is the same as one that built everything afresh."""

from __future__ import annotations

import dataclasses
import gc
import weakref

import numpy as np
from streamlit.testing.v1 import AppTest

from bnn_core import TrainedRun
from tests.support.apptest import opened
from ui import state


def _counting(results: list[str]):
    """A build function that records each call and returns a fresh result."""

    def build() -> str:
        results.append(f"built {len(results)}")
        return results[-1]

    return build


def test_one_build_per_run_and_inputs_and_new_inputs_replace_the_old(quick_run: TrainedRun) -> None:
    calls: list[str] = []
    build = _counting(calls)
    first = state.derived(quick_run, "test figure", build, (0, 1))
    assert state.derived(quick_run, "test figure", build, (0, 1)) is first
    assert len(calls) == 1
    second = state.derived(quick_run, "test figure", build, (2, 3))
    assert second != first and len(calls) == 2
    assert state.derived(quick_run, "test figure", build, (0, 1)) != first  # one entry per name: (0, 1) was replaced
    assert len(calls) == 3


def test_another_run_with_equal_settings_gets_its_own_entry(quick_run: TrainedRun) -> None:
    twin = dataclasses.replace(quick_run)  # equal fields, another object: another training in another session
    calls: list[str] = []
    build = _counting(calls)
    assert state.derived(quick_run, "test table", build) != state.derived(twin, "test table", build)
    assert len(calls) == 2


def test_the_entries_go_with_the_run(quick_run: TrainedRun) -> None:
    run = dataclasses.replace(quick_run)
    kept = weakref.ref(state.derived(run, "test table", lambda: np.zeros(1000)))
    assert run in state._DERIVED and kept() is not None
    del run
    gc.collect()
    assert kept() is None  # the entry held the only other reference: it went with the run


def _least_sure_points(at: AppTest) -> list[int]:
    return at.dataframe[0].value["point"].tolist()


def test_the_table_shown_on_a_rerun_is_the_brute_force_table(quick_run: TrainedRun) -> None:
    """The cached table is what a direct sort of the run's entropy gives, on the first run and on reruns."""
    entropy = quick_run.evaluation.uncertainty.entropy.numpy()
    expected = sorted(range(len(entropy)), key=lambda i: -entropy[i])[:10]
    at = opened(**{state.RUN: quick_run})
    for _ in range(3):
        at.run()
        assert not at.exception
        assert _least_sure_points(at) == expected
    shown = at.dataframe[0].value.set_index("point")
    np.testing.assert_allclose(shown["entropy"].to_numpy(), entropy[expected], rtol=1e-6)
