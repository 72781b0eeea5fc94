"""bnn_core: Bayesian neural networks with torchbnn, from data to calibrated uncertainty.

The engine behind the dashboard. It never imports Streamlit. Typical use::

    from bnn_core import RunConfig, load_builtin, train_run, save_run

    run = train_run(load_builtin("iris"), RunConfig())
    print(run.metrics["test_accuracy"])
    save_run(run, "runs/iris")
"""

from .config import (
    ACTIVATIONS,
    KL_REDUCTIONS,
    MAX_EPOCHS,
    MAX_HIDDEN_LAYERS,
    MAX_HIDDEN_UNITS,
    MAX_SAMPLES,
    MAX_TEST_SIZE,
    SCALINGS,
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
)
from .data import (
    BUILTIN_DATASETS,
    MAX_CLASSES,
    MAX_FEATURES,
    MAX_ROWS,
    Dataset,
    PreparedData,
    Scaler,
    load_builtin,
    prepare,
    read_csv,
)
from .errors import BNNInputError
from .experiment import Evaluation, TrainedRun, evaluate, predictions_frame, run_metrics, train_run
from .model import bayes_layers, build_bnn, build_twin, kl_divergence, layer_sizes, n_bayes_parameters
from .runs import LoadedRun, load_run, save_run
from .sample import draw_noise, draw_probs, sample_probs, twin_probs
from .train import FitResult, History, Progress, fit
from .uncertainty import (
    PointUncertainty,
    ReliabilityBins,
    accuracy,
    brier,
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
    "KL_REDUCTIONS",
    "MAX_CLASSES",
    "MAX_EPOCHS",
    "MAX_FEATURES",
    "MAX_HIDDEN_LAYERS",
    "MAX_HIDDEN_UNITS",
    "MAX_ROWS",
    "MAX_SAMPLES",
    "MAX_TEST_SIZE",
    "SCALINGS",
    "BNNInputError",
    "DataConfig",
    "Dataset",
    "Evaluation",
    "FitResult",
    "History",
    "LoadedRun",
    "ModelConfig",
    "PointUncertainty",
    "PreparedData",
    "Progress",
    "ReliabilityBins",
    "RunConfig",
    "Scaler",
    "TrainConfig",
    "TrainedRun",
    "__version__",
    "accuracy",
    "bayes_layers",
    "brier",
    "build_bnn",
    "build_twin",
    "draw_noise",
    "draw_probs",
    "ece",
    "entropy",
    "evaluate",
    "fit",
    "kl_divergence",
    "layer_sizes",
    "load_builtin",
    "load_run",
    "n_bayes_parameters",
    "nll",
    "point_uncertainty",
    "predictions_frame",
    "prepare",
    "read_csv",
    "reliability",
    "run_metrics",
    "sample_probs",
    "save_run",
    "train_run",
    "twin_probs",
]
