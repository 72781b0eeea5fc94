"""Figures of the network's insides: networks drawn from the prior, each layer's learned weights against the
prior, and the layers' spread while training runs.

Plain arrays in, a figure out, sized for a projector like :mod:`ui.figures.base`. Histograms are binned here, so a
layer of a million weights sends a few dozen bars, not a million numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from bnn_core.posterior.probing import FeatureGrid
from bnn_core.posterior.weights import LOW_SNR, LayerWeights

from .base import class_colors, layout_spec, unvalidated_figure
from .maps import grid_heatmap

BINS = 40
MU_COLOR = "#0072B2"
SIGMA_COLOR = "#009E73"
SNR_COLOR = "#CC79A7"
PRIOR_COLOR = "#D55E00"  # every mark of the prior, on every chart
PRIOR_FILL = "rgba(213, 94, 0, 0.14)"
CURVE_COLOR = "rgba(0, 114, 178, 0.55)"
POINT_COLOR = "#111111"


def prior_map_figure(
    grid: FeatureGrid,
    predicted: np.ndarray,
    title: str,
    axis_titles: tuple[str, str],
    class_names: Sequence[str],
    points: tuple[np.ndarray, np.ndarray, np.ndarray],
    height: int = 330,
) -> go.Figure:
    """The classes (R, R) one prior network predicts over the grid, with the training points on top.

    No legend: four of these stand side by side and must keep the same plot size; the page draws the classes
    once above them (:func:`ui.figures.base.legend_html`).
    """
    figure = grid_heatmap(grid.xs, grid.ys, predicted, "class", title, axis_titles, class_names, points, height)
    figure.layout.showlegend = False
    figure.layout.margin = {"l": 64, "r": 10, "t": 48, "b": 56}
    return figure


def prior_curves_figure(
    grid: np.ndarray, curves: np.ndarray, points: tuple[np.ndarray, np.ndarray], axis_titles: tuple[str, str]
) -> go.Figure:
    """The functions (S, G) of S prior networks along ``grid`` (G,), and the training rows ``points`` (x, y)."""
    traces: list[dict] = [
        {
            "type": "scatter",
            "x": grid,
            "y": curve,
            "mode": "lines",
            "line": {"color": CURVE_COLOR, "width": 2},
            "name": f"{len(curves)} networks drawn from the prior",
            "legendgroup": "prior",
            "showlegend": k == 0,
            "hovertemplate": f"prior draw #{k}<br>x %{{x:.3g}}<br>f %{{y:.3g}}<extra></extra>",
        }
        for k, curve in enumerate(curves)
    ]
    traces.append(
        {
            "type": "scatter",
            "x": points[0],
            "y": points[1],
            "mode": "markers",
            "name": "training rows",
            "marker": {"color": POINT_COLOR, "size": 10},
            "hovertemplate": "x %{x:.3g}<br>y %{y:.3g}<extra></extra>",
        }
    )
    layout = layout_spec("Functions drawn from the prior, before any training", 460)
    layout["xaxis"] = {"title": {"text": axis_titles[0]}, "range": [float(grid[0]), float(grid[-1])]}
    layout["yaxis"] = {"title": {"text": axis_titles[1]}}
    layout["margin"] = {"l": 80, "r": 20, "t": 60, "b": 20}
    return unvalidated_figure(traces, layout)


def _span(values: np.ndarray, *marks: float) -> tuple[float, float]:
    """Limits covering ``values`` and the ``marks``, 4% wider each side (a fixed width if they all coincide)."""
    low = min(float(np.min(values)), *marks)
    high = max(float(np.max(values)), *marks)
    pad = 0.04 * (high - low) or 1e-3 * (abs(high) or 1.0)
    return low - pad, high + pad


def _bars(values: np.ndarray, limits: tuple[float, float], name: str, color: str, what: str) -> dict:
    """A histogram of ``values`` (n,) in BINS bins across ``limits``, as one bar trace."""
    counts, edges = np.histogram(values, bins=BINS, range=limits)
    return {
        "type": "bar",
        "x": (edges[:-1] + edges[1:]) / 2,
        "y": counts,
        "width": np.diff(edges),
        "name": name,
        "marker": {"color": color, "line": {"width": 0}},
        "customdata": np.column_stack([edges[:-1], edges[1:]]),
        "hovertemplate": f"{what} %{{customdata[0]:.3g}} to %{{customdata[1]:.3g}}: %{{y}} parameters<extra></extra>",
    }


def _vertical(x: float, top: float, name: str) -> dict:
    """A dashed vertical line at ``x`` from 0 to ``top``, with a legend entry."""
    return {
        "type": "scatter",
        "x": [x, x],
        "y": [0, top],
        "mode": "lines",
        "name": name,
        "line": {"color": PRIOR_COLOR, "width": 3, "dash": "dash"},
        "hoverinfo": "skip",
    }


def _short(layer: LayerWeights) -> str:
    """ "layer 1" of "layer 1 (4 → 100)": three histograms stand side by side under the layer's full name."""
    return layer.name.split(" (")[0]


def _histogram_layout(title: str, x_title: str, limits: tuple[float, float], top: float) -> dict:
    layout = layout_spec(title, None)
    layout["xaxis"] = {"title": {"text": x_title}, "range": list(limits), "zeroline": False}
    layout["yaxis"] = {"title": {"text": "parameters"}, "range": [0, top]}
    layout["bargap"] = 0
    layout["margin"] = {"l": 72, "r": 16, "t": 56, "b": 20}
    return layout


