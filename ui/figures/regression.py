"""Plotly figures of a 1-D regression: the data, the posterior mean and its bands; one or many sample functions.

Plain arrays in, a figure out, sized for a projector like :mod:`ui.figures.base`. The bands are ±2 std: the
epistemic band (what more data would shrink) inside the total band (epistemic and noise together).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from bnn_core.posterior.regression import Bands

from .base import TEST_SYMBOL, TRAIN_SYMBOL, layout_spec, unvalidated_figure

MEAN_COLOR = "#0072B2"
EPISTEMIC_FILL = "rgba(230, 159, 0, 0.45)"  # Okabe–Ito orange
TOTAL_FILL = "rgba(86, 180, 233, 0.28)"  # Okabe–Ito sky blue
SAMPLE_COLOR = "#D55E00"
SPAGHETTI_COLOR = "rgba(213, 94, 0, 0.30)"
POINT_COLOR = "#111111"
BAND_WIDTH = 2.0  # the bands are mean ± 2 std: about 95% of a normal
# Plotly reports clicks on data points only, so an invisible grid of points covers the plot: a click anywhere lands
# on one of them. 60 × 40 puts a grid point within about 1.5% of the axes of any click.
CLICK_GRID = (60, 40)
CLICK_NAME = "click to add a point"


@dataclass(frozen=True, eq=False)
class Observations:
    """The rows drawn as points. Shape: every array (M,); ``hover`` M strings; ``rows`` their row numbers in the
    dataset (all rows, or a fixed subset of a large one)."""

    x: np.ndarray
    y: np.ndarray
    is_test: np.ndarray
    hover: list[str]
    rows: np.ndarray


def _points(points: Observations) -> list[dict]:
    """Training rows as dots, held-out rows as open diamonds, each with its hover and its row number (customdata)."""
    traces = []
    for name, rows, symbol in (
        ("train rows", ~points.is_test, TRAIN_SYMBOL),
        ("test rows", points.is_test, f"{TEST_SYMBOL}-open"),
    ):
        if rows.any():
            traces.append(
                {
                    "type": "scatter",
                    "x": points.x[rows],
                    "y": points.y[rows],
                    "mode": "markers",
                    "name": name,
                    "marker": {"color": POINT_COLOR, "size": 10, "symbol": symbol, "line": {"width": 2}},
                    "text": [text for text, keep in zip(points.hover, rows, strict=True) if keep],
                    "customdata": points.rows[rows],
                    "hovertemplate": "%{text}<extra></extra>",
                }
            )
    return traces


def _band(grid: np.ndarray, centre: np.ndarray, half: np.ndarray, name: str, fill: str) -> list[dict]:
    """A filled band centre ± half (G,) as two traces: its lower edge, then its upper edge filled down to it.

    Neither edge takes hover or clicks (the mean line's hover gives both widths): an edge running through a data
    point would otherwise catch the click meant to remove that point.
    """
    edge = {"type": "scatter", "x": grid, "mode": "lines", "line": {"width": 0}, "legendgroup": name,
            "hoverinfo": "skip"}  # fmt: skip
    return [
        {**edge, "y": centre - half, "showlegend": False},
        {**edge, "y": centre + half, "fill": "tonexty", "fillcolor": fill, "name": name},
    ]


def _layout(title: str, axis_titles: tuple[str, str], y_range: tuple[float, float]) -> dict:
    """The layout of both charts. The legend stands right of the plot, not under it: legends of different
    lengths under two plots side by side would make them different heights, and their y-axes are compared."""
    layout = layout_spec(title, None)
    layout["legend"] = {**layout["legend"], "orientation": "v", "yref": "paper", "y": 1.0, "yanchor": "top",
                        "x": 1.02, "xanchor": "left"}  # fmt: skip
    layout["xaxis"] = {"title": {"text": axis_titles[0]}, "zeroline": False}
    layout["yaxis"] = {"title": {"text": axis_titles[1]}, "zeroline": False, "range": list(y_range)}
    layout["margin"] = {"l": 72, "r": 10, "t": 60, "b": 60}
    layout["hovermode"] = "closest"
    return layout


def click_grid(x_range: tuple[float, float], y_range: tuple[float, float]) -> dict:
    """The invisible points that catch a click anywhere on the plot (see :data:`CLICK_GRID`)."""
    across, up = CLICK_GRID
    xs, ys = np.meshgrid(np.linspace(*x_range, across), np.linspace(*y_range, up))
    return {
        "type": "scatter",
        "x": xs.ravel(),
        "y": ys.ravel(),
        "mode": "markers",
        "name": CLICK_NAME,
        "marker": {"size": 14, "opacity": 0.0},
        "showlegend": False,
        "hoverinfo": "none",  # no label, but clicks still register ("skip" would drop them)
    }


def value_range(bands: Bands, points: Observations) -> tuple[float, float]:
    """A y-range holding the data and the total band, with a margin; the same for both charts side by side."""
    low = min(float(np.min(bands.mean - BAND_WIDTH * bands.total)), float(np.min(points.y)))
    high = max(float(np.max(bands.mean + BAND_WIDTH * bands.total)), float(np.max(points.y)))
    margin = 0.05 * (high - low or 1.0)
    return low - margin, high + margin


def band_figure(
    grid: np.ndarray,
    bands: Bands,
    points: Observations,
    samples: int,
    axis_titles: tuple[str, str],
    y_range: tuple[float, float],
    clickable: bool = False,
) -> go.Figure:
    """The data, the posterior mean of ``samples`` draws, and its epistemic and total ±2 std bands along
    ``grid`` (G,); ``clickable`` adds the invisible grid that lets a click add a point anywhere."""
    traces = [
        *([click_grid((float(grid[0]), float(grid[-1])), y_range)] if clickable else []),
        *_band(grid, bands.mean, BAND_WIDTH * bands.total, "total ±2σ", TOTAL_FILL),
        *_band(grid, bands.mean, BAND_WIDTH * bands.epistemic, "epistemic ±2σ", EPISTEMIC_FILL),
        {
            "type": "scatter",
            "x": grid,
            "y": bands.mean,
            "mode": "lines",
            "name": f"mean of {samples}",
            "line": {"color": MEAN_COLOR, "width": 4},
            "customdata": np.column_stack([BAND_WIDTH * bands.epistemic, BAND_WIDTH * bands.total]),
            "hovertemplate": "x %{x:.3g}<br>mean %{y:.3g}<br>epistemic (the networks disagree) ±%{customdata[0]:.3g}"
            "<br>total (with the noise) ±%{customdata[1]:.3g}<extra></extra>",
        },
        *_points(points),
    ]
    layout = _layout("Data, mean and uncertainty", axis_titles, y_range)
    layout["xaxis"]["range"] = [float(grid[0]), float(grid[-1])]
    layout["clickmode"] = "event+select"
    return unvalidated_figure(traces, layout)


def sample_figure(
    grid: np.ndarray,
    curves: np.ndarray,
    first: int,
    points: Observations,
    axis_titles: tuple[str, str],
    y_range: tuple[float, float],
) -> go.Figure:
    """The function of posterior sample #first along ``grid`` (G,); with several curves (S, G), draws
    #first … #first + S − 1 thin, behind #first."""
    traces = []
    if len(curves) > 1:
        for i, curve in enumerate(curves[1:], start=first + 1):
            traces.append(
                {
                    "type": "scatter",
                    "x": grid,
                    "y": curve,
                    "mode": "lines",
                    "line": {"color": SPAGHETTI_COLOR, "width": 1.5},
                    "name": f"{len(curves) - 1} more samples",
                    "legendgroup": "spaghetti",
                    "showlegend": i == first + 1,
                    "hovertemplate": f"sample #{i}<br>x %{{x:.3g}}<br>f %{{y:.3g}}<extra></extra>",
                }
            )
    traces.append(
        {
            "type": "scatter",
            "x": grid,
            "y": curves[0],
            "mode": "lines",
            "name": f"sample #{first}",
            "line": {"color": SAMPLE_COLOR, "width": 4},
            "hovertemplate": f"sample #{first}<br>x %{{x:.3g}}<br>f %{{y:.3g}}<extra></extra>",
        }
    )
    traces += _points(points)
    return unvalidated_figure(traces, _layout(f"Posterior sample #{first}", axis_titles, y_range))


def target_scatter(x: np.ndarray, y: np.ndarray, x_title: str, y_title: str) -> go.Figure:
    """A regression set's target (N,) against one feature (N,), before any model."""
    trace = {
        "type": "scatter",
        "x": x,
        "y": y,
        "mode": "markers",
        "marker": {"color": POINT_COLOR, "size": 9},
        "hovertemplate": f"{x_title} %{{x:.3g}}<br>{y_title} %{{y:.3g}}<extra></extra>",
    }
    layout = layout_spec(f"{y_title} against {x_title}", 360)
    layout["xaxis"] = {"title": {"text": x_title}}
    layout["yaxis"] = {"title": {"text": y_title}}
    return unvalidated_figure([trace], layout)


def coverage_figure(levels: np.ndarray, observed: np.ndarray, rows: int, height: int | None = 440) -> go.Figure:
    """Observed coverage (L,) of the central predictive intervals against their nominal levels (L,); on the dashed
    diagonal the intervals hold exactly as many held-out targets as they claim."""
    traces = [
        {
            "type": "scatter",
            "x": [0, 1],
            "y": [0, 1],
            "mode": "lines",
            "name": "calibrated",
            "line": {"color": "#777777", "dash": "dash", "width": 2},
            "hoverinfo": "skip",
        },
        {
            "type": "scatter",
            "x": levels,
            "y": observed,
            "mode": "lines+markers",
            "name": f"BNN, {rows} held-out rows",
            "line": {"color": MEAN_COLOR, "width": 4},
            "marker": {"size": 9},
            "hovertemplate": "nominal %{x:.0%}<br>observed %{y:.0%}<extra></extra>",
        },
    ]
    layout = layout_spec("Interval coverage", height)
    layout["xaxis"] = {
        "title": {"text": "nominal coverage of the central interval"},
        "range": [0, 1],
        "tickformat": ".0%",
    }
    layout["yaxis"] = {"title": {"text": "share of targets inside"}, "range": [0, 1.02], "tickformat": ".0%"}
    return unvalidated_figure(traces, layout)
