"""Below the charts: headline metrics, the most uncertain points, and the finished run's training curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from bnn_core import TrainedRun, predictions_frame
from bnn_core.posterior.health import chance_range, health_checks
from bnn_core.runs.archive import run_zip
from bnn_core.runs.export import regression_frame

from .. import state
from ..charts import CHART_FORMAT, FORMATS, show
from ..figures.base import training_curves
from ..text import plain

ENGINE_NAMES = {"fast": "the compiled engine", "torchbnn": "torchbnn's autograd loop"}
HEADING_PX = 7  # px a character of a table's heading, about
MAX_CURVE_POINTS = 600  # enough for a smooth line; the full history can be 100,000 steps


def _percent(value: float | None) -> str:
    return "no test rows" if value is None else f"{value:.1%}"


def _number(value: float | None) -> str:
    return "no test rows" if value is None else f"{value:.3g}"


def health_notes(run: TrainedRun) -> None:
    """The run's health checks (not converged, not Bayes' posterior, no better than knowing nothing, intervals
    off), one sentence each with its fix, above its numbers; nothing when it is healthy."""
    problems = health_checks(run.config, run.metrics)
    if problems:
        st.warning("\n".join(f"- {problem}" for problem in problems), icon=":material/warning:")


def regression_cards(run: TrainedRun) -> None:
    """RMSE, NLL, the noise σ and the coverage of the 50%, 90% and 95% intervals, in the target's units."""
    health_notes(run)
    m = run.metrics
    where = "test" if m["metrics_on"] == "test" else "train (no test rows)"
    mean_of = f"Root mean squared error of the posterior mean of {run.config.samples} samples."
    top, bottom = st.columns(4), st.columns(4)
    top[0].metric("Train RMSE", _number(m["train_rmse"]), help=mean_of)
    top[1].metric("Test RMSE", _number(m["test_rmse"]), help=mean_of)
    top[2].metric("NLL", f"{m['nll']:.3f}", help=f"Gaussian NLL of the predictive (mean ± total std), {where} rows.")
    sigma = m["noise_sigma"]
    top[3].metric(
        "Noise σ",
        "per input" if sigma is None else f"{sigma:.3g}",
        help=f"The {run.config.model.noise} noise model's σ, in the target's units.",
    )
    rows = m.get("held_out_rows")
    for cell, level in zip(bottom, (50, 90, 95), strict=False):
        chance = ""
        if rows:
            low, high = chance_range(level / 100, int(rows))
            chance = f" With {rows} rows, chance alone gives anything from {low:.0%} to {high:.0%}."
        cell.metric(
            f"{level}% coverage",
            f"{m[f'coverage_{level}']:.0%}",
            help=f"Share of {where} rows inside their central {level}% predictive interval; ideally {level}%.{chance}",
        )
    if rows and rows < 30:
        low, high = chance_range(0.9, int(rows))
        st.caption(
            f"Coverage is measured on only {rows} rows: a 90% interval covers anywhere from {low:.0%} to {high:.0%} "
            "of that many by chance, so these shares say little."
        )
    bottom[3].metric("Training time", f"{m['train_seconds']:.1f} s", help="The optimisation loop only.")
    st.caption(
        f"Trained {m['steps']:,} steps on {plain(run.data.dataset.name)} with {ENGINE_NAMES[run.fit.engine]}. "
        f"Final NLL {m['final_nll']:.3f}, KL {m['final_kl']:.2f} ({run.config.train.kl_reduction}). NLL and "
        f"coverage use the {where} rows."
    )


def metric_cards(run: TrainedRun) -> None:
    if run.task == "regression":
        regression_cards(run)
        return
    health_notes(run)
    m = run.metrics
    where = "test" if m["metrics_on"] == "test" else "train (no test rows)"
    mean_of = f"Posterior mean of {run.config.samples} samples."
    top, bottom = st.columns(4), st.columns(4)  # two rows: seven numbers stay readable at 1280 px
    top[0].metric("Train accuracy", _percent(m["train_accuracy"]), help=mean_of)
    top[1].metric("Test accuracy", _percent(m["test_accuracy"]), help=mean_of)
    top[2].metric("NLL", f"{m['nll']:.3f}", help=f"Mean −log p(true class) on {where} rows; lower is better.")
    top[3].metric("ECE", f"{m['ece']:.3f}", help=f"Expected calibration error, 15 bins, on {where} rows.")
    bottom[0].metric("Brier", f"{m['brier']:.3f}", help=f"Mean squared error of the probabilities on {where} rows.")
    bottom[1].metric("Final CE", f"{m['final_ce']:.3f}", help="Cross-entropy of the last training step.")
    bottom[2].metric("Final KL", f"{m['final_kl']:.2f}", help=f"KL to the prior ({run.config.train.kl_reduction}).")
    bottom[3].metric("Training time", f"{m['train_seconds']:.1f} s", help="The optimisation loop only.")
    engine = ENGINE_NAMES[run.fit.engine]
    st.caption(
        f"Trained {m['steps']:,} steps on {plain(run.data.dataset.name)} with {engine}. "
        f"NLL, ECE and Brier use the {where} rows."
    )
    if run.fit.note:  # the engine fell back from the one asked for: say so, and why
        st.info(plain(f"{run.fit.note[0].upper()}{run.fit.note[1:]}."), icon=":material/info:")


