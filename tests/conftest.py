"""Shared fixtures: small, quick runs reused across tests."""

from __future__ import annotations

import pytest

from bnn_core import Dataset, RunConfig, TrainConfig, TrainedRun, load_builtin, train_run


@pytest.fixture(scope="session")
def iris() -> Dataset:
    return load_builtin("iris")


@pytest.fixture(scope="session")
def quick_run(iris: Dataset) -> TrainedRun:
    """A 4→100→3 BNN trained for 300 steps on 80% of iris (about a second)."""
    return train_run(iris, RunConfig(train=TrainConfig(epochs=300), samples=50))
