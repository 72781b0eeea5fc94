"""Every classification method's map of one measure in one figure: a panel per method, in a grid, on shared axes and
one colour scale, with the training points on each; the classes and the scale are named once, above the panels.

Plain arrays in, a figure out. Every panel of a measure has the same range (0 … ln C nats, or 1/C … 1), so one
colour bar serves them all: a colour bar per map took a fifth of a narrow map's width, or its own row under it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from .base import class_colors, layout_spec, unvalidated_figure
from .maps import CONFIDENCE_SCALE, UNCERTAINTY_SCALE
from .method_bands import domains

# kind: (the colour bar's title, the hover's value)
MEASURES = {"nats": ("nats", "%{z:.3f} nats"), "confidence": ("p(top class)", "confidence %{z:.1%}")}
_SPACE = 0.05  # the share of the width between columns
_TITLE_PX = 30  # px above each row for its panels' titles
_MARGIN = {"l": 60, "r": 12, "t": 78, "b": 52}  # px: the top holds the legend, the colour bar and the first titles
POINT_SIZE = 7


def columns_for(count: int, presenting: bool) -> int:
    """Panels to a row: on a slide up to four in one row, else three (two of two or four)."""
    if presenting and count <= 4:
        return count
    return 2 if count in (2, 4) else 3


def figure_height(count: int, columns: int, row_px: int) -> int:
    """The height in px of ``count`` panels ``columns`` to a row, each row ``row_px`` high with its titles."""
    return _MARGIN["t"] + _MARGIN["b"] - _TITLE_PX + math.ceil(count / columns) * row_px


def _scale(kind: str, n_classes: int) -> dict:
    """The colour axis every panel shares, its bar across the top right."""
    confidence = kind == "confidence"
    title = {"text": MEASURES[kind][0], "side": "right"}
    bar = {"orientation": "h", "x": 1.0, "xanchor": "right", "y": 1.0, "yref": "container", "yanchor": "top",
           "len": 0.34, "thickness": 12, "nticks": 5, "title": title}  # fmt: skip
    return {
        "colorscale": CONFIDENCE_SCALE if confidence else UNCERTAINTY_SCALE,
        "cmin": 1 / n_classes if confidence else 0.0,
        "cmax": 1.0 if confidence else float(np.log(n_classes)),
        "colorbar": bar,
    }


def _panel(
    index: int,
    title: str,
    xs: np.ndarray,
    ys: np.ndarray,
    values: np.ndarray,
    kind: str,
    axis_titles: tuple[str, str],
    points: tuple[np.ndarray, np.ndarray, np.ndarray],
    class_names: Sequence[str],
) -> list[dict]:
    """One method's heatmap (R, R) over (xs, ys) and the training points, class by class, on axes ``index + 1``."""
    axes = {"xaxis": f"x{index + 1}", "yaxis": f"y{index + 1}"}
    where = f"{axis_titles[0]} %{{x:.2f}}<br>{axis_titles[1]} %{{y:.2f}}<br>"
    # float32 halves what the browser is sent; the hover shows three digits
    z = values.astype(np.float32)
    traces = [{"type": "heatmap", "x": xs, "y": ys, "z": z, "coloraxis": "coloraxis", **axes,
               "hovertemplate": f"{where}{MEASURES[kind][1]}<extra>{title}</extra>"}]  # fmt: skip
    x, y, labels = points
    for c, (name, color) in enumerate(zip(class_names, class_colors(len(class_names)), strict=True)):
        mine = labels == c
        traces.append(
            {"type": "scatter", "x": x[mine], "y": y[mine], "mode": "markers", "name": name, "legendgroup": name,
             "showlegend": index == 0, "hoverinfo": "skip", **axes,
             "marker": {"color": color, "size": POINT_SIZE, "line": {"width": 1, "color": "white"}}}
        )  # fmt: skip
    return traces


def method_maps_figure(
    xs: np.ndarray,
    ys: np.ndarray,
    panels: list[tuple[str, np.ndarray]],
    kind: str,
    axis_titles: tuple[str, str],
    class_names: Sequence[str],
    points: tuple[np.ndarray, np.ndarray, np.ndarray],
    columns: int,
    height: int | None = None,
) -> go.Figure:
    """A panel per (title, values (R, R) over (xs (R,), ys (R,))), ``columns`` to a row, sharing both axes and the
    colour scale of ``kind`` ("nats" or "confidence").

    Args:
        points: raw x (M,), y (M,) and class index (M,) of the training rows, drawn on every panel.
        height: px, or None for the page to size it.
    """
    rows = math.ceil(len(panels) / columns)
    across = domains(columns, _SPACE)
    layout = layout_spec("", height)
    # The gap between rows holds the titles: a fraction of the plot area that depends on the figure's height
    plot_px = (height or 420) - _MARGIN["t"] - _MARGIN["b"]
    down = domains(rows, min(0.3, _TITLE_PX / plot_px) if rows > 1 else 0.0)[::-1]  # the first row on top
    layout.update(margin=_MARGIN, hovermode="closest", annotations=[], coloraxis=_scale(kind, len(class_names)))
    layout["legend"] = {**layout["legend"], "y": 1.0, "yanchor": "top", "x": 0.0}  # top left, across the top
    traces = []
    for index, (title, values) in enumerate(panels):
        row, column = divmod(index, columns)
        suffix = "" if index == 0 else str(index + 1)
        bottom, left = row == rows - 1 or index + columns >= len(panels), column == 0
        layout[f"xaxis{suffix}"] = {
            "domain": across[column], "anchor": f"y{suffix}", "range": [float(xs[0]), float(xs[-1])],
            "showticklabels": bottom, "title": {"text": axis_titles[0] if bottom else ""}, "automargin": True,
            **({"matches": "x"} if index else {}),
        }  # fmt: skip
        layout[f"yaxis{suffix}"] = {
            "domain": down[row], "anchor": f"x{suffix}", "range": [float(ys[0]), float(ys[-1])],
            "showticklabels": left, "title": {"text": axis_titles[1] if left else ""}, "automargin": True,
            **({"matches": "y"} if index else {}),
        }  # fmt: skip
        layout["annotations"].append(
            {"text": f"<b>{title}</b>", "xref": "paper", "yref": "paper", "x": sum(across[column]) / 2,
             "y": down[row][1], "xanchor": "center", "yanchor": "bottom", "showarrow": False, "font": {"size": 16}}
        )  # fmt: skip
        traces += _panel(index, title, xs, ys, values, kind, axis_titles, points, class_names)
    return unvalidated_figure(traces, layout)