def _top(bars: dict) -> float:
    """The y-axis top: room above the tallest bar."""
    return 1.08 * max(float(np.max(bars["y"])), 1.0)


def mu_histogram(layer: LayerWeights, prior_mu: float, prior_sigma: float) -> go.Figure:
    """The layer's posterior means μ (n,), with the prior mean μ₀ marked and the band μ₀ ± σ₀ shaded.

    The axis covers the means; a band wider than that fills the plot, which is what it means: the prior allows
    far more than the data kept.
    """
    limits = _span(layer.mu, prior_mu)
    bars = _bars(layer.mu, limits, "posterior means μ", MU_COLOR, "μ from")
    top = _top(bars)
    low, high = prior_mu - prior_sigma, prior_mu + prior_sigma
    band = {
        "type": "scatter",
        "x": [low, high, high, low, low],
        "y": [0, 0, top, top, 0],
        "mode": "lines",
        "fill": "toself",
        "fillcolor": PRIOR_FILL,
        "line": {"width": 0},
        "name": f"prior μ₀ ± σ₀ (±{prior_sigma:g})",
        "hoverinfo": "skip",
    }
    traces = [band, bars, _vertical(prior_mu, top, f"prior mean μ₀ = {prior_mu:g}")]
    return unvalidated_figure(traces, _histogram_layout(f"{_short(layer)}: means μ", "posterior mean μ", limits, top))


def sigma_histogram(layer: LayerWeights, prior_sigma: float) -> go.Figure:
    """The layer's posterior spreads σ (n,) from 0, with the prior's σ₀ marked: bars left of it are weights the
    data narrowed."""
    limits = (0.0, _span(layer.sigma, prior_sigma)[1])
    bars = _bars(layer.sigma, limits, "posterior spreads σ", SIGMA_COLOR, "σ from")
    top = _top(bars)
    traces = [bars, _vertical(prior_sigma, top, f"prior σ₀ = {prior_sigma:g}")]
    return unvalidated_figure(traces, _histogram_layout(f"{_short(layer)}: spreads σ", "posterior σ", limits, top))


def snr_histogram(layer: LayerWeights) -> go.Figure:
    """log₁₀ of the layer's signal-to-noise ratios |μ|/σ (n,), with |μ|/σ = 1 marked: left of it the posterior
    cannot tell a weight from zero."""
    # A mean of exactly zero would be log 0: such a weight is drawn at the left end.
    ratios = np.log10(np.maximum(layer.snr, 1e-6))
    limits = _span(ratios, np.log10(LOW_SNR))
    bars = _bars(ratios, limits, "log₁₀ |μ|/σ", SNR_COLOR, "log₁₀ |μ|/σ from")
    top = _top(bars)
    traces = [bars, _vertical(float(np.log10(LOW_SNR)), top, "|μ| = σ")]
    layout = _histogram_layout(f"{_short(layer)}: signal to noise", "log₁₀ |μ|/σ", limits, top)
    return unvalidated_figure(traces, layout)


def kl_bars(layers: Sequence[LayerWeights], height: int | None = 360) -> go.Figure:
    """Each layer's KL to the prior, in nats, labelled with it (the hover adds its KL per parameter)."""
    names = [layer.name for layer in layers]
    kls = np.array([layer.kl for layer in layers])
    per = kls / np.array([layer.n for layer in layers])
    trace = {
        "type": "bar",
        "x": names,
        "y": kls,
        "marker": {"color": class_colors(len(layers))},
        "text": [f"{kl:,.0f}" for kl in kls],
        "textposition": "outside",
        "textfont": {"size": 15},
        "constraintext": "none",  # plotly shrank the labels to the bars' width, unreadably small
        "cliponaxis": False,
        "customdata": per,
        "hovertemplate": "%{x}<br>KL %{y:,.1f} nats<br>%{customdata:.3f} nats a parameter<extra></extra>",
        "showlegend": False,
    }
    layout = layout_spec("KL to the prior", height)
    layout["xaxis"] = {"type": "category"}
    layout["yaxis"] = {"title": {"text": "KL, nats"}, "range": [0, 1.3 * max(float(kls.max()), 1e-9)]}
    return unvalidated_figure([trace], layout)


def layer_sigma_figure(steps: np.ndarray, sigma: np.ndarray, epochs: int, height: int = 230) -> go.Figure:
    """Each layer's mean posterior σ against the step while training runs. Shape: steps (T,), sigma (T, L)."""
    colors = class_colors(sigma.shape[1])
    traces = [
        {
            "type": "scatter",
            "x": steps,
            "y": sigma[:, layer],
            "mode": "lines",
            "name": f"layer {layer + 1}",
            "line": {"color": colors[layer], "width": 3},
            "hovertemplate": f"step %{{x}}<br>layer {layer + 1}: mean σ %{{y:.4f}}<extra></extra>",
        }
        for layer in range(sigma.shape[1])
    ]
    layout = layout_spec("Mean posterior σ of each layer (it starts at the prior's σ₀)", height)
    layout["title"]["font"] = {"size": 17}
    layout["xaxis"] = {"range": [0, epochs], "title": {"text": "step"}}
    layout["yaxis"] = {"title": {"text": "mean σ"}}
    layout["legend"] = {**layout["legend"], "orientation": "v", "yref": "paper", "y": 1.0, "yanchor": "top",
                        "x": 1.02, "xanchor": "left"}  # fmt: skip
    layout["margin"] = {"l": 72, "r": 10, "t": 44, "b": 10}
    return unvalidated_figure(traces, layout)
