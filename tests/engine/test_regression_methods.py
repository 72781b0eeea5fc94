"""The alternatives on a regression run and their table, against independent computations: least squares for a
linear network, a hand count of the interval coverage, a brute-force search of the data's gap, and the run's own
metrics."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy.stats import norm

from bnn_core import BNNInputError, RunConfig, TrainedRun, train_run
from bnn_core.cli import main
from bnn_core.config import DataConfig, ModelConfig, TrainConfig
from bnn_core.data.datasets import Dataset, load_builtin
from bnn_core.methods.hmc import HMCConfig
from bnn_core.methods.options import MethodsConfig
from bnn_core.methods.regression import (
    RegressionPredictor,
    bnn_regression,
    hmc_regression,
    plain_regression,
    train_regression_ensemble,
    train_regression_method,
    train_regression_twin,
)
from bnn_core.methods.regression_table import (
    COLUMNS,
    compare_regression,
    evaluate_regression_method,
    gap_inputs,
    gap_ratio,
    middle_over_edges,
)

SMALL = RunConfig(
    data=DataConfig(dataset="sine_gap", task="regression"),
    model=ModelConfig(hidden=(8,), noise="fixed", noise_sigma=0.1),
    train=TrainConfig(epochs=400),
    samples=30,
)


@pytest.fixture(scope="module")
def run() -> TrainedRun:
    return train_run(load_builtin("sine_gap"), SMALL)


def _constant(mean: float, sigma: float, spread: torch.Tensor | None = None) -> RegressionPredictor:
    """A made-up method: at every input the mean ± ``spread(x)`` (two draws), noise σ."""

    def draws(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        half = torch.zeros(len(x), dtype=torch.float64) if spread is None else spread(x)
        means = torch.stack([mean + half, mean - half])  # (2, N): std over the draws is |half|
        return means, torch.full_like(means, sigma)

    return RegressionPredictor("plain", 0.0, draws)


def test_a_linear_network_fits_least_squares_and_learns_the_residual_noise() -> None:
    """No hidden layer, a learned σ: the plain twin's line is the least-squares line and σ the residuals' RMS."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (40, 1))
    y = 1.5 * x[:, 0] - 0.5 + rng.normal(0, 0.3, 40)
    dataset = Dataset("csv:line", x, y, ("x",), ())
    config = RunConfig(data=DataConfig(test_size=0.0, task="regression"), model=ModelConfig(hidden=()),
                       train=TrainConfig(epochs=3000, lr=0.05, schedule="constant"), samples=5)  # fmt: skip
    linear = train_run(dataset, config)
    twin = train_regression_twin(linear)
    design = np.hstack([x, np.ones((40, 1))])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coef
    bands = plain_regression(twin).bands(linear.data.x)
    fitted = linear.data.to_target_units(bands.mean)
    np.testing.assert_allclose(fitted, design @ coef, atol=1e-3)
    sigma = float(linear.data.to_target_units(bands.aleatoric, spread=True)[0])
    assert sigma == pytest.approx(float(np.sqrt(np.mean(residual**2))), rel=1e-3)
    assert float(bands.epistemic.max()) == 0.0  # one network


def test_an_ensemble_of_identical_keys_has_no_epistemic_std(run: TrainedRun) -> None:
    same = train_regression_ensemble(run, [7, 7, 7])
    bands = same.bands(run.data.x)
    assert float(np.abs(bands.epistemic).max()) == 0.0
    plain = plain_regression(train_regression_twin(run, key=7)).bands(run.data.x)
    np.testing.assert_array_equal(bands.mean, plain.mean)


