"""How often live loss curves are redrawn: a few times a second alone, less often when many sessions train."""

from __future__ import annotations

import pytest

from ui import training


def test_one_training_redraws_at_the_usual_pace() -> None:
    assert training.redraw_gap(0.01, 1) == training.REDRAW_SECONDS
    assert training.redraw_gap(0.01, 0) == training.REDRAW_SECONDS  # counted before it began: still one


def test_many_trainings_space_their_redraws_so_that_together_they_keep_within_their_share() -> None:
    draw, live = 0.05, 8
    gap = training.redraw_gap(draw, live)
    assert gap == pytest.approx(draw * live / training.REDRAW_SHARE)  # 1.6 s
    assert live * draw / gap == pytest.approx(training.REDRAW_SHARE)  # the share of time all redraws take


def test_the_live_count_comes_back_down_also_when_a_training_fails() -> None:
    before = training._live
    with pytest.raises(RuntimeError), training._counted_live():
        assert training._live == before + 1
        raise RuntimeError("stopped")
    assert training._live == before
