"""Putting a plotly figure on the page, the same way everywhere."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from .text import safe_figure

CHART_FORMAT = "chart_format"  # session key: the format of the toolbar's download, "png" or "svg"
FORMATS = {"png": "PNG (2× size)", "svg": "SVG"}
# Only the download and reset-axes buttons: the rest are of little use on stage.
_REMOVED = ["zoom2d", "pan2d", "select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d", "toggleSpikelines"]


def chart_config(name: str) -> dict:
    """plotly's toolbar: a camera that downloads the chart as ``name``.png at 2× or .svg (see :data:`FORMATS`)."""
    fmt = st.session_state.get(CHART_FORMAT, "png")
    return {
        "displaylogo": False,
        "modeBarButtonsToRemove": _REMOVED,
        "toImageButtonOptions": {"format": fmt, "filename": name, "scale": 2 if fmt == "png" else 1},
        "responsive": True,
    }


def show(
    figure: go.Figure,
    key: str | None = None,
    where: DeltaGenerator | None = None,
    name: str | None = None,
    fit: bool = False,
) -> None:
    """Draw ``figure`` full width in ``where`` (the current container by default).

    Args:
        name: the file name of the toolbar's download (default: ``key``).
        fit: take the height from the page's CSS, which sizes the chart to the window (:func:`ui.page.fit_charts`);
            the chart then needs a ``key``.

    ``theme=None`` keeps the figure's own styling: Streamlit's theme would turn axis text light grey
    and replace the colour scales the maps rely on. Names from a CSV or a run file are in the labels, so the
    figure's tags that could link or style are written as text first (:func:`~ui.text.safe_figure`).
    """
    config = chart_config(name or key or "chart")
    place = (where or st).container(key=f"fit_chart_{key}") if fit else (where or st)
    height = "stretch" if fit else "content"
    place.plotly_chart(safe_figure(figure), width="stretch", height=height, theme=None, key=key, config=config)