def test_coverage_rmse_and_nll_against_a_hand_count(run: TrainedRun) -> None:
    """Mean 0 and σ 0.5 everywhere (in the units trained in): each test target counted in or out by hand."""
    row = evaluate_regression_method(_constant(0.0, 0.5), run.data)
    test = np.flatnonzero(run.data.is_test)
    scaled = [float(run.data.y[i]) for i in test]  # the targets as the network sees them
    z = norm.ppf(0.95)
    inside = sum(1 for value in scaled if -z * 0.5 <= value <= z * 0.5)
    assert row.coverage_90 == inside / len(test) and row.rows == len(test) and row.on == "test"
    y = run.data.dataset.y[test]
    mean = run.data.to_target_units(np.zeros(1))[0]
    sigma = 0.5 * run.data.target_std
    assert row.rmse == pytest.approx(math.sqrt(sum((v - mean) ** 2 for v in y) / len(y)), rel=1e-9)
    assert row.nll == pytest.approx(-float(np.mean(norm.logpdf(y, mean, sigma))), rel=1e-6)
    assert math.isnan(row.gap_ratio)  # no spread between draws: 0 / 0


def _brute_force_gap(values: np.ndarray) -> tuple[float, float]:
    """The widest interval between two training inputs with none strictly inside, over every pair."""
    best = (0.0, 0.0)
    for a in values:
        for b in values:
            if b > a and not ((values > a) & (values < b)).any() and b - a > best[1] - best[0]:
                best = (float(a), float(b))
    return best


def test_the_gap_ratio_against_a_brute_force_search(run: TrainedRun) -> None:
    """On cubic the gap is the widest one between training inputs; on sine_gap it is the designed (−1, 1). The
    made-up method's epistemic std is |1 + x| in the scaled input, so the ratio is known at any three points."""

    def spread(x: torch.Tensor) -> torch.Tensor:
        return (1.0 + x[:, 0].double()).abs()

    cubic = train_run(load_builtin("cubic"), replace(SMALL, data=DataConfig(dataset="cubic", task="regression")))
    low, high = _brute_force_gap(cubic.data.dataset.x[~cubic.data.is_test, 0])
    for data, (a, b) in ((cubic.data, (low, high)), (run.data, (-1.0, 1.0))):
        np.testing.assert_allclose(gap_inputs(data)[:, 0], [a, (a + b) / 2, b])
        at = spread(data.inputs(np.array([[a], [(a + b) / 2], [b]]))).numpy()
        expected = at[1] / max(at[0], at[2])
        assert gap_ratio(_constant(0.0, 0.1, spread), data) == pytest.approx(expected, rel=1e-6)
    assert middle_over_edges(np.array([1.0, 3.0, 2.0])) == 1.5
    assert math.isnan(middle_over_edges(np.zeros(3)))


def test_the_bnn_row_is_the_runs_own_metrics(run: TrainedRun) -> None:
    """The same draws; the run computed them on every row at once, in float32, so the last digits differ."""
    row = evaluate_regression_method(bnn_regression(run), run.data)
    assert row.rmse == pytest.approx(run.metrics["test_rmse"], rel=1e-6)
    assert row.nll == pytest.approx(run.metrics["nll"], rel=1e-6)
    assert row.coverage_90 == run.metrics["coverage_90"]


def test_the_laplace_row_is_finite_and_covers_between_0_and_1(run: TrainedRun) -> None:
    settings = MethodsConfig(ensemble_members=2)
    predictors = [train_regression_method(run, method, settings) for method in ("bnn", "plain", "laplace")]
    table = compare_regression(predictors, run.data)
    assert list(table["method"]) == ["BNN (torchbnn)", "plain network", "Laplace"]
    laplace = table.iloc[2]
    assert all(np.isfinite(float(laplace[column])) for column in ("rmse", "nll", "coverage_90", "gap_ratio"))
    assert 0.0 <= laplace["coverage_90"] <= 1.0 and laplace["gap_ratio"] > 0
    assert set(COLUMNS) <= set(table.columns)


