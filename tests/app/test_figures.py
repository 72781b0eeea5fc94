"""The figures the pages send: SentFigure's quick ``to_dict`` gives what plotly's own gives, and changes nothing."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from ui.figures.base import Points, Ring, SentFigure, class_scatter, training_curves


def _scatter() -> SentFigure:
    rng = np.random.default_rng(0)
    n = 50
    points = Points(
        x=rng.normal(size=n),
        y=rng.normal(size=n),
        classes=rng.integers(0, 3, size=n),
        is_test=rng.random(n) < 0.2,
        hover=[f"<b>Point {i}</b>" for i in range(n)],
        sizes=rng.uniform(8, 20, size=n),
    )
    return class_scatter(points, ["a", "b", "c"], "Posterior sample #3", ("x", "y"), ((-3, 3), (-3, 3)),
                         rings=[Ring("wrong", rng.random(n) < 0.3, "#d00")])  # fmt: skip


def _curves() -> SentFigure:
    steps = np.arange(1, 101)
    return training_curves(steps, np.exp(-steps / 30), np.linspace(5, 1, 100), np.linspace(0.3, 0.97, 100), 100)


def _plotly_dict(figure: go.Figure) -> dict:
    """plotly's own to_dict of the same figure: deep copies, then the base64 step."""
    return go.Figure.to_dict(figure)


def test_sent_figures_give_plotly_s_own_dict_and_json() -> None:
    for figure in (_scatter(), _curves()):
        assert isinstance(figure, SentFigure)
        ours, plotly_s = figure.to_dict(), _plotly_dict(figure)
        assert ours == plotly_s
        assert pio.to_json(ours, validate=False) == pio.to_json(plotly_s, validate=False)
        assert json.loads(pio.to_json(ours, validate=False))["data"]  # something to draw


def test_sending_a_figure_leaves_it_as_it_was() -> None:
    """plotly's base64 step rewrites arrays in the dicts it is given; they must be copies, not the figure's own."""
    figure = _scatter()
    before = _plotly_dict(figure)
    x_before = figure.data[0].x.copy()
    figure.to_dict()
    figure.to_dict()
    assert isinstance(figure.data[0].x, np.ndarray)
    np.testing.assert_array_equal(figure.data[0].x, x_before)
    assert _plotly_dict(figure) == before
