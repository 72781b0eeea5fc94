"""Sweep: what the prior σ₀ and the KL weight do, as heatmaps over a grid of runs (the mean over seeds); a click
on a cell trains that run on the main page; small sweeps of your own run here in the background."""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from bnn_core import BNNInputError, RunConfig
from bnn_core.sweep import SweepSpec, parse_grid, parse_reductions, parse_seeds, summarize
from ui import page, state
from ui.controls import fill_form
from ui.figures.sweep import MEASURES, sweep_heatmap
from ui.text import plain
from ui.training import refusal
from ui.views import sweep

MAIN_PAGE = "app_pages/train_and_resample.py"
GO_MAIN = "bnn_sweep_go_main"  # set by a click on a cell: the page then opens the main page
SOURCES = sweep.SOURCES
RESERVE, PRESENTING_RESERVE = 330, 170  # px of the window above and below the heatmap (ui.page.fit_charts)


def _source(where: DeltaGenerator) -> tuple[pd.DataFrame, RunConfig, str]:
    """The sweep to show, chosen in ``where``: the shipped one, or this session's once it has run one."""
    own = sweep.own_sweep()
    choices = SOURCES if own is not None else SOURCES[:1]
    chosen = (
        where.segmented_control(
            "Sweep", choices, default=choices[-1], key=sweep.SOURCE_WIDGET, label_visibility="collapsed"
        )
        or choices[-1]
    )
    if chosen == SOURCES[1] and own is not None:
        table, base = own
        return table, base, "your sweep"
    table = sweep.shipped_table()
    base = RunConfig.from_flat(json.loads(table.loc[0, "config"]))
    return table, base, "the shipped sweep (python -m bnn_core sweep, see the README)"


def _heatmap(table: pd.DataFrame, base: RunConfig, what: str, colour: DeltaGenerator, kl: DeltaGenerator) -> None:
    """The heatmap of the measure chosen in ``colour`` for the KL reduction chosen in ``kl``; a click on a cell
    trains its run on the main page."""
    reductions = sorted(table["kl_reduction"].unique())
    measure = colour.segmented_control(
        "Colour", list(MEASURES), default="Test accuracy", key="sweep_measure", label_visibility="collapsed"
    )
    reduction = kl.segmented_control(
        "KL reduction", reductions, default=reductions[0], key="sweep_reduction", label_visibility="collapsed"
    )
    measure, reduction = measure or "Test accuracy", reduction or reductions[0]
    n_train = round(_n_rows(base) * (1 - base.data.test_size))
    figure = sweep_heatmap(summarize(table), measure, reduction, n_train)
    seeds = sorted(table["seed"].unique())
    key = f"sweep_chart_{measure}_{reduction}"
    with st.container(key=f"fit_chart_{key}"):
        st.plotly_chart(
            figure, width="stretch", height="stretch", theme=None, key=key, selection_mode="points",
            on_select=lambda: _clicked(key, table, reduction, seeds[0]),
        )  # fmt: skip
    if st.session_state.pop(GO_MAIN, False):
        st.switch_page(MAIN_PAGE)
    if not state.presenting():
        st.caption(
            f"{what}: {plain(base.data.dataset)}, hidden {list(base.model.hidden)}, {base.train.epochs} epochs, seeds "
            f"{', '.join(map(str, seeds))}; each cell the mean over seeds (hover: the range). Stars: the article's "
            "settings (σ₀ 0.1, KL 0.01, mean) and the textbook ELBO (σ₀ 1, KL summed, weight 1/N), at the nearest "
            "cell. Rows: the prior σ₀; columns: the KL weight."
        )


def _clicked(key: str, table: pd.DataFrame, reduction: str, seed: int) -> None:
    """A callback (before the page's widgets exist, so the form may change): a click on a cell loads its run."""
    points = st.session_state[key].selection.points  # every trace's points sit at cell centres
    if points:
        _load(table, float(points[0]["y"]), float(points[0]["x"]), reduction, seed)


def _n_rows(base: RunConfig) -> int:
    try:
        return state.dataset_by_name(base.data.dataset).n_rows
    except BNNInputError:  # a CSV no longer in this session
        return 100


def _load(table: pd.DataFrame, sigma: float, weight: float, reduction: str, seed: int) -> None:
    """Train the clicked cell's run (its first seed) on the main page, its settings in the form."""
    rows = table[(table["kl_reduction"] == reduction) & (table["seed"] == seed)]
    match = rows[(rows["prior_sigma"].map(lambda v: f"{v:.3g}") == f"{sigma:.3g}")
                 & (rows["kl_weight"].map(lambda v: f"{v:.3g}") == f"{weight:.3g}")]  # fmt: skip
    if match.empty:
        st.session_state[sweep.ERROR] = (
            f"No run of σ₀ {sigma:.3g}, KL weight {weight:.3g} with seed {seed} in this sweep; nothing changed."
        )
        return
    config = RunConfig.from_flat(json.loads(match.iloc[0]["config"]))
    fill_form(config)
    st.session_state[state.PENDING] = config
    st.session_state[state.PENDING_ORIGIN] = f"From the sweep (the cell σ₀ {sigma:.3g}, KL weight {weight:.3g})"
    st.session_state[GO_MAIN] = True


def _run_form() -> None:
    """A small sweep of the run on screen's settings, in the background."""
    with (
        st.expander(f"Run this sweep (up to {sweep.max_cells():,} cells, with the settings of the run on screen)"),
        st.form("sweep_form", border=False),
    ):
        a, b, c, d = st.columns(4)
        sigmas = a.text_input("Prior σ₀", "0.01:10:4", help="LOW:HIGH:COUNT on a log scale, or a list: 0.1,1")
        weights = b.text_input("KL weight", "1e-4:1:5", help="LOW:HIGH:COUNT on a log scale, or a list")
        reductions = c.text_input("KL reduction", "mean", help="mean, sum, or mean,sum")
        seeds = d.text_input("Seeds", "0-1", help="a range such as 0-4, or a list such as 0,3")
        pressed = st.form_submit_button("Run this sweep", type="primary", disabled=sweep.running())
    if not pressed:
        return
    run = state.current_run()
    base = run.config if run is not None else RunConfig()
    try:
        spec = SweepSpec(
            replace(base, data=replace(base.data, task="classification")),
            parse_grid(sigmas, "prior_sigma"),
            parse_grid(weights, "kl_weight"),
            parse_reductions(reductions),
            parse_seeds(seeds),
        )
        sweep.start(state.dataset_by_name(base.data.dataset), spec)
    except BNNInputError as err:
        st.error(refusal(err, "The sweep could not start"))
        return
    st.rerun()


def draw() -> None:
    page.setup("Sweep")
    page.title("Sweep the prior and the KL weight")
    page.fit_charts(RESERVE, PRESENTING_RESERVE)
    with st.container(key="intro"):
        st.markdown(
            "Every cell is a whole training run. Left to right the KL weight grows, bottom to top the prior widens: "
            "the article's corner makes the BNN a point estimate, the textbook ELBO makes it unsure. Click a cell "
            "to train that run on the main page."
        )
    error = st.session_state.pop(sweep.ERROR, None)
    if error:
        st.error(plain(error))
    sweep.watch()
    colour, kl, source = st.columns([3.6, 1.2, 1.8], vertical_alignment="center")
    table, base, what = _source(source)
    _heatmap(table, base, what, colour, kl)
    if not state.presenting():
        _run_form()


draw()
