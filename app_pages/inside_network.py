"""Inside the network: what networks drawn from the prior predict, and each layer's learned weights against it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

import numpy as np
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from bnn_core import FeatureGrid, NetworkSpec, TrainedRun, feature_grid
from bnn_core.posterior.probing import map_resolution
from bnn_core.posterior.regression import axis_grid
from bnn_core.posterior.weights import (
    HIGH_SNR,
    KEPT_WIDTH,
    LOW_SNR,
    PRIOR_CURVES,
    PRIOR_DRAWS,
    PRIOR_MAPS,
    PRIOR_RESOLUTION,
    LayerWeights,
    PriorMaps,
    WeightCounts,
    layer_weights,
    prior_curves,
    prior_map,
    weight_counts,
)
from bnn_core.settings import SETTINGS
from ui import page, shell, state
from ui.charts import show
from ui.figures.base import legend_html
from ui.figures.weights import (
    kl_bars,
    mu_histogram,
    prior_curves_figure,
    prior_map_figure,
    sigma_histogram,
    snr_histogram,
)

T = TypeVar("T")
RESERVE, PRESENTING_RESERVE = 420, 380  # px of the window above and below the charts (ui.page.fit_charts)
TAB_BAR_HEIGHT = 44  # px: the layers' tabs above the histograms


def _timed(work: Callable[[], T]) -> tuple[T, float]:
    """``work()`` and the seconds it took: the page says how long a σ₀ update takes."""
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def _prior_maps(run: TrainedRun, spec: NetworkSpec, legend: DeltaGenerator) -> None:
    """Four prior networks' classes over the first two features (their classes named in ``legend``), and how sure
    and how split the prior is."""
    dataset = run.data.dataset
    x_feature, y_feature = 0, min(1, dataset.n_features - 1)
    resolution = map_resolution(sum(run.config.model.hidden), PRIOR_DRAWS, finest=PRIOR_RESOLUTION)

    def compute() -> tuple[FeatureGrid, PriorMaps]:
        grid = feature_grid(run.data, x_feature, y_feature, resolution=resolution)
        return grid, prior_map(spec, run.data, grid, PRIOR_MAPS, run.config.seed)

    (grid, maps), seconds = state.memo("inside_prior_map", (run, spec), lambda: _timed(compute))
    train = ~run.data.is_test
    points = (dataset.x[train, x_feature], dataset.x[train, y_feature], dataset.y[train])
    axes = (dataset.feature_names[x_feature], dataset.feature_names[y_feature])
    legend.markdown(legend_html(dataset.class_names, [("●", "training rows")]), unsafe_allow_html=True)
    per_row = PRIOR_MAPS if state.presenting() else 2  # beside the sidebar four in a row cut their axis titles
    columns = [column for _ in range(PRIOR_MAPS // per_row) for column in st.columns(per_row, gap="small")]
    for k, column in enumerate(columns):
        figure = prior_map_figure(grid, maps.predicted[k], f"Prior draw #{k}", axes, dataset.class_names, points)
        show(figure, key=f"inside_prior_{k}", where=column, fit=True)
    if state.presenting():
        return
    others = "" if dataset.n_features <= 2 else " (the other features at their training median)"
    st.caption(
        f"Each map is one network drawn from N({spec.prior_mu:g}, {spec.prior_sigma:g}²), asked about "
        f"{resolution**2:,} points{others}. Over {PRIOR_DRAWS} such networks, one network's top "
        f"probability averages **{maps.draw_confidence.mean():.0%}** and they disagree by "
        f"**{maps.epistemic.mean():.2f} nats** of mutual information (at most ln {dataset.n_classes} = "
        f"{np.log(dataset.n_classes):.2f}). Computed in **{seconds:.2f} s**."
    )


def _prior_functions(run: TrainedRun, spec: NetworkSpec) -> None:
    """Twenty prior networks' functions along the first feature, with the training rows."""
    dataset = run.data.dataset

    def compute() -> tuple[np.ndarray, np.ndarray]:
        raw = axis_grid(run.data, 0)
        return raw[:, 0], prior_curves(spec, run.data, raw, PRIOR_CURVES, run.config.seed)

    (grid, curves), seconds = state.memo("inside_prior_curves", (run, spec), lambda: _timed(compute))
    train = ~run.data.is_test
    axes = (dataset.feature_names[0], dataset.target_name)
    figure = prior_curves_figure(grid, curves, (dataset.x[train, 0], dataset.y[train]), axes)
    show(figure, key="inside_prior_curves", fit=True)
    if state.presenting():
        return
    st.caption(
        f"{PRIOR_CURVES} networks drawn from N({spec.prior_mu:g}, {spec.prior_sigma:g}²), in the target's units. "
        f"Computed in **{seconds:.2f} s**."
    )


