"""Figures for the uncertainty map and the probe: heatmaps over two features, and one point's sample spread."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.colors as pc
import plotly.graph_objects as go

from .base import BASE_MARKER, class_colors, layout_spec, legend_entry, unvalidated_figure


def _scale(colors: Sequence[str]) -> list[list[object]]:
    return [[i / (len(colors) - 1), color] for i, color in enumerate(colors)]


# Explicit scales: the figures skip plotly's Python validation, which is what resolves names like "Magma_r".
# Darker always means more of what the map shows: more confident, or more uncertain.
CONFIDENCE_SCALE = _scale(pc.sequential.Blues)
UNCERTAINTY_SCALE = _scale(pc.sequential.Magma[::-1])


def _class_scale(colors: Sequence[str]) -> list[list[object]]:
    """A stepped colour scale: value c in [c − ½, c + ½] gets class c's colour."""
    n = len(colors)
    scale: list[list[object]] = []
    for c, color in enumerate(colors):
        scale += [[c / n, color], [(c + 1) / n, color]]
    return scale


def grid_heatmap(
    xs: np.ndarray,
    ys: np.ndarray,
    values: np.ndarray,
    kind: str,
    title: str,
    axis_titles: tuple[str, str],
    class_names: Sequence[str],
    points: tuple[np.ndarray, np.ndarray, np.ndarray],
    height: int | None = 520,
) -> go.Figure:
    """A heatmap of ``values`` (R, R) over (xs, ys) with the training points on top.

    Args:
        kind: "class" (values are class indices), "confidence" (1/C … 1) or "nats" (0 … ln C).
        points: raw x (M,), y (M,) and class index (M,) of the training rows to overlay.
        height: px, or None for the page to size it.
    """
    n_classes = len(class_names)
    colors = class_colors(n_classes)
    heat: dict = {"type": "heatmap", "x": xs, "y": ys, "z": values}
    if kind == "class":
        names = np.asarray(class_names, dtype=object)[values.astype(int)]
        heat |= {
            "colorscale": _class_scale(colors),
            "zmin": -0.5,
            "zmax": n_classes - 0.5,
            "showscale": False,
            "opacity": 0.45,
            "customdata": names,
            "hovertemplate": f"{axis_titles[0]} %{{x:.2f}}<br>{axis_titles[1]} %{{y:.2f}}<br>"
            "predicted %{customdata}<extra></extra>",
        }
    else:
        confidence = kind == "confidence"
        heat |= {
            "colorscale": CONFIDENCE_SCALE if confidence else UNCERTAINTY_SCALE,
            "zmin": 1 / n_classes if confidence else 0.0,
            "zmax": 1.0 if confidence else float(np.log(n_classes)),
            "colorbar": {"title": {"text": "p(top class)" if confidence else "nats", "side": "right"}, "len": 0.8},
            "hovertemplate": f"{axis_titles[0]} %{{x:.2f}}<br>{axis_titles[1]} %{{y:.2f}}<br>"
            + ("confidence %{z:.1%}" if confidence else "%{z:.3f} nats")
            + "<extra></extra>",
        }
    x, y, labels = points
    overlay = {
        "type": "scatter",
        "x": x,
        "y": y,
        "mode": "markers",
        "showlegend": False,
        "marker": {
            "color": np.asarray(colors, dtype=object)[labels].tolist(),
            "size": 9,
            "line": {"width": 1.2, "color": "white"},
        },
        "hoverinfo": "skip",
    }
    legend = [legend_entry(name, "circle", color) for name, color in zip(class_names, colors, strict=True)]
    layout = layout_spec(title, height)
    # automargin: the margins grow to hold the axis titles, which narrow maps otherwise cut off
    layout["xaxis"] = {"title": {"text": axis_titles[0]}, "range": [float(xs[0]), float(xs[-1])], "automargin": True}
    layout["yaxis"] = {"title": {"text": axis_titles[1]}, "range": [float(ys[0]), float(ys[-1])], "automargin": True}
    return unvalidated_figure([heat, overlay, *legend], layout)


def probe_spread(
    sample_probs: np.ndarray,
    mean_probs: np.ndarray,
    other_probs: np.ndarray,
    class_names: Sequence[str],
    other_name: str = "plain network (softmax)",
    height: int | None = 460,
) -> go.Figure:
    """Each class's probability in every posterior sample (dots and box), the BNN mean, and another method's
    prediction (the plain network's softmax, or another method's mean).

    Shape: ``sample_probs`` (S, C); ``mean_probs``, ``other_probs`` (C,).
    """
    colors = class_colors(len(class_names))
    names = list(class_names)
    traces: list[dict] = [
        {
            "type": "box",
            "y": sample_probs[:, c],
            "name": name,
            "boxpoints": "all",
            "jitter": 0.6,
            "pointpos": 0,
            "marker": {"color": colors[c], "size": 7, "opacity": 0.6},
            "line": {"color": colors[c]},
            "fillcolor": "rgba(0,0,0,0)",
            "showlegend": False,
            "hovertemplate": f"{name}: %{{y:.3f}} in this sample<extra></extra>",
        }
        for c, name in enumerate(names)
    ]
    traces.append(
        {
            "type": "scatter",
            "x": names,
            "y": mean_probs,
            "mode": "markers",
            "name": "BNN: mean of the samples",
            "marker": {"symbol": "line-ew", "size": 44, "line": {"width": 4, "color": "#111"}},
            "hovertemplate": "BNN mean %{y:.3f}<extra></extra>",
        }
    )
    traces.append(
        {
            "type": "scatter",
            "x": names,
            "y": other_probs,
            "mode": "markers",
            "name": other_name,
            "marker": {"symbol": "diamond", "size": BASE_MARKER + 8, "color": "#d62728", "line": {"width": 2}},
            "hovertemplate": f"{other_name} %{{y:.3f}}<extra></extra>",
        }
    )
    layout = layout_spec(f"Every posterior sample, and the {other_name.split(' (')[0]}", height)
    layout["yaxis"] = {"title": {"text": "probability"}, "range": [-0.03, 1.03], "tickformat": ".0%"}
    layout["xaxis"] = {"type": "category"}
    return unvalidated_figure(traces, layout)
