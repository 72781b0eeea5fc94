"""Every regression method's bands on one shared axis: a small panel per method, in a grid, each with the data, the
mean, the central 90% interval (noise included) and its epistemic part; the data's gap shaded.

Plain arrays in, a figure out. The panels share both axes, so a band that is wider in one panel is wider.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from bnn_core.posterior.regression import Bands, interval_z

from .base import layout_spec, unvalidated_figure
from .regression import EPISTEMIC_FILL, MEAN_COLOR, POINT_COLOR, TOTAL_FILL

LEVEL = 0.9  # the central interval drawn, as the table's coverage column
GAP_FILL = "rgba(0, 0, 0, 0.06)"
_SPACE = (0.05, 0.16)  # the share of the width between columns, and of the height between rows (their titles)


def domains(count: int, space: float) -> list[tuple[float, float]]:
    """``count`` equal intervals of [0, 1] with ``space`` between neighbours, first to last."""
    size = (1.0 - space * (count - 1)) / count
    return [(i * (size + space), i * (size + space) + size) for i in range(count)]


def _panel(index: int, grid: np.ndarray, bands: Bands, points: tuple[np.ndarray, np.ndarray]) -> list[dict]:
    """One method's traces on axes number ``index + 1``: the total and epistemic 90% bands, the mean, the data."""
    axes = {"xaxis": f"x{index + 1}", "yaxis": f"y{index + 1}"}
    first = index == 0  # the legend names each kind of trace once
    z = interval_z(LEVEL)
    traces = []
    for name, half, fill in (
        ("90% interval", z * bands.total, TOTAL_FILL),
        ("its epistemic part", z * bands.epistemic, EPISTEMIC_FILL),
    ):
        edge = {"type": "scatter", "x": grid, "mode": "lines", "line": {"width": 0}, "hoverinfo": "skip", **axes}
        traces.append({**edge, "y": bands.mean - half, "showlegend": False, "legendgroup": name})
        fill_spec = {"fill": "tonexty", "fillcolor": fill, "name": name, "legendgroup": name, "showlegend": first}
        traces.append({**edge, "y": bands.mean + half, **fill_spec})
    hover = "x %{x:.3g}<br>mean %{y:.3g}<br>90%: ±%{customdata[1]:.3g}, epistemic ±%{customdata[0]:.3g}"
    mean = {"type": "scatter", "x": grid, "y": bands.mean, "mode": "lines", "line": {"color": MEAN_COLOR, "width": 3}}
    traces.append(
        {
            **mean,
            **axes,
            "name": "mean",
            "legendgroup": "mean",
            "showlegend": first,
            "customdata": np.column_stack([z * bands.epistemic, z * bands.total]),
            "hovertemplate": hover + "<extra></extra>",
        }
    )
    rows = {"type": "scatter", "x": points[0], "y": points[1], "mode": "markers", "hoverinfo": "skip"}
    marker = {"color": POINT_COLOR, "size": 5}
    traces.append(
        {**rows, **axes, "name": "training rows", "legendgroup": "rows", "showlegend": first, "marker": marker}
    )
    return traces


def method_bands_figure(
    grid: np.ndarray,
    panels: list[tuple[str, Bands]],
    points: tuple[np.ndarray, np.ndarray],
    axis_titles: tuple[str, str],
    gap: tuple[float, float] | None = None,
    height: int | None = None,
) -> go.Figure:
    """A panel per (title, bands along ``grid`` (G,)), up to three to a row, sharing both axes; ``points`` are the
    training rows (x (N,), y (N,)) and ``gap`` the interval shaded as the data's gap."""
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    across, down = domains(columns, _SPACE[0]), domains(rows, _SPACE[1])[::-1]  # the first row on top
    low = min(float(np.min(b.mean - interval_z(LEVEL) * b.total)) for _, b in panels)
    high = max(float(np.max(b.mean + interval_z(LEVEL) * b.total)) for _, b in panels)
    low, high = min(low, float(points[1].min())), max(high, float(points[1].max()))
    margin = 0.05 * (high - low or 1.0)
    layout = layout_spec("", height)
    layout.update(margin={"l": 60, "r": 10, "t": 64, "b": 50}, hovermode="closest", annotations=[], shapes=[])
    layout["legend"] = {**layout["legend"], "orientation": "h", "yref": "container", "y": 1.0, "yanchor": "top",
                        "x": 1.0, "xanchor": "right"}  # fmt: skip
    traces = []
    for index, (title, bands) in enumerate(panels):
        row, column = divmod(index, columns)
        suffix = "" if index == 0 else str(index + 1)
        bottom, left = row == rows - 1 or index + columns >= len(panels), column == 0
        layout[f"xaxis{suffix}"] = {
            "domain": across[column], "anchor": f"y{suffix}", "range": [float(grid[0]), float(grid[-1])],
            "showticklabels": bottom, "zeroline": False, "title": {"text": axis_titles[0] if bottom else ""},
            **({"matches": "x"} if index else {}),
        }  # fmt: skip
        layout[f"yaxis{suffix}"] = {
            "domain": down[row], "anchor": f"x{suffix}", "range": [low - margin, high + margin],
            "showticklabels": left, "zeroline": False, "title": {"text": axis_titles[1] if left else ""},
            **({"matches": "y"} if index else {}),
        }  # fmt: skip
        layout["annotations"].append(
            {"text": f"<b>{title}</b>", "xref": "paper", "yref": "paper", "x": sum(across[column]) / 2,
             "y": down[row][1], "xanchor": "center", "yanchor": "bottom", "showarrow": False, "font": {"size": 15}}
        )  # fmt: skip
        if gap is not None:
            layout["shapes"].append(
                {"type": "rect", "xref": f"x{suffix}", "yref": f"y{suffix} domain", "x0": gap[0], "x1": gap[1],
                 "y0": 0, "y1": 1, "fillcolor": GAP_FILL, "line": {"width": 0}, "layer": "below"}
            )  # fmt: skip
        traces += _panel(index, grid, bands, points)
    return unvalidated_figure(traces, layout)