@st.fragment
def prior_section(run: TrainedRun) -> None:
    """The σ₀ slider and what the prior predicts; a fragment, so that moving σ₀ reruns only this part."""
    trained = NetworkSpec.of(run.model)
    choices = sorted({*SETTINGS["prior_sigma"].ladder, trained.prior_sigma})
    slider, side = st.columns([3, 2], vertical_alignment="bottom")
    sigma = slider.select_slider(
        "Prior σ₀ of every weight and bias",
        choices,
        value=trained.prior_sigma,
        format_func=lambda value: f"{value:g}",
        key=f"inside_sigma:{trained.prior_sigma:g}",  # a run with another prior starts at its own σ₀
        help="Only for this picture: the run on screen keeps its prior. Train with another σ₀ in the sidebar.",
    )
    side.markdown(f"Prior mean μ₀ = **{trained.prior_mu:g}**")
    spec = replace(trained, prior_sigma=sigma)
    if run.task == "regression":
        _prior_functions(run, spec)
    else:
        _prior_maps(run, spec, side)


def _reading(counts: WeightCounts, spec: NetworkSpec) -> str:
    """The paragraph on what to look for, with this run's numbers."""
    p = counts.total
    return (
        f"**How to read it.** A weight whose posterior kept σ ≈ σ₀ and μ ≈ μ₀ is *switched off*: the data had "
        f"nothing to say about it, so the posterior stayed the prior. Here **{counts.kept_width:,} of {p:,}** "
        f"parameters kept at least {KEPT_WIDTH:.0%} of the prior's width σ₀ = {spec.prior_sigma:g}, and "
        f"**{counts.switched_off:,}** of those also have a mean within σ₀ of μ₀ = {spec.prior_mu:g}. Weights with "
        f"a high signal-to-noise ratio |μ|/σ are the ones the data pinned down: **{counts.high_snr:,} of {p:,}** "
        f"have |μ|/σ > {HIGH_SNR:g}, while **{counts.low_snr:,} of {p:,}** have |μ|/σ < {LOW_SNR:g}, so that a "
        "posterior sample often flips their sign. The KL of a layer is what its weights cost, in nats, for moving "
        "away from the prior."
    )


def _layer_tab(layer: LayerWeights, spec: NetworkSpec, index: int) -> None:
    """One layer's three histograms and its numbers."""
    means, spreads, ratios = st.columns(3, gap="small")
    show(mu_histogram(layer, spec.prior_mu, spec.prior_sigma), key=f"inside_mu_{index}", where=means, fit=True)
    show(sigma_histogram(layer, spec.prior_sigma), key=f"inside_sigma_{index}", where=spreads, fit=True)
    show(snr_histogram(layer), key=f"inside_snr_{index}", where=ratios, fit=True)
    if state.presenting():
        return
    st.caption(
        f"{layer.n:,} parameters (weights and biases); KL {layer.kl:,.1f} nats, {layer.kl / layer.n:.3f} a "
        f"parameter; {int(np.sum(layer.snr < LOW_SNR)):,} with |μ|/σ < {LOW_SNR:g}."
    )


def weights_section(run: TrainedRun) -> None:
    """Each layer's posterior against the prior, the KL per layer, and how to read them."""
    spec = NetworkSpec.of(run.model)
    layers = state.memo("inside_weights", (run,), lambda: layer_weights(run.model))
    slide = state.presenting()
    # On a slide the KL per layer stands beside the histograms; beside the sidebar, below them with the reading.
    histograms, kl = st.columns([3, 1], gap="small") if slide else (st.container(), None)
    with histograms:
        for index, tab in enumerate(st.tabs([layer.name for layer in layers])):
            with tab:
                _layer_tab(layers[index], spec, index)
    if slide:
        kl.container(height=TAB_BAR_HEIGHT, border=False)  # level with the histograms, below the layers' tabs
        show(kl_bars(layers, height=None), key="inside_kl", where=kl, fit=True)
        return
    text, chart = st.columns([3, 2], gap="medium")
    text.markdown(_reading(weight_counts(layers, spec.prior_mu, spec.prior_sigma), spec))
    show(kl_bars(layers), key="inside_kl", where=chart)


def draw(run: TrainedRun) -> None:
    page.fit_charts(RESERVE, PRESENTING_RESERVE)
    before, after = st.tabs(["Before training: the prior", "After training: the weights"])
    with before:
        prior_section(run)
    with after:
        weights_section(run)


INTRO = (
    "A Bayesian network starts from a prior N(μ₀, σ₀²) on every weight. Networks drawn from it show what the prior "
    "alone believes, before any data; move σ₀ to see them change. After training, every weight has its own "
    "posterior N(μ, σ²): the histograms show where the data moved it away from the prior, and where it did not."
)

shell.run_page("Inside the network", "Inside the network", INTRO, draw)
