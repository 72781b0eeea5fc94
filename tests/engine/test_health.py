"""The health checks: each fires on the problem it names and stays silent on a healthy run."""

from __future__ import annotations

import math

import pytest

from bnn_core import RunConfig, TrainConfig, with_article_training
from bnn_core.posterior.health import chance_range, health_checks, posterior_kind, prior_factor

HEALTHY_CLASSIFICATION = {
    "converged": True, "convergence_note": "", "train_rows": 120, "held_out_rows": 30, "bayes_parameters": 803,
    "nll": 0.08, "baseline_nll": 1.10, "test_accuracy": 0.97, "train_accuracy": 0.98, "baseline_accuracy": 0.33,
    "metrics_on": "test",
}  # fmt: skip
HEALTHY_REGRESSION = {
    "converged": True, "convergence_note": "", "train_rows": 455, "held_out_rows": 51, "bayes_parameters": 751,
    "test_rmse": 3.4, "train_rmse": 2.0, "baseline_rmse": 9.2, "coverage_90": 0.92, "metrics_on": "test",
}  # fmt: skip


def test_a_healthy_run_has_no_warning() -> None:
    assert health_checks(RunConfig(), HEALTHY_CLASSIFICATION) == []
    assert health_checks(RunConfig(), HEALTHY_REGRESSION) == []


def test_not_converged_says_what_was_moving_and_the_fix() -> None:
    note = "σ was still shrinking at step 3,000 (by 9% over the last 1,000 steps at lr 0.01): the bands are wider."
    (problem,) = health_checks(RunConfig(), {**HEALTHY_CLASSIFICATION, "converged": False, "convergence_note": note})
    assert problem.startswith("Not converged: σ was still shrinking at step 3,000") and "More epochs" in problem


@pytest.mark.parametrize(
    ("train", "words", "factor"),
    [
        ({"kl_weight": 0.01, "kl_reduction": "mean"}, "a cold posterior", 0.01 * 120 / 803),
        ({"kl_weight": "3/N"}, "a tempered posterior", 3.0),
        ({"kl_weight": "0.1/N"}, "a cold posterior", 0.1),
        ({"kl_weight": 0.0}, "no posterior at all", 0.0),
    ],
)
def test_a_prior_far_from_bayes_is_named_cold_tempered_or_absent(train: dict, words: str, factor: float) -> None:
    config = RunConfig(train=TrainConfig(**train))
    assert prior_factor(config, 120, 803) == pytest.approx(factor)
    (problem,) = health_checks(config, HEALTHY_CLASSIFICATION)
    assert problem.startswith("Not the Bayesian posterior") and words in problem


def test_the_textbook_elbo_and_a_weight_near_it_are_the_bayesian_posterior() -> None:
    assert posterior_kind(RunConfig(), 120, 803).startswith("the Bayesian posterior")
    near = RunConfig(train=TrainConfig(kl_weight=1.5 / 120))  # 1.5×: tempered, but within the 2× not warned about
    assert health_checks(near, HEALTHY_CLASSIFICATION) == []
    assert "a tempered posterior" in posterior_kind(near, 120, 803)


def test_the_articles_settings_are_cold_and_named_so() -> None:
    article = with_article_training(RunConfig())
    assert "0.0015×" in posterior_kind(article, 120, 803)


def test_no_better_than_the_training_mean_is_a_collapse() -> None:
    (problem,) = health_checks(RunConfig(), {**HEALTHY_REGRESSION, "test_rmse": 29.1, "baseline_rmse": 18.1})
    assert problem.startswith("No better than the training mean") and "collapsed to the prior" in problem


def test_no_better_than_the_class_shares_is_a_collapse_or_overconfidence() -> None:
    collapsed = {**HEALTHY_CLASSIFICATION, "nll": 1.099, "baseline_nll": 1.099, "test_accuracy": 0.33}
    (problem,) = health_checks(RunConfig(), collapsed)
    assert problem.startswith("No better than the class shares")
    overconfident = {**HEALTHY_CLASSIFICATION, "nll": 1.09, "baseline_nll": 1.099, "test_accuracy": 0.875}
    (problem,) = health_checks(RunConfig(), overconfident)
    assert problem.startswith("Confidently wrong")


def test_coverage_outside_what_chance_allows_is_named_and_a_few_rows_say_little() -> None:
    (problem,) = health_checks(RunConfig(), {**HEALTHY_REGRESSION, "held_out_rows": 100, "coverage_90": 0.45})
    assert "cover 45% of the 100 held-out rows" in problem and "too narrow" in problem
    assert health_checks(RunConfig(), {**HEALTHY_REGRESSION, "held_out_rows": 4, "coverage_90": 0.5}) == []


@pytest.mark.parametrize("rows", [4, 20, 51, 100])
def test_the_chance_range_is_the_binomial_one_by_brute_force(rows: int) -> None:
    """The central 99% range of Binomial(n, 0.9), from the probabilities summed one count at a time."""
    pmf = [math.comb(rows, k) * 0.9**k * 0.1 ** (rows - k) for k in range(rows + 1)]
    cdf = [sum(pmf[: k + 1]) for k in range(rows + 1)]
    low = next(k for k in range(rows + 1) if cdf[k] >= 0.005)
    high = next(k for k in range(rows + 1) if cdf[k] >= 0.995)
    assert chance_range(0.9, rows) == (low / rows, high / rows)
