"""The Methods page's paragraph names this run's own posterior: a KL weight of 0 is no posterior, the article's KL
a cold one, the textbook ELBO nothing to remark on."""

from __future__ import annotations

import pytest

from bnn_core import RunConfig, TrainConfig, load_builtin, train_run
from bnn_core.methods.alternatives import train_method
from bnn_core.methods.compare import compare
from bnn_core.methods.options import MethodsConfig
from ui.figures.methods import explain


@pytest.mark.parametrize(("train", "words"), [
    (TrainConfig(epochs=300, kl_weight=0.0, kl_reduction="mean"), "This run's BNN has no posterior at all"),
    (TrainConfig(epochs=300, kl_weight=0.01, kl_reduction="mean"), "This run's BNN has a cold posterior"),
    (TrainConfig(epochs=300), None),
])  # fmt: skip
def test_the_paragraph_names_the_runs_own_posterior(train: TrainConfig, words: str | None) -> None:
    run = train_run(load_builtin("two_moons"), RunConfig(train=train, samples=20))
    table = compare([train_method(run, "bnn", MethodsConfig())], run.data, run.config.seed)
    text = explain(table, run)
    if words is None:
        assert "This run's BNN has" not in text
    else:
        assert words in text and "article's KL" not in text