def predictions(run: TrainedRun):
    """The run's predictions.csv as a table (classification or regression columns)."""
    if run.task == "regression":
        return regression_frame(run.data, run.evaluation.bands)
    return predictions_frame(run.data, run.evaluation.uncertainty)


def uncertain_regression_points(run: TrainedRun, count: int) -> None:
    """The rows with the widest predictive band, with its epistemic and aleatoric parts."""
    top = state.derived(run, "uncertain points", lambda: _widest_bands(run, count), count)
    _table(top, [c for c in top.columns if c not in ("point", "split")], "%.3g")


def _table(top: pd.DataFrame, numbers: list[str], number_format: str) -> None:
    """The table of uncertain points, full width, with ``numbers`` in ``number_format``, each as wide as its heading
    (beside the sidebar every probability stays on screen: p_virginica was cut)."""
    config = {
        name: st.column_config.NumberColumn(format=number_format, width=HEADING_PX * len(name) + 18) for name in numbers
    }
    st.dataframe(top, hide_index=True, width="stretch", column_config=config)


def _widest_bands(run: TrainedRun, count: int) -> pd.DataFrame:
    table = predictions(run)
    table.insert(0, "point", np.arange(len(table)))
    return table.sort_values("total_std", ascending=False).head(count)


def uncertain_points(run: TrainedRun, count: int = 10) -> None:
    """The points the network is least sure about, with the three kinds of uncertainty."""
    if run.task == "regression":
        uncertain_regression_points(run, count)
        return
    top = state.derived(run, "uncertain points", lambda: _least_sure(run, count), count)
    probability_columns = [c for c in top.columns if c.startswith("p_")]
    _table(top, ["entropy", "aleatoric", "epistemic", "variation_ratio", *probability_columns], "%.3f")


def _least_sure(run: TrainedRun, count: int) -> pd.DataFrame:
    """The ``count`` rows of highest entropy: what the table is about first (the label, the prediction and its
    probabilities, the uncertainties), the features (up to 1,000) last."""
    table = predictions_frame(run.data, run.evaluation.uncertainty)
    table.insert(0, "point", np.arange(len(table)))
    probabilities = [c for c in table.columns if c.startswith("p_")]
    leading = ["point", "label", "predicted", *probabilities, "entropy", "epistemic", "aleatoric", "variation_ratio",
               "split"]  # fmt: skip
    table = table[leading + [c for c in table.columns if c not in leading and c != "predicted_std"]]
    return table.sort_values("entropy", ascending=False).head(count)


def finished_curves(run: TrainedRun, where: DeltaGenerator) -> None:
    fig = state.derived(run, "loss curves", lambda: _loss_curves(run))
    show(fig, key="history_chart", where=where, name=f"{state.run_label(run)}-training")


def _loss_curves(run: TrainedRun) -> go.Figure:
    """The finished run's curves, at most MAX_CURVE_POINTS steps of its history."""
    history = run.fit.history
    steps = np.arange(1, len(history.ce) + 1)
    keep = np.unique(np.linspace(0, len(steps) - 1, min(len(steps), MAX_CURVE_POINTS)).astype(int))
    return training_curves(
        steps[keep], history.ce[keep], history.kl[keep], history.train_accuracy[keep], len(steps),
        regression=run.task == "regression",
    )  # fmt: skip


def downloads(run: TrainedRun) -> None:
    """The run's files, and the format of each chart's own download (the camera in its toolbar)."""
    label = state.run_label(run)
    cells = st.columns([2, 2, 2, 3], vertical_alignment="bottom")
    cells[0].download_button(
        "Predictions (CSV)",
        data=lambda: predictions(run).to_csv(index=False),
        file_name=f"{label}-predictions.csv",
        mime="text/csv",
        on_click="ignore",
        width="stretch",
        help="One row per point: split, features, label, predicted class, probabilities, uncertainties (for "
        "regression: target, mean, epistemic, aleatoric and total std, 95% interval).",
    )
    cells[1].download_button(
        "Training history (CSV)",
        data=lambda: run.fit.history.frame().to_csv(index=False),
        file_name=f"{label}-history.csv",
        mime="text/csv",
        on_click="ignore",
        width="stretch",
        help="Every step's cross-entropy, KL, total loss and train accuracy.",
    )
    cells[2].download_button(
        "The run (zip)",
        data=lambda: run_zip(run),
        file_name=f"{label}.zip",
        mime="application/zip",
        on_click="ignore",
        width="stretch",
        help="Weights, settings, metrics, predictions, history. Read it with `python -m bnn_core show FILE.zip`, "
        "or load it again on the Data page.",
    )
    cells[3].radio(
        "Chart downloads (the camera in each chart's toolbar)",
        list(FORMATS),
        format_func=FORMATS.get,
        key=CHART_FORMAT,
        horizontal=True,
    )


def draw(run: TrainedRun) -> DeltaGenerator:
    """Everything below the charts (hidden in presenter mode, so that the page fits the screen); returns where
    the loss curves are, for a training started meanwhile."""
    with st.container(key="below_charts"):
        metric_cards(run)
        downloads(run)
        st.subheader("The points it is least sure about")
        if run.task == "regression":
            st.caption("Sorted by total predictive std (epistemic and noise together), in the target's units.")
        else:
            st.caption("Sorted by total uncertainty (entropy, in nats) over all posterior samples.")
        uncertain_points(run)
        st.subheader("How training went")
        curves = st.empty()
        finished_curves(run, curves)
    return curves
