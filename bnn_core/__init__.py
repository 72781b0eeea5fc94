"""bnn_core: Bayesian neural networks with torchbnn, from data to calibrated uncertainty.

The engine behind the dashboard. It never imports Streamlit. Typical use::

    from bnn_core import RunConfig, load_builtin, train_run, save_run

    run = train_run(load_builtin("iris"), RunConfig())
    print(run.metrics["test_accuracy"])
    save_run(run, "runs/iris")

Names load on first use (PEP 562), so ``import bnn_core`` is cheap and ``bnn_core.compiled.noise``
needs only NumPy and numba: the app compiles the noise generator while torch, pandas and
scikit-learn are still importing.
"""

from __future__ import annotations

import importlib
from typing import Any

# submodule: the public names it provides
_EXPORTS: dict[str, tuple[str, ...]] = {
    "config": ("DataConfig", "ModelConfig", "RunConfig", "TrainConfig", "with_article_training"),
    "data.csv_file": ("csv_columns", "csv_preview", "likely_label_column", "read_csv"),
    "data.datasets": ("BUILTIN_DATASETS", "Dataset", "load_builtin"),
    "limits": ("MAX_CLASSES", "MAX_FEATURES", "MAX_ROWS"),
    "data.prepared": ("PreparedData", "Scaler", "prepare"),
    "errors": ("BNNInputError",),
    "posterior.evaluation": ("Evaluation", "evaluate", "posterior_uncertainty", "run_metrics"),
    "experiment": ("TrainedRun", "TwinRun", "train_run", "train_twin"),
    "runs.export": ("predictions_frame",),
    "data.geometry": ("features_outside", "inside_data", "span_range"),
    "runs.loading": ("LoadedRun", "load_run"),
    "model.network": (
        "ACTIVATIONS",
        "NetworkSpec",
        "Params",
        "bayes_layers",
        "build_bnn",
        "build_twin",
        "kl_divergence",
        "layer_sizes",
        "n_bayes_parameters",
    ),
    "posterior.probing": (
        "FeatureGrid",
        "GridMap",
        "Probe",
        "bnn_map",
        "feature_grid",
        "probe",
        "probe_presets",
        "training_median",
        "twin_map",
    ),
    "runs.store": ("save_run",),
    "posterior.sample": ("draw_noise", "draw_probs", "sample_probs", "twin_probs"),
    "settings": ("SETTINGS", "Setting"),
    "engine.threads": ("one_thread_per_call",),
    "engine.train": ("FitResult", "History", "Progress", "fit"),
    "posterior.uncertainty": (
        "Calibration",
        "PointUncertainty",
        "ReliabilityBins",
        "accuracy",
        "brier",
        "calibration",
        "ece",
        "entropy",
        "nll",
        "point_uncertainty",
        "reliability",
    ),
    "version": ("__version__",),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    """Import the submodule that defines ``name`` the first time it is asked for."""
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'bnn_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