def test_mc_dropout_trains_on_the_gaussian_nll_and_learns_its_noise() -> None:
    """A learned σ is trained with the dropout network: it leaves its start (the targets' std, 1 when scaled)."""
    learned = train_run(load_builtin("cubic"), replace(SMALL, data=DataConfig(dataset="cubic", task="regression"),
                                                        model=ModelConfig(hidden=(8,))))  # fmt: skip
    dropout = train_regression_method(learned, "dropout", MethodsConfig(dropout_samples=10))
    means, sigmas = dropout.draws(learned.data.x)
    assert means.shape == sigmas.shape == (10, learned.data.dataset.n_rows)
    assert float(means.std(dim=0).mean()) > 0  # the masks disagree
    assert float(sigmas[0, 0]) < 0.9


def test_the_regression_methods_refuse_what_does_not_apply(run: TrainedRun) -> None:
    iris = train_run(load_builtin("iris"), RunConfig(train=TrainConfig(epochs=5), samples=2))
    with pytest.raises(BNNInputError, match="this run is a classification"):
        train_regression_method(iris, "plain", MethodsConfig())
    hetero = replace(SMALL, model=ModelConfig(hidden=(8,), noise="heteroscedastic"), train=TrainConfig(epochs=5))
    with pytest.raises(BNNInputError, match="needs one noise σ"):
        train_regression_method(train_run(load_builtin("sine_gap"), hetero), "laplace", MethodsConfig())
    learned = replace(SMALL, model=ModelConfig(hidden=(8,)), train=TrainConfig(epochs=5))
    with pytest.raises(BNNInputError, match="fixed noise σ only"):
        hmc_regression(train_run(load_builtin("sine_gap"), learned))


def test_an_hmc_row_for_a_small_network_with_a_fixed_noise(run: TrainedRun) -> None:
    """Short chains (2 × (30 + 30)): the reference's draws, with the run's fixed σ as the noise."""
    hmc = hmc_regression(run, HMCConfig(samples=30, warmup=30, chains=2))
    means, sigmas = hmc.draws(run.data.x)
    assert means.shape == (60, run.data.dataset.n_rows)
    assert torch.allclose(sigmas, torch.tensor(0.1 / run.data.target_std, dtype=torch.float64))
    assert hmc.detail.startswith("60 draws, R-hat ≤ ")


def test_cli_compare_on_sine_gap_prints_the_regression_table_and_writes_it(tmp_path, capsys) -> None:
    out = tmp_path / "table.csv"
    code = main(["compare", "--dataset", "sine_gap", "--hidden", "8", "--noise", "fixed", "--noise-sigma", "0.1",
                 "--epochs", "300", "--samples", "20", "--methods", "plain,ensemble,laplace", "--members", "2",
                 "--out", str(out)])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    for name in ("BNN (torchbnn)", "plain network", "deep ensemble", "Laplace", "90% coverage", "gap ratio"):
        assert name in printed.out
    assert out.read_text().count("\n") == 5  # a header and four methods


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--methods", "bnn,gp"], "--methods takes names from bnn, plain"),
        (["--methods", "hmc"], "HMC samples regression with a fixed noise σ only"),
        (["--methods", "hmc", "--noise", "fixed", "--hidden", "64"], "HMC is offered for networks of at most"),
        (["--members", "1"], "The number of ensemble members M must be a whole number from 2 to 20"),
    ],
)
def test_cli_compare_refuses_bad_input_in_one_sentence_before_training(flags: list[str], words: str, capsys) -> None:
    assert main(["compare", "--dataset", "sine_gap", "--epochs", "100000", *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0] and err[0].count(". ") <= 1, err


def test_cli_compare_leaves_out_an_hmc_row_that_does_not_apply_when_not_asked(capsys) -> None:
    code = main(["compare", "--dataset", "sine_gap", "--hidden", "64", "--epochs", "50", "--samples", "5",
                 "--members", "2", "--dropout-samples", "2"])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "note: no HMC row: HMC samples regression with a fixed noise σ only" in printed.err
    assert "HMC reference" not in printed.out and "MC dropout" in printed.out
