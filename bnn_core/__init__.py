"""bnn_core: Bayesian neural networks with torchbnn, from data to calibrated uncertainty.

The engine behind the dashboard. It never imports Streamlit. Typical use::

    from bnn_core import RunConfig, load_builtin, train_run, save_run

    run = train_run(load_builtin("iris"), RunConfig())
    print(run.metrics["test_accuracy"])
    save_run(run, "runs/iris")
"""

from .config import DataConfig, ModelConfig, RunConfig, TrainConfig
from .data import (
    BUILTIN_DATASETS,
    MAX_CLASSES,
    MAX_FEATURES,
    MAX_ROWS,
    Dataset,
    PreparedData,
    Scaler,
    csv_columns,
    csv_preview,
    likely_label_column,
    load_builtin,
    prepare,
    read_csv,
)
from .errors import BNNInputError
from .evaluation import Evaluation, evaluate, posterior_uncertainty, run_metrics
from .experiment import TrainedRun, TwinRun, train_run, train_twin
from .export import predictions_frame
from .geometry import features_outside, inside_data, span_range
from .loading import LoadedRun, load_run
from .network import (
    ACTIVATIONS,
    NetworkSpec,
    Params,
    bayes_layers,
    build_bnn,
    build_twin,
    kl_divergence,
    layer_sizes,
    n_bayes_parameters,
)
from .probe import FeatureGrid, GridMap, Probe, bnn_map, feature_grid, probe, probe_presets, training_median, twin_map
from .runs import save_run
from .sample import draw_noise, draw_probs, sample_probs, twin_probs
from .settings import SETTINGS, Setting
from .train import FitResult, History, Progress, fit
from .uncertainty import (
    Calibration,
    PointUncertainty,
    ReliabilityBins,
    accuracy,
    brier,
    calibration,
    ece,
    entropy,
    nll,
    point_uncertainty,
    reliability,
)
from .version import __version__

__all__ = [
    "ACTIVATIONS",
    "BUILTIN_DATASETS",
    "MAX_CLASSES",
    "MAX_FEATURES",
    "MAX_ROWS",
    "SETTINGS",
    "BNNInputError",
    "Calibration",
    "DataConfig",
    "Dataset",
    "Evaluation",
    "FeatureGrid",
    "FitResult",
    "GridMap",
    "History",
    "LoadedRun",
    "ModelConfig",
    "NetworkSpec",
    "Params",
    "PointUncertainty",
    "PreparedData",
    "Probe",
    "Progress",
    "ReliabilityBins",
    "RunConfig",
    "Scaler",
    "Setting",
    "TrainConfig",
    "TrainedRun",
    "TwinRun",
    "__version__",
    "accuracy",
    "bayes_layers",
    "bnn_map",
    "brier",
    "build_bnn",
    "build_twin",
    "calibration",
    "csv_columns",
    "csv_preview",
    "draw_noise",
    "draw_probs",
    "ece",
    "entropy",
    "evaluate",
    "feature_grid",
    "features_outside",
    "fit",
    "inside_data",
    "kl_divergence",
    "layer_sizes",
    "likely_label_column",
    "load_builtin",
    "load_run",
    "n_bayes_parameters",
    "nll",
    "point_uncertainty",
    "posterior_uncertainty",
    "predictions_frame",
    "prepare",
    "probe",
    "probe_presets",
    "read_csv",
    "reliability",
    "run_metrics",
    "sample_probs",
    "save_run",
    "span_range",
    "train_run",
    "train_twin",
    "training_median",
    "twin_map",
    "twin_probs",
]
