"""Health checks on a finished run: each problem found is one sentence with the fix it suggests.

They read only a run's settings and ``metrics.json``, so a saved run can be checked as well as a new one:

- **not converged**: σ or the loss was still moving when training stopped (:mod:`bnn_core.engine.schedule`);
- **not the Bayesian posterior**: the KL term weighs the prior far from what Bayes' rule says. With ``sum``
  the ELBO ÷ N weighs it 1/N; a weight w weighs it w·N times that (w·N/P times with ``mean``, which divides
  the KL by the P weights). Below 1 the posterior is *cold*, narrower than Bayes' (Wenzel et al. 2020, "How
  good is the Bayes posterior in deep neural networks really?"); above 1 it is *tempered*, wider;
- **no better than knowing nothing**: held-out RMSE no better than predicting the training mean, or NLL no
  better than predicting the training class shares: the posterior has collapsed to the prior, or (when the
  accuracy is good) a few answers are confidently wrong;
- **intervals off**: the held-out coverage of the 90% intervals is outside what chance allows for that many
  rows (a two-sided 99% binomial range), so the bands are too narrow or too wide.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scipy.stats import binom

from ..config import RunConfig
from ..settings import per_row_factor, weight_text

FAR_FROM_BAYES = 2.0  # a prior weighed more than this many times off Bayes' (either way) is named
NO_BETTER = 0.95  # held-out RMSE or NLL above this share of the know-nothing baseline counts as no better
COVERAGE_LEVEL = 0.9
CHANCE = 0.01  # coverage outside the central 1 − CHANCE binomial range for the held-out rows is off


def prior_factor(config: RunConfig, train_rows: int, bayes_parameters: int) -> float:
    """How many times Bayes' rule's weight the KL term gives the prior: 1 for KL ``sum`` weighted 1/N."""
    train = config.train
    factor = per_row_factor(train.kl_weight)
    weight_times_n = factor if factor is not None else float(train.kl_weight) * train_rows
    return weight_times_n / bayes_parameters if train.kl_reduction == "mean" else weight_times_n


def posterior_kind(config: RunConfig, train_rows: int, bayes_parameters: int) -> str:
    """What the KL term makes of the posterior, in words: "the Bayesian posterior", "a cold posterior (…)", …"""
    factor = prior_factor(config, train_rows, bayes_parameters)
    if factor == 0:
        return "no posterior at all: with KL weight 0 there is no prior, and σ only shrinks"
    if abs(factor - 1) < 1e-9:
        return "the Bayesian posterior (KL sum, weight 1/N)"
    kind = "a cold posterior, narrower than Bayes'" if factor < 1 else "a tempered posterior, wider than Bayes'"
    how = f"KL {config.train.kl_reduction}, weight {weight_text(config.train.kl_weight)}"
    return f"{kind}: the prior counts {_times(factor)} what Bayes' rule gives it ({how})"


def health_checks(config: RunConfig, metrics: Mapping[str, Any]) -> list[str]:
    """One sentence, with its fix, per problem of a run with these settings and metrics; [] when there is none."""
    problems = [*_convergence(metrics), *_prior(config, metrics)]
    if "test_rmse" in metrics or "train_rmse" in metrics:
        problems += [*_no_better_regression(metrics), *_coverage(metrics)]
    else:
        problems += _no_better_classification(metrics)
    return problems


def _convergence(metrics: Mapping[str, Any]) -> list[str]:
    if metrics.get("converged") is not False:
        return []
    note = str(metrics.get("convergence_note") or "training stopped before σ and the loss settled.")
    return [f"Not converged: {note} More epochs, with the decay schedule (the default), let it settle."]


def _prior(config: RunConfig, metrics: Mapping[str, Any]) -> list[str]:
    rows, parameters = metrics.get("train_rows"), metrics.get("bayes_parameters")
    if not rows or not parameters:
        return []
    factor = prior_factor(config, int(rows), int(parameters))
    if 1 / FAR_FROM_BAYES <= factor <= FAR_FROM_BAYES:
        return []
    return [
        f"Not the Bayesian posterior: this is {posterior_kind(config, int(rows), int(parameters))}. "
        "KL sum with weight 1/N gives the posterior itself; a weight tune chose trades that for held-out NLL."
    ]


def _no_better_regression(metrics: Mapping[str, Any]) -> list[str]:
    rmse = metrics.get("test_rmse") if metrics.get("metrics_on") == "test" else metrics.get("train_rmse")
    baseline = metrics.get("baseline_rmse")
    if rmse is None or not baseline or rmse < NO_BETTER * baseline:
        return []
    return [
        f"No better than the training mean: held-out RMSE {rmse:.3g} against {baseline:.3g} for always predicting "
        "the training targets' mean, so the posterior has collapsed to the prior. Lower the KL weight (e.g. 0.1/N) "
        "or the prior σ₀, or run tune."
    ]


def _no_better_classification(metrics: Mapping[str, Any]) -> list[str]:
    nll, baseline = metrics.get("nll"), metrics.get("baseline_nll")
    if nll is None or not baseline or nll < NO_BETTER * baseline:
        return []
    accuracy = metrics.get("test_accuracy") if metrics.get("metrics_on") == "test" else metrics.get("train_accuracy")
    guess = metrics.get("baseline_accuracy")
    if accuracy is not None and guess is not None and accuracy > guess + 0.1:
        return [
            f"Confidently wrong: held-out NLL {nll:.3f} is no better than {baseline:.3f} for predicting the training "
            f"rows' class shares, though {accuracy:.0%} of the rows are right (against {guess:.0%} for always "
            "guessing the commonest class): a few wrong answers are given with near certainty. A prior (KL sum, "
            "weight 1/N) keeps the posterior from that."
        ]
    return [
        f"No better than the class shares: held-out NLL {nll:.3f} against {baseline:.3f} for predicting the "
        "training rows' class shares everywhere, so the prior leaves the data no say. Widen the prior σ₀ or lower "
        "the KL weight, or run tune."
    ]


def chance_range(level: float, rows: int) -> tuple[float, float]:
    """The shares of ``rows`` held-out rows that intervals of coverage ``level`` cover by chance: the central
    1 − CHANCE range of Binomial(rows, level), as shares. 4 rows allow 50%–100% at 90%; 100 rows, 82%–97%."""
    low, high = binom.interval(1 - CHANCE, int(rows), level)
    return float(low) / rows, float(high) / rows


def _coverage(metrics: Mapping[str, Any]) -> list[str]:
    rows, covered = metrics.get("held_out_rows"), metrics.get(f"coverage_{round(COVERAGE_LEVEL * 100)}")
    if metrics.get("metrics_on") != "test" or not rows or covered is None:
        return []
    low, high = chance_range(COVERAGE_LEVEL, int(rows))
    if low <= covered <= high:
        return []
    way = "narrow: overconfident" if covered < low else "wide"
    return [
        f"The 90% intervals cover {covered:.0%} of the {rows} held-out rows, where 90% intervals cover "
        f"{low:.0%}–{high:.0%} of that many by chance: the bands are too {way}. Run tune, which picks σ₀ and the "
        "KL weight by held-out NLL."
    ]


def _times(factor: float) -> str:
    return f"{factor:.2g}×" if factor < 10 else f"{factor:,.0f}×"
