"""Putting a plotly figure on the page, the same way everywhere."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

# The mode bar covered chart titles on hover and is of little use on stage.
_CONFIG = {"displayModeBar": False}


def show(figure: go.Figure, key: str | None = None, where: DeltaGenerator | None = None) -> None:
    """Draw ``figure`` full width in ``where`` (the current container by default).

    ``theme=None`` keeps the figure's own styling: Streamlit's theme would turn axis text light grey
    and replace the colour scales the maps rely on.
    """
    (where or st).plotly_chart(figure, width="stretch", theme=None, key=key, config=_CONFIG)
