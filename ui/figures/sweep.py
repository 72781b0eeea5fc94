"""The sweep's heatmap: one metric over σ₀ × KL weight, the mean over seeds, the spread in the hover, and markers
at the article's and the textbook's settings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

FONT_SIZE = 16  # px: readable on a projector

MEASURES = {  # heading: (column, colour scale, higher is better)
    "Test accuracy": ("test_accuracy", "Viridis", True),
    "NLL": ("nll", "Viridis_r", False),
    "ECE": ("ece", "Viridis_r", False),
    "MI far from data": ("mi_far", "Magma", True),
    "MI far − near": ("mi_gap", "Magma", True),
}
CELL_NAME = "cell"  # the trace whose points are the cells: a click on one loads its run


def landmarks(n_train: int) -> dict[str, tuple[float, float, str]]:
    """The settings the product names: the article's (σ₀ 0.1, KL 0.01, mean) and the textbook ELBO's (σ₀ 1, KL
    summed with weight 1/N)."""
    return {"article": (0.1, 0.01, "mean"), "textbook": (1.0, 1.0 / n_train, "sum")}


def _nearest(values: np.ndarray, value: float) -> int:
    """The index of the grid value nearest ``value`` on a log scale (0 counts as the smallest)."""
    logs = np.log10(np.where(values > 0, values, np.nan))
    if value <= 0:
        return int(np.argmin(values))
    return int(np.nanargmin(np.abs(logs - np.log10(value))))


def sweep_heatmap(summary: pd.DataFrame, measure: str, reduction: str, n_train: int) -> go.Figure:
    """The heatmap of ``measure`` for the cells of ``reduction``: rows σ₀, columns KL weight.

    ``summary`` is :func:`bnn_core.sweep.summarize` output. Each cell's hover gives the mean, the range over
    seeds and how many seeds finished (and failed).
    """
    column, scale, _ = MEASURES[measure]
    rows = summary[summary["kl_reduction"] == reduction]
    sigmas = np.sort(rows["prior_sigma"].unique())
    weights = np.sort(rows["kl_weight"].unique())
    mean = rows.pivot(index="prior_sigma", columns="kl_weight", values=f"{column}_mean").reindex(sigmas)[weights]
    hover = _hover(rows, column, sigmas, weights)
    x_labels, y_labels = [f"{w:.3g}" for w in weights], [f"{s:.3g}" for s in sigmas]
    figure = go.Figure(
        go.Heatmap(
            z=mean.to_numpy(dtype=float),
            x=x_labels,
            y=y_labels,
            colorscale=scale,
            text=hover,
            hovertemplate="%{text}<extra></extra>",
            colorbar={"title": {"text": measure}},
        )
    )
    xs, ys = np.meshgrid(x_labels, y_labels)
    figure.add_trace(  # a point on every cell: plotly reports clicks on points, not on heatmap cells
        go.Scatter(
            x=xs.ravel(),
            y=ys.ravel(),
            mode="markers",
            name=CELL_NAME,
            showlegend=False,
            marker={"size": 28, "opacity": 0.0, "symbol": "square"},
            text=[line for row in hover for line in row],  # on top of the heatmap, so it carries the hover
            hovertemplate="%{text}<extra></extra>",
        )
    )
    for name, (sigma, weight, where) in landmarks(n_train).items():
        if where != reduction or len(sigmas) == 0:
            continue
        i, j = _nearest(sigmas, sigma), _nearest(weights, weight)
        figure.add_trace(
            go.Scatter(
                x=[x_labels[j]],
                y=[y_labels[i]],
                mode="markers+text",
                name=f"{name} (σ₀ {sigma:g}, KL {weight:.3g})",
                text=[name],
                textposition="top center",
                textfont={"color": "white", "size": FONT_SIZE},
                marker={"symbol": "star", "size": 18, "color": "white", "line": {"color": "black", "width": 1.5}},
                hoverinfo="skip",
            )
        )
    figure.update_layout(
        xaxis={"title": {"text": f"KL weight ({reduction})"}, "type": "category"},
        yaxis={"title": {"text": "prior σ₀"}, "type": "category"},
        legend={"orientation": "h", "y": -0.2},
        clickmode="event+select",  # a click selects the point under it, which Streamlit reports
        font={"size": FONT_SIZE},
        margin={"l": 70, "r": 20, "t": 30, "b": 80},
        autosize=True,  # the page sizes it to the window
    )
    return figure


def _hover(rows: pd.DataFrame, column: str, sigmas: np.ndarray, weights: np.ndarray) -> list[list[str]]:
    by_cell = rows.set_index(["prior_sigma", "kl_weight"])
    lines = []
    for sigma in sigmas:
        line = []
        for weight in weights:
            cell = by_cell.loc[(sigma, weight)]
            failed = int(cell.get("failed", 0) or 0)
            count = int(cell[f"{column}_count"]) if pd.notna(cell[f"{column}_count"]) else 0
            text = f"σ₀ {sigma:.3g}, KL weight {weight:.3g}<br>"
            if count:
                text += (
                    f"mean {cell[f'{column}_mean']:.3g} over {count} seed(s)<br>"
                    f"range {cell[f'{column}_min']:.3g} to {cell[f'{column}_max']:.3g}"
                )
            else:
                text += "no finished seed"
            line.append(
                text + (f"<br>{failed} failed" if failed else "") + "<br>click: train its first seed on the main page"
            )
        lines.append(line)
    return lines
