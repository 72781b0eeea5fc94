"""fit(): determinism, progress, cancellation, divergence and the deterministic twin."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bnn_core import (
    BNNInputError,
    DataConfig,
    ModelConfig,
    Progress,
    TrainConfig,
    build_bnn,
    build_twin,
    fit,
    load_builtin,
    prepare,
)
from bnn_core.engine.train import REPORT_SECONDS, next_block


@pytest.fixture(scope="module")
def iris_tensors() -> tuple[torch.Tensor, torch.Tensor]:
    data = prepare(load_builtin("iris"), DataConfig(test_size=0.0), seed=0)
    return data.x, data.y


def _fit(x: torch.Tensor, y: torch.Tensor, seed: int, **train) -> tuple[torch.nn.Sequential, object]:
    model = build_bnn(4, 3, ModelConfig(), seed=seed)
    return model, fit(model, x, y, TrainConfig(**{"epochs": 60, **train}), seed=seed)


def test_same_seed_repeats_the_run_exactly(iris_tensors) -> None:
    x, y = iris_tensors
    model_a, result_a = _fit(x, y, seed=3)
    model_b, result_b = _fit(x, y, seed=3)
    np.testing.assert_array_equal(result_a.history.total, result_b.history.total)
    for a, b in zip(model_a.state_dict().values(), model_b.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    _, result_c = _fit(x, y, seed=4)
    assert not np.array_equal(result_a.history.total, result_c.history.total)


def test_history_records_every_step_and_the_loss_is_ce_plus_weighted_kl(iris_tensors) -> None:
    x, y = iris_tensors
    for engine in ("fast", "torchbnn"):
        _, result = _fit(x, y, seed=0, kl_weight=0.002, kl_reduction="sum", engine=engine)
        history = result.history
        assert result.steps == len(history.ce) == 60 and not result.cancelled
        np.testing.assert_allclose(history.total, history.ce + 0.002 * history.kl, rtol=1e-5)
        assert history.ce[-10:].mean() < history.ce[:10].mean()
        assert history.frame().columns.tolist() == ["step", "ce", "kl", "total", "train_accuracy"]
        assert result.train_seconds > 0 and result.engine == engine


def test_progress_is_reported_every_k_steps_and_at_the_end(iris_tensors) -> None:
    x, y = iris_tensors
    seen: list[Progress] = []
    model = build_bnn(4, 3, ModelConfig(), seed=0)
    result = fit(model, x, y, TrainConfig(epochs=25), seed=0, on_progress=seen.append, progress_every=10)
    assert [p.step for p in seen] == [10, 20, 25]
    assert all(p.epochs == 25 for p in seen)
    assert seen[-1].ce == pytest.approx(result.history.ce[-1])
    assert seen[-1].train_accuracy == pytest.approx(result.history.train_accuracy[-1])


def test_the_compiled_loop_reports_about_every_tenth_of_a_second_by_default(iris_tensors) -> None:
    """Without ``progress_every`` a report comes once REPORT_SECONDS have passed since the one before, and at the
    last step."""
    x, y = iris_tensors
    seen: list[Progress] = []
    model = build_bnn(4, 3, ModelConfig(), seed=0)
    fit(model, x, y, TrainConfig(epochs=3000), seed=0, on_progress=seen.append)
    assert seen[-1].step == 3000
    gaps = np.diff([0.0, *(p.elapsed for p in seen[:-1])])
    assert all(gap >= REPORT_SECONDS for gap in gaps)


def test_a_block_is_sized_to_last_a_tenth_of_a_second() -> None:
    assert REPORT_SECONDS == 0.1
    assert next_block(100, 1.0) == 10  # 100 steps a second: 10 in 0.1 s
    assert next_block(1000, 0.1) == 1000
    assert next_block(10, 0.0001) == 100  # 1,000,000 steps a second, but at most 10× the last block
    assert next_block(5, 10.0) == 1  # never fewer than one step
    assert next_block(3, 0.0) == 30  # a block too quick to time


def test_the_run_is_the_same_whatever_the_blocks(iris_tensors) -> None:
    """The compiled loop draws step t's noise at stream position t, so where the reports fall changes nothing."""
    x, y = iris_tensors
    runs = []
    for every in (None, 7, 500):
        model = build_bnn(4, 3, ModelConfig(), seed=2)
        result = fit(model, x, y, TrainConfig(epochs=500), seed=5, on_progress=lambda _: None, progress_every=every)
        runs.append((result.history.total, model.state_dict()))
    for history, weights in runs[1:]:
        np.testing.assert_array_equal(history, runs[0][0])
        for a, b in zip(weights.values(), runs[0][1].values(), strict=True):
            assert torch.equal(a, b)


