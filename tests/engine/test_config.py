"""Every setting a user can get wrong is refused with a sentence that names the allowed range."""

from __future__ import annotations

import math

import pytest

from bnn_core import BNNInputError, DataConfig, ModelConfig, RunConfig, TrainConfig


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: ModelConfig(prior_sigma=0.0), r"Prior spread σ₀ must be from 0.001 to 10 \(e.g. 0.1\), got 0.0"),
        (lambda: ModelConfig(prior_sigma=-0.5), "Prior spread σ₀ must be from 0.001 to 10"),
        (lambda: ModelConfig(prior_sigma=math.nan), "Prior spread σ₀ must be a finite number"),
        (lambda: ModelConfig(prior_sigma=math.inf), "Prior spread σ₀ must be a finite number"),
        (lambda: ModelConfig(prior_mu=math.inf), "Prior mean μ₀ must be a finite number"),
        (lambda: ModelConfig(prior_sigma=1e200), "Prior spread σ₀ must be from 0.001 to 10"),
        (lambda: ModelConfig(prior_mu=1e200), "Prior mean μ₀ must be from -5 to 5"),
        (lambda: ModelConfig(prior_sigma=True), "Prior spread σ₀ must be a number"),
        (lambda: ModelConfig(prior_sigma="0.1"), "Prior spread σ₀ must be a number"),
        (lambda: DataConfig(dataset="mnist"), "Unknown dataset 'mnist'"),
        (lambda: ModelConfig(hidden=(0,)), "Hidden units must be from 1 to 1,024"),
        (lambda: ModelConfig(hidden=(10.5,)), "Hidden units must be a whole number"),
        (lambda: ModelConfig(hidden=(8,) * 5), "0 to 4 hidden layers"),
        (lambda: ModelConfig(noise="poisson"), "Noise model must be one of learned, fixed, heteroscedastic"),
        (lambda: ModelConfig(noise_sigma=0), "Noise sigma must be from 0.0001 to 10,000"),
        (lambda: DataConfig(task="ranking"), "Task must be one of classification, regression"),
        (lambda: ModelConfig(activation="swish"), "Activation must be one of relu, tanh, sigmoid"),
        (lambda: TrainConfig(kl_weight=-0.01), "KL weight must be from 0 to 100"),
        (lambda: TrainConfig(kl_weight=101), "KL weight must be from 0 to 100"),
        (lambda: TrainConfig(epochs="10"), "Epochs must be a whole number from 1 to 100,000, got '10'"),
        (lambda: TrainConfig(engine="gpu"), "Engine must be one of fast, torchbnn"),
        (lambda: ModelConfig(hidden=100), r"Hidden units must be a list of unit counts such as \[100\]"),
        (lambda: TrainConfig(epochs=0), "Epochs must be from 1 to 100,000"),
        (lambda: TrainConfig(epochs=100_001), "Epochs must be from 1 to 100,000"),
        (lambda: TrainConfig(lr=0.0), "Learning rate must be from 1e-05 to 1"),
        (lambda: TrainConfig(lr=2.0), "Learning rate must be from 1e-05 to 1"),
        (lambda: TrainConfig(kl_reduction="max"), "KL reduction must be one of mean, sum"),
        (lambda: DataConfig(test_size=0.95), "Test share must be from 0 to 0.9"),
        (lambda: DataConfig(test_size=-0.1), "Test share must be from 0 to 0.9"),
        (lambda: DataConfig(scale="minmax"), "Feature scaling must be one of standard, none"),
        (lambda: RunConfig(samples=0), "Posterior samples must be from 1 to 1,000"),
        (lambda: RunConfig(seed=-1), "Seed must be from 0"),
    ],
)
def test_bad_setting_is_refused_with_a_readable_sentence(make, fragment: str) -> None:
    with pytest.raises(BNNInputError, match=fragment) as caught:
        make()
    message = str(caught.value)
    assert "\n" not in message and message.endswith(".")
    assert isinstance(caught.value, ValueError)


def test_limits_themselves_are_accepted() -> None:
    TrainConfig(epochs=1, kl_weight=0.0)
    TrainConfig(epochs=100_000)
    DataConfig(test_size=0.0)
    DataConfig(test_size=0.9)
    ModelConfig(hidden=(1, 1024, 8, 8), prior_sigma=0.001, prior_mu=-5.0)
    ModelConfig(prior_sigma=10.0, prior_mu=5.0)
    TrainConfig(lr=1e-5, kl_weight=100.0)
    TrainConfig(lr=1.0)
    RunConfig(seed=2**32 - 1, samples=1000)


def test_configs_are_hashable_and_round_trip_through_a_flat_dict() -> None:
    config = RunConfig(
        data=DataConfig(test_size=0.3, scale="none"),
        model=ModelConfig(hidden=[64, 32], activation="tanh", prior_mu=0.5, prior_sigma=0.2),
        train=TrainConfig(epochs=10, lr=0.05, kl_weight=0.1, kl_reduction="sum"),
        seed=7,
        samples=20,
    )
    assert config.model.hidden == (64, 32)  # a list is normalised to a tuple, so the config stays hashable
    assert hash(config) == hash(RunConfig.from_flat(config.to_flat()))
    assert RunConfig.from_flat(config.to_flat()) == config
    assert config.to_flat()["hidden"] == [64, 32]
