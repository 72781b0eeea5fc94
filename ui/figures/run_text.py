"""Words for the run on screen when it is not a gallery preset: where it came from and what it is, for the strip
above every page's charts (a preset has its own line on what to notice)."""

from __future__ import annotations

from bnn_core import TrainedRun
from bnn_core.config import CSV_PREFIX
from bnn_core.data.datasets import EDITED
from bnn_core.model.network import layer_sizes
from bnn_core.settings import weight_text

from ..text import plain


def _data_text(run: TrainedRun) -> str:
    """The data in words (Markdown: a CSV's name is shown as text); an edited regression set says how many points it
    has now."""
    dataset = run.data.dataset
    name = dataset.name.removeprefix(CSV_PREFIX)
    if name.endswith(EDITED):
        clicked = f"with clicked points ({dataset.n_rows} points; Clear brings back the set)"
        return f"{plain(name.removesuffix(EDITED))} {clicked}"
    return plain(name)


def run_caption(run: TrainedRun, origin: str) -> str:
    """One line (Markdown) naming the run: ``origin``, the data, the network, the prior, the KL term, the epochs
    and the seed, then its headline number. ``origin`` may name a file from outside: it is shown as text."""
    config, dataset = run.config, run.data.dataset
    outputs = run.likelihood.n_outputs(dataset.n_classes)
    shape = " → ".join(str(size) for size in layer_sizes(dataset.n_features, outputs, config.model))
    model, train = config.model, config.train
    kl = "no KL term" if train.kl_weight == 0 else f"KL {train.kl_reduction} × {weight_text(train.kl_weight)}"
    return (
        f"**{plain(origin)}:** {_data_text(run)}, {shape} {model.activation}, prior N({model.prior_mu:g}, "
        f"{model.prior_sigma:g}²), {kl}, {train.epochs:,} epochs, seed {config.seed}; {_score(run.metrics)}."
    )


def _score(metrics: dict) -> str:
    """The run's headline number: held-out accuracy or RMSE, or the training rows' without a test split."""
    kind, form = ("rmse", "{:.3g}") if "train_rmse" in metrics else ("accuracy", "{:.1%}")
    split = "test" if metrics.get(f"test_{kind}") is not None else "train"
    return f"{split} {kind.upper() if kind == 'rmse' else kind} {form.format(metrics[f'{split}_{kind}'])}"