def test_the_callback_can_stop_training(iris_tensors) -> None:
    x, y = iris_tensors
    model = build_bnn(4, 3, ModelConfig(), seed=0)
    result = fit(model, x, y, TrainConfig(epochs=1000), seed=0, on_progress=lambda p: p.step >= 30, progress_every=10)
    assert result.cancelled and result.steps == 30 and len(result.history.ce) == 30


@pytest.mark.parametrize("engine", ["fast", "torchbnn"])
def test_a_diverging_run_names_the_setting_to_change(iris_tensors, engine: str) -> None:
    """The settings' bounds keep the app's runs finite; a network built by hand can still blow up."""
    x, y = iris_tensors
    model = build_bnn(4, 3, ModelConfig(), seed=0)
    with torch.no_grad():
        model[0].weight_log_sigma.fill_(800.0)  # σ = e⁸⁰⁰ overflows: the first step's loss is not finite
    with pytest.raises(BNNInputError, match=r"Training diverged at step 1: the loss became .*learning rate \(now 1\)"):
        fit(model, x, y, TrainConfig(epochs=50, lr=1.0, engine=engine), seed=0, progress_every=5)


def test_fit_leaves_the_global_rng_alone(iris_tensors) -> None:
    x, y = iris_tensors
    torch.manual_seed(1)
    before = torch.random.get_rng_state()
    _fit(x, y, seed=0)
    assert torch.equal(before, torch.random.get_rng_state())


def test_the_deterministic_twin_trains_with_the_same_loop(iris_tensors) -> None:
    x, y = iris_tensors
    twin = build_twin(4, 3, ModelConfig(), seed=0)
    result = fit(twin, x, y, TrainConfig(epochs=300), seed=0)
    assert (result.history.kl == 0).all()
    assert (twin(x).argmax(1) == y).float().mean() > 0.9


def test_train_run_uses_independent_streams_and_records_the_dataset(iris) -> None:
    from bnn_core import RunConfig, seeds, train_run

    streams = (seeds.SPLIT, seeds.INIT, seeds.TRAIN_NOISE, seeds.DRAWS, seeds.TWIN_INIT)
    assert len({seeds.stream_seed(0, stream) for stream in streams}) == 5
    wine = train_run(load_builtin("wine"), RunConfig(train=TrainConfig(epochs=5), samples=3))
    assert wine.config.data.dataset == "wine"


def test_evaluation_in_chunks_gives_the_same_numbers(quick_run, monkeypatch: pytest.MonkeyPatch) -> None:
    from bnn_core import evaluate
    from bnn_core.posterior import evaluation

    monkeypatch.setattr(evaluation, "_EVALUATION_FLOATS", 7 * 50 * 3)  # 7 rows per chunk
    chunked = evaluate(quick_run.model, quick_run.data, quick_run.config.samples, quick_run.config.seed)
    whole = quick_run.evaluation
    torch.testing.assert_close(chunked.uncertainty.mean_probs, whole.uncertainty.mean_probs)
    torch.testing.assert_close(chunked.uncertainty.epistemic, whole.uncertainty.epistemic)
    torch.testing.assert_close(chunked.uncertainty.variation_ratio, whole.uncertainty.variation_ratio)
    torch.testing.assert_close(chunked.first_draw, whole.first_draw)
