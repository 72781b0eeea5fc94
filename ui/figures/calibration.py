"""Figures for the calibration and data pages: reliability diagrams, confidence histograms, class balance."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from bnn_core import ReliabilityBins

from .base import class_colors, layout_spec, legend_entry, unvalidated_figure

MODEL_COLORS = {  # Okabe–Ito colours, told apart with any colour vision; the plain network keeps its red
    "BNN": "#0072B2",
    "plain network": "#d62728",
    "MC dropout": "#E69F00",
    "deep ensemble": "#009E73",
    "HMC reference": "#CC79A7",
}


def reliability_diagram(bins: ReliabilityBins, model: str, height: int | None = 440) -> go.Figure:
    """Accuracy per confidence bin (bars, with counts) against the diagonal of perfect calibration."""
    edges = bins.edges.numpy()
    centres = (edges[:-1] + edges[1:]) / 2
    filled = bins.counts.numpy() > 0
    accuracy = np.nan_to_num(bins.accuracy.numpy())
    counts = [str(n) for n in bins.counts.numpy()[filled]]
    traces = [
        {
            "type": "bar",
            "x": centres[filled],
            "y": accuracy[filled],
            "width": (edges[1] - edges[0]) * 0.92,
            "name": "accuracy",
            "marker": {"color": MODEL_COLORS[model]},
            "customdata": counts,
            "hovertemplate": "confidence %{x:.2f}<br>accuracy %{y:.1%}<br>%{customdata} rows<extra></extra>",
        },
        {
            "type": "scatter",
            "x": centres[filled],
            "y": bins.confidence.numpy()[filled],
            "mode": "markers",
            "name": "mean confidence",
            "marker": {"symbol": "diamond", "size": 11, "color": "#111"},
            "hovertemplate": "mean confidence %{y:.1%}<extra></extra>",
        },
        {
            "type": "scatter",
            "x": [0, 1],
            "y": [0, 1],
            "mode": "lines",
            "name": "perfect calibration",
            "line": {"dash": "dash", "color": "#888", "width": 2},
            "hoverinfo": "skip",
        },
    ]
    layout = layout_spec(f"{model}: reliability (ECE {bins.ece:.3f})", height)
    layout["xaxis"] = {"title": {"text": "confidence (top-class probability)"}, "range": [0, 1.0]}
    layout["yaxis"] = {"title": {"text": "accuracy"}, "range": [0, 1.06], "tickvals": [0, 0.5, 1], "tickformat": ".0%"}
    layout["margin"] = {**layout["margin"], "t": 84, "b": 90}
    # The row counts in a line of their own above the plot: on a bar's top they ran into the diamonds.
    layout["annotations"] = [
        {"x": x, "y": 1.0, "xref": "x", "yref": "paper", "yanchor": "bottom", "text": n, "showarrow": False,
         "font": {"size": 14}}
        for x, n in zip(centres[filled], counts, strict=True)
    ]  # fmt: skip
    return unvalidated_figure(traces, layout)


def confidence_histogram(confidences: dict[str, np.ndarray], n_bins: int = 15, height: int = 380) -> go.Figure:
    """How sure each model is: points per confidence bin, side by side.

    Counted with the reliability diagram's bins, (lo, hi]: a confidence of exactly 1.0 falls in the
    top bin (plotly's own histogram would drop it, and a sure plain network has many of those).
    """
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    traces = []
    for model, values in confidences.items():
        bins = np.clip(np.searchsorted(edges[1:], values, side="left"), 0, n_bins - 1)
        counts = np.bincount(bins, minlength=n_bins)
        traces.append(
            {
                "type": "bar",
                "x": centres,
                "y": counts,
                "name": model,
                "marker": {"color": MODEL_COLORS[model]},
                "hovertemplate": f"{model}<br>confidence %{{x:.2f}}<br>%{{y}} points<extra></extra>",
            }
        )
    layout = layout_spec("How sure each model is", height)
    layout["barmode"] = "group"
    layout["xaxis"] = {"title": {"text": "confidence (top-class probability)"}, "range": [0, 1.0]}
    layout["yaxis"] = {"title": {"text": "points"}}
    layout["margin"] = {**layout["margin"], "b": 90}
    return unvalidated_figure(traces, layout)


def class_balance(counts: np.ndarray, class_names: Sequence[str], height: int = 360) -> go.Figure:
    """Rows per class."""
    trace = {
        "type": "bar",
        "x": list(class_names),
        "y": counts,
        "marker": {"color": class_colors(len(class_names))},
        "text": [str(int(n)) for n in counts],
        "textposition": "outside",
        "hovertemplate": "%{x}: %{y} rows<extra></extra>",
    }
    layout = layout_spec("Rows per class", height)
    layout["yaxis"] = {"title": {"text": "rows"}, "range": [0, float(max(counts)) * 1.18]}
    layout["xaxis"] = {"type": "category"}
    return unvalidated_figure([trace], layout)


def scatter_matrix(
    x: np.ndarray, labels: np.ndarray, feature_names: Sequence[str], class_names: Sequence[str], height: int = 700
) -> go.Figure:
    """Every pair of the given features (N, F), coloured by class. With one or two features, one panel: the splom
    with its diagonal and upper half hidden would have nothing left to draw (plotly draws it blank)."""
    colors = np.asarray(class_colors(len(class_names)), dtype=object)
    legend = [legend_entry(name, "circle", color) for name, color in zip(class_names, colors, strict=True)]
    if len(feature_names) <= 2:
        return _one_panel(x, labels, feature_names, class_names, colors, legend, height)
    splom = {
        "type": "splom",
        "dimensions": [{"label": name, "values": x[:, j]} for j, name in enumerate(feature_names)],
        "marker": {"color": colors[labels].tolist(), "size": 6, "line": {"width": 0.5, "color": "white"}},
        "showupperhalf": False,
        "diagonal": {"visible": False},
        "showlegend": False,
        "text": np.asarray(class_names, dtype=object)[labels].tolist(),
        "hovertemplate": "%{text}<extra></extra>",
    }
    layout = layout_spec("Every pair of features", height)
    layout["font"] = {**layout["font"], "size": 13}
    for i in range(1, len(feature_names) + 1):  # no tick labels: neighbouring panels' labels collide
        layout[f"xaxis{i}"] = {"showticklabels": False, "title": {"font": {"size": 13}}}
        layout[f"yaxis{i}"] = {"showticklabels": False, "title": {"font": {"size": 13}}}
    return unvalidated_figure([splom, *legend], layout)


def _one_panel(
    x: np.ndarray,
    labels: np.ndarray,
    feature_names: Sequence[str],
    class_names: Sequence[str],
    colors: np.ndarray,
    legend: list[dict],
    height: int,
) -> go.Figure:
    """The two features (N, 2) against each other, or the one feature (N, 1) against the class."""
    names = np.asarray(class_names, dtype=object)[labels]
    two = len(feature_names) == 2
    points = {
        "type": "scattergl",
        "mode": "markers",
        "x": x[:, 0].tolist(),
        "y": x[:, 1].tolist() if two else names.tolist(),
        "marker": {"color": colors[labels].tolist(), "size": 6, "line": {"width": 0.5, "color": "white"}},
        "showlegend": False,
        "text": names.tolist(),
        "hovertemplate": "%{text}<extra></extra>",
    }
    layout = layout_spec("The features" if two else "The feature, by class", height)
    layout["xaxis"] = {"title": {"text": feature_names[0]}}
    layout["yaxis"] = {"title": {"text": feature_names[1] if two else "class"}}
    return unvalidated_figure([points, *legend], layout)
