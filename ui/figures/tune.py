"""tune's search as a small heatmap: validation NLL over σ₀ × the KL weight F/N, the chosen cell marked."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from .base import unvalidated_figure

HEIGHT = 230  # px: a sidebar's worth


def search_heatmap(table: pd.DataFrame, best: pd.Series) -> go.Figure:
    """Rows σ₀, columns F (the KL weight × N), colour the validation NLL (lower is better); a star on ``best``.

    ``table`` is :attr:`bnn_core.tune.TuneResult.table`: one row per cell with ``prior_sigma``, ``factor``, ``nll``.
    """
    grid = table.pivot(index="prior_sigma", columns="factor", values="nll").sort_index().sort_index(axis=1)
    x = [f"{factor:g}/N" for factor in grid.columns]
    y = [f"{sigma:g}" for sigma in grid.index]
    heat = {
        "type": "heatmap",
        "z": grid.to_numpy(dtype=float).tolist(),
        "x": x,
        "y": y,
        "colorscale": "Viridis_r",
        "zmin": float(grid.min().min()),
        "zmax": float(grid.min().min() + 2 * (grid.median().median() - grid.min().min()) + 1e-9),  # the best half
        "colorbar": {"thickness": 10},
        "hovertemplate": "σ₀ %{y}, KL %{x}: validation NLL %{z:.3f}<extra></extra>",
    }
    star = {
        "type": "scatter",
        "x": [f"{best['factor']:g}/N"],
        "y": [f"{best['prior_sigma']:g}"],
        "mode": "markers",
        "marker": {"symbol": "star", "size": 18, "color": "white", "line": {"color": "black", "width": 1}},
        "hoverinfo": "skip",
        "showlegend": False,
    }
    layout = {
        "height": HEIGHT,
        "margin": {"l": 44, "r": 8, "t": 28, "b": 40},
        "title": {"text": "Validation NLL", "font": {"size": 14}},
        "xaxis": {"title": {"text": "KL weight"}, "type": "category"},
        "yaxis": {"title": {"text": "σ₀"}, "type": "category"},
        "font": {"size": 12},
    }
    return unvalidated_figure([heat, star], layout)
