"""Plotly figure builders: plain arrays in, a figure out. No Streamlit, no model.

Sizes are chosen for a projector: 16 px text, large markers, legends below the plot.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.express as px
import plotly.graph_objects as go
import plotly.io as pio
from _plotly_utils.utils import convert_to_base64

from bnn_core import span_range

from ..text import plain

# Okabe–Ito colours first: distinguishable with colour-blindness and on a washed-out projector.
_PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#7F3C8D", "#444444"]
_FONT = {"size": 16, "family": "Arial, Helvetica, sans-serif", "color": "#111"}
TRAIN_SYMBOL, TEST_SYMBOL = "circle", "diamond"
BASE_MARKER = 12


def class_colors(n_classes: int) -> list[str]:
    """One colour per class, the same in every chart."""
    palette = _PALETTE + px.colors.qualitative.Alphabet
    return [palette[i % len(palette)] for i in range(n_classes)]


def layout_spec(title: str, height: int | None) -> dict:
    """The shared layout: big type, white background, legend under the plot; no height: the page sizes it."""
    return {
        "title": {"text": title, "font": {"size": 20}, "x": 0.01, "xanchor": "left"},
        "font": _FONT,
        **({"height": height} if height is not None else {"autosize": True}),
        "template": _white_template(),
        "margin": {"l": 72, "r": 20, "t": 60, "b": 20},
        "legend": {
            # Below the axis title at any width: measured from the figure's bottom edge, not the plot's.
            "orientation": "h",
            "yref": "container",
            "y": 0.0,
            "yanchor": "bottom",
            "x": 0,
            "font": {"size": 15},
            "itemsizing": "constant",  # legend markers keep one size even when point sizes vary
        },
        "hoverlabel": {"font": {"size": 15}, "align": "left"},
    }


@functools.cache
def _white_template() -> dict:
    return pio.templates["plotly_white"].to_plotly_json()


def _dicts_copied(value: object) -> object:
    """``value`` with every dict in it copied, down through lists; arrays, strings and numbers shared."""
    if isinstance(value, dict):
        return {key: _dicts_copied(item) for key, item in value.items()}
    if isinstance(value, list | tuple) and any(isinstance(item, dict | list | tuple) for item in value):
        return [_dicts_copied(item) for item in value]
    return value


class SentFigure(go.Figure):
    """A figure whose ``to_dict`` copies only what plotly's base64 step writes to (the dicts).

    ``st.plotly_chart`` calls ``to_dict()`` and encodes the result; plotly's own deep-copies every array, hover
    string and the template first, which took 12% of a main-page script run, holding the GIL every session needs
    (py-spy on a server). The result is the same dict (``tests/app/test_figures.py``).
    """

    def to_dict(self) -> dict:
        result = {"data": _dicts_copied(self._data), "layout": _dicts_copied(self._layout)}
        frames = [_dicts_copied(frame._props) for frame in self._frame_objs]
        if frames:
            result["frames"] = frames
        convert_to_base64(result)
        return result


def unvalidated_figure(traces: list[dict], layout: dict) -> go.Figure:
    """A figure from plain dicts, skipping plotly's property validation.

    Validation costs ~100 ms for a scatter with a dozen traces, most of a Resample
    press; these specs are built here from known-good keys and tested.
    """
    return SentFigure(data=traces, layout=layout, _validate=False)


@dataclass(frozen=True, eq=False)
class Points:
    """Points to draw in feature space. Shape: every array (N,); ``hover`` has N strings."""

    x: np.ndarray
    y: np.ndarray
    classes: np.ndarray  # class index that colours each point (true or predicted)
    is_test: np.ndarray  # bool; test points are diamonds
    hover: Sequence[str]
    sizes: np.ndarray | None = None  # marker diameters; None for the base size


@dataclass(frozen=True)
class Ring:
    """A ring drawn around the points where ``mask`` is True; ``name`` labels it in the hover."""

    name: str
    mask: np.ndarray
    color: str


def class_scatter(
    points: Points,
    class_names: Sequence[str],
    title: str,
    axis_titles: tuple[str, str],
    ranges: tuple[tuple[float, float], tuple[float, float]],
    rings: Sequence[Ring] = (),
    height: int | None = None,
) -> go.Figure:
    """Scatter of points coloured by class, train as circles and test as diamonds, with optional rings.

    The chart has no legend: side-by-side charts must keep identical plot areas, and a legend that wraps
    differently would shrink one of them. :func:`legend_html` draws the classes once, above the charts.
    """
    colors = np.asarray(class_colors(len(class_names)), dtype=object)
    sizes = points.sizes if points.sizes is not None else np.full(len(points.x), float(BASE_MARKER))
    # One trace for all points (colour, symbol and size per point): plotly redraws one trace far
    # faster than one per class, which matters on every Resample.
    traces: list[dict] = [
        {
            "type": "scatter",
            "x": points.x,
            "y": points.y,
            "mode": "markers",
            "showlegend": False,
            "marker": {
                "color": colors[points.classes].tolist(),
                "size": sizes,
                "symbol": np.where(points.is_test, TEST_SYMBOL, TRAIN_SYMBOL).tolist(),
                "line": {"width": 1, "color": "white"},
                "opacity": 0.9,
            },
            "hovertext": list(points.hover),
            "hoverinfo": "text",
        }
    ]
    for ring in rings:
        traces.append(
            {
                "type": "scatter",
                "x": points.x[ring.mask],
                "y": points.y[ring.mask],
                "mode": "markers",
                "name": f"{ring.name} ({int(ring.mask.sum())})",
                "showlegend": False,
                "marker": {
                    "symbol": "circle-open",
                    "size": sizes[ring.mask] + 10,
                    "color": ring.color,
                    "line": {"width": 3, "color": ring.color},
                },
                "hoverinfo": "skip",
            }
        )
    layout = layout_spec(title, height)
    for axis, axis_title, axis_range in (("xaxis", axis_titles[0], ranges[0]), ("yaxis", axis_titles[1], ranges[1])):
        layout[axis] = {
            "title": {"text": axis_title, "font": {"size": 17}},
            "range": list(axis_range),
            "zeroline": False,
            "tickfont": {"size": 15},
            "automargin": True,
        }
    return unvalidated_figure(traces, layout)


def legend_html(class_names: Sequence[str], extra: Sequence[tuple[str, str]] = ()) -> str:
    """An HTML legend line: a coloured dot per class, then ``(symbol, label)`` pairs such as ("◆", "test"); the
    names as plain text (class names come from a CSV)."""
    dots = [
        f'<span style="color:{color};font-size:1.3em">●</span>&nbsp;{plain(name)}'
        for name, color in zip(class_names, class_colors(len(class_names)), strict=True)
    ]
    return " &nbsp; ".join(dots + [f"{symbol}&nbsp;{plain(label)}" for symbol, label in extra])


def legend_entry(name: str, symbol: str, color: str) -> dict:
    """A legend item with no points."""
    return {
        "type": "scatter",
        "x": [None],
        "y": [None],
        "mode": "markers",
        "name": name,
        "marker": {"symbol": symbol, "color": color, "size": BASE_MARKER},
        "hoverinfo": "skip",
    }


def padded_range(values: np.ndarray, pad: float = 0.06) -> tuple[float, float]:
    """Axis limits covering ``values`` with a margin, shared by side-by-side charts."""
    return span_range(values, pad)


def uncertainty_sizes(values: np.ndarray, n_classes: int) -> np.ndarray:
    """Marker diameters from 9 (certain) to 32 px (at the maximum, ln C nats)."""
    share = np.clip(values / np.log(n_classes), 0.0, 1.0)
    return 9.0 + 23.0 * share


PANEL_GAP = 0.08  # of the figure's width, between the training curves' panels


def training_curves(
    steps: np.ndarray,
    ce: np.ndarray,
    kl: np.ndarray | None,
    accuracy: np.ndarray,
    epochs: int,
    height: int = 300,
    regression: bool = False,
) -> go.Figure:
    """Cross-entropy, KL and train accuracy against the step, each in its own panel; for ``regression`` the
    Gaussian NLL and the train RMSE instead, both in the units the network is trained in (standardised targets).
    ``kl`` None: a network with no KL term (the plain network, MC dropout, an ensemble member), two panels.

    Built from plain dicts: it is redrawn every second while training runs.
    """
    # Each title on two lines, the name over the detail: on one line neighbouring titles ran into each other.
    panels = [
        ("Gaussian NLL<br>(data fit, scaled)" if regression else "Cross-entropy<br>(data fit)", ce, "#0072B2"),
        ("KL to the prior<br>(the KL term)", kl, "#D55E00"),
        ("Train RMSE<br>(one sample, scaled)" if regression else "Train accuracy<br>(one sample)", accuracy, "#009E73"),
    ]
    panels = [panel for panel in panels if panel[1] is not None]
    width = (1 - PANEL_GAP * (len(panels) - 1)) / len(panels)
    traces, annotations = [], []
    layout = layout_spec("", height)
    layout["margin"] = {"l": 60, "r": 20, "t": 64, "b": 10}
    layout["showlegend"] = False
    for i, (title, values, color) in enumerate(panels):
        suffix = "" if i == 0 else str(i + 1)
        left = i * (width + PANEL_GAP)
        traces.append(
            {
                "type": "scatter",
                "x": steps,
                "y": values,
                "mode": "lines",
                "line": {"color": color, "width": 3},
                "xaxis": f"x{suffix}",
                "yaxis": f"y{suffix}",
                "hovertemplate": f"step %{{x}}<br>{title.split('<br>')[0]}: %{{y:.3f}}<extra></extra>",
            }
        )
        layout[f"xaxis{suffix}"] = {"domain": [left, left + width], "range": [0, epochs], "title": {"text": "step"}}
        layout[f"yaxis{suffix}"] = {"anchor": f"x{suffix}"}
        annotations.append(
            {
                "text": title,
                "x": left + width / 2,
                "y": 1.0,
                "xref": "paper",
                "yref": "paper",
                "yanchor": "bottom",
                "yshift": 10,  # clear of the top tick label
                "showarrow": False,
                "font": {"size": 16},
            }
        )
    if not regression:  # the last panel: the train accuracy
        layout[f"yaxis{len(panels)}"] |= {"range": [0, 1.02], "tickformat": ".0%"}
    layout["annotations"] = annotations
    return unvalidated_figure(traces, layout)
