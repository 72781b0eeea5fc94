"""The figures the pages send: SentFigure's quick ``to_dict`` gives what plotly's own gives, and changes nothing."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

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


@pytest.mark.parametrize("features", [1, 2, 3])
def test_the_data_pages_pairs_chart_draws_every_feature_count(features: int) -> None:
    """With one or two features the splom, diagonal and upper half hidden, had nothing to draw: the two_moons
    presets' Data page stayed blank (0 px high) in the browser. One or two features get one panel of points."""
    from ui.figures.calibration import scatter_matrix

    rng = np.random.default_rng(0)
    x, labels = rng.normal(size=(40, features)), rng.integers(0, 2, 40)
    names = [f"f{j}" for j in range(features)]
    figure = scatter_matrix(x, labels, names, ["a", "b"]).to_dict()
    drawn = [trace for trace in figure["data"] if trace.get("type") in ("splom", "scattergl")]
    assert len(drawn) == 1
    if features == 3:
        assert drawn[0]["type"] == "splom" and len(drawn[0]["dimensions"]) == 3
    else:
        assert drawn[0]["type"] == "scattergl" and len(drawn[0]["x"]) == 40
        assert list(drawn[0]["y"]) == (list(x[:, 1]) if features == 2 else ["ab"[k] for k in labels])
        assert figure["layout"]["xaxis"]["title"]["text"] == "f0"


@pytest.mark.parametrize("regression", [False, True])
def test_the_training_curves_have_a_kl_panel_only_for_a_network_with_a_kl_term(regression: bool) -> None:
    steps = np.arange(1, 101)
    ce, kl, score = np.exp(-steps / 30), np.linspace(5, 1, 100), np.linspace(0.3, 0.97, 100)
    bayesian = training_curves(steps, ce, kl, score, 100, regression=regression).to_dict()
    plain = training_curves(steps, ce, None, score, 100, regression=regression).to_dict()
    titles = [a["text"].split("<br>")[0] for a in plain["layout"]["annotations"]]
    assert len(bayesian["data"]) == 3 and len(plain["data"]) == 2
    assert "KL to the prior" in [a["text"].split("<br>")[0] for a in bayesian["layout"]["annotations"]]
    assert "KL to the prior" not in titles
    domains = [plain["layout"][axis]["domain"] for axis in ("xaxis", "xaxis2")]
    assert domains[0][0] == 0 and domains[1][1] == pytest.approx(1) and domains[0][1] < domains[1][0]  # no overlap
    last_y = plain["layout"]["yaxis2"]
    # The train accuracy's axis is in percent; a regression's train RMSE (scaled) keeps its own axis.
    assert (last_y.get("tickformat") == ".0%") == (not regression)


def test_live_curves_leave_out_the_kl_of_a_network_that_reports_no_layer_sigma() -> None:
    from bnn_core.engine.train import Progress
    from ui.training import curves_from_progress

    plain = [Progress(step, 100, 1.0 / step, 0.0, 1.0 / step, 0.5, 0.01 * step) for step in (10, 20)]
    bayesian = [Progress(step, 100, 1.0 / step, 2.0, 3.0, 0.5, 0.01 * step, (0.1, 0.2)) for step in (10, 20)]
    assert len(curves_from_progress(plain, 100).to_dict()["data"]) == 2
    assert len(curves_from_progress(bayesian, 100).to_dict()["data"]) == 3
