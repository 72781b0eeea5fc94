"""The main page through Streamlit's AppTest: first visit, Train, Resample, errors and session isolation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bnn_core import Dataset, RunConfig, TrainConfig, TrainedRun, draw_probs, read_csv, train_run
from bnn_core.runs.gallery import PRESETS_BY_SLUG
from tests.support.apptest import APP, TIMEOUT, charts, opened, press_train, read
from ui import sources, state

ARTICLE = PRESETS_BY_SLUG["article"].config  # the run a first visit shows

ROOT = Path(__file__).resolve().parents[2]


def _sample_chart(at: AppTest) -> dict:
    return next(spec for title, spec in charts(at).items() if title.startswith("Posterior sample #"))


def _page(run: TrainedRun | None = None) -> AppTest:
    return opened(**({} if run is None else {state.RUN: run}))


@pytest.fixture(scope="module")
def small_run(iris: Dataset) -> TrainedRun:
    return train_run(iris, RunConfig(train=TrainConfig(epochs=200), samples=30))


def test_first_visit_shows_the_gallery_article_run_without_training() -> None:
    shipped = json.loads((ROOT / "gallery" / "article" / "metrics.json").read_text())
    at = _page()
    assert not at.exception
    run = at.session_state[state.RUN]
    assert run.config == ARTICLE  # the defaults: the article's network on iris
    assert at.session_state[state.PRESET] == "article"
    assert run.metrics["train_seconds"] == shipped["train_seconds"]  # read from the gallery, not trained now
    titles = set(charts(at))
    assert {"True labels", "Posterior sample #0"} <= titles
    assert "Bayesian network" in at.markdown[0].value
    assert at.query_params["preset"] == "article"


@pytest.mark.slow
def test_train_with_few_epochs_draws_charts_and_metrics(small_run: TrainedRun) -> None:
    at = _page(small_run)
    at.number_input(key="form_epochs").set_value(40)
    at.text_input(key="form_kl_weight").input("0.1")
    at.number_input(key="form_seed").set_value(7)
    press_train(at)
    assert not at.exception and not at.error
    run = at.session_state[state.RUN]
    assert run.config.train.epochs == 40 and run.config.train.kl_weight == 0.1 and run.config.seed == 7
    assert run.fit.steps == 40 and not run.fit.cancelled
    assert len(charts(at)) == 3  # true labels, sample #0, training curves
    labels = {m.label: m.value for m in at.metric}
    assert labels["Train accuracy"].endswith("%") and labels["Test accuracy"].endswith("%")
    assert labels["Final CE"] == f"{run.metrics['final_ce']:.3f}"
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 10  # the ten most uncertain points


def test_resample_moves_the_sample_but_not_the_true_labels(small_run: TrainedRun) -> None:
    at = _page(small_run)
    true_before, sample_before = charts(at)["True labels"], _sample_chart(at)
    at.button(key="resample").click().run()
    assert at.session_state[state.SAMPLE_INDEX] == 1
    after = charts(at)
    sample_after = _sample_chart(at)
    assert sample_after["layout"]["title"]["text"] == "Posterior sample #1"
    hover_before = [t for trace in sample_before["data"] for t in trace.get("hovertext") or []]
    hover_after = [t for trace in sample_after["data"] for t in trace.get("hovertext") or []]
    assert hover_before != hover_after  # the sampled probabilities in the hover changed
    assert any("Sample #1:" in text for text in hover_after)
    assert after["True labels"] == true_before
    assert at.session_state[state.RUN] is not None and at.session_state[state.RUN].fit.steps == 200  # no retraining
    at.button(key="resample").click().run()
    assert _sample_chart(at)["layout"]["title"]["text"].startswith("Posterior sample #2")


def test_changed_points_are_marked_against_the_previous_sample(small_run: TrainedRun) -> None:
    at = _page(small_run)
    for _ in range(3):
        at.button(key="resample").click().run()
    names = [trace.get("name", "") for trace in _sample_chart(at)["data"]]
    x, seed = small_run.data.x, small_run.config.seed
    changed = draw_probs(small_run.model, x, seed, 3).argmax(1) != draw_probs(small_run.model, x, seed, 2).argmax(1)
    wrong = draw_probs(small_run.model, x, seed, 3).argmax(1) != small_run.data.y
    assert f"changed ({int(changed.sum())})" in names
    assert f"wrong ({int(wrong.sum())})" in names


def test_a_setting_the_engine_refuses_shows_an_error_and_keeps_the_model(small_run: TrainedRun) -> None:
    tiny = read_csv(b"a,label\n1,x\n2,x\n3,y\n4,y\n5,x\n", "label", name="tiny.csv")
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.session_state[state.RUN] = small_run
    at.session_state[state.USER_DATASET] = tiny
    at.run()
    at.selectbox(key=state.DATASET_WIDGET).set_value("csv:tiny.csv")
    at.slider(key="form_test_size").set_value(0.2)
    press_train(at)
    assert not at.exception
    assert len(at.error) == 1
    assert "holds out 1 row, fewer than the 2 classes" in read(at.error[0].value)
    assert at.session_state[state.RUN] is small_run  # nothing lost
    assert "True labels" in charts(at)


def test_two_sessions_do_not_share_models(small_run: TrainedRun) -> None:
    first, second = _page(small_run), _page(small_run)
    first.number_input(key="form_epochs").set_value(30)
    press_train(first)
    second.button(key="resample").click().run()
    assert first.session_state[state.RUN].config.train.epochs == 30
    assert second.session_state[state.RUN].config.train.epochs == 200
    assert first.session_state[state.SAMPLE_INDEX] == 0 and second.session_state[state.SAMPLE_INDEX] == 1
    fresh = _page()
    assert fresh.session_state[state.RUN] is not first.session_state[state.RUN]
    assert fresh.session_state[state.RUN].config == ARTICLE


def test_other_built_in_datasets_train_from_the_sidebar(small_run: TrainedRun) -> None:
    at = _page(small_run)
    at.selectbox(key=state.DATASET_WIDGET).set_value("two_moons")
    at.number_input(key="form_epochs").set_value(30)
    press_train(at)
    assert not at.exception and not at.error
    assert at.session_state[state.RUN].data.dataset.name == "two_moons"
    assert charts(at)["True labels"]["layout"]["xaxis"]["title"]["text"] == "x1"


def test_a_preset_fills_the_form_and_train_uses_exactly_what_is_shown(small_run: TrainedRun) -> None:
    at = _page(small_run)
    at.number_input(key="form_epochs").set_value(300)
    next(b for b in at.button if b.label == "Load the textbook ELBO").click().run()
    assert at.number_input(key="form_epochs").value == 20_000
    assert at.text_input(key="form_kl_weight").value == "1/N"
    assert "Press Train to use them" in read(at.toast[0].value)
    at.number_input(key="form_epochs").set_value(600)  # quicker; everything else as loaded
    press_train(at)
    run = at.session_state[state.RUN]
    config = run.config
    assert config.train.epochs == 600 and config.train.kl_reduction == "sum" and config.model.prior_sigma == 1.0
    assert config.train.kl_weight == "1/N" and config.train.schedule == "decay"
    assert run.fit.kl_weight == 1 / 120  # exactly one over the 120 training rows, not a slider's nearest value


def test_view_choices_survive_a_visit_to_another_page(small_run: TrainedRun) -> None:
    at = _page(small_run)
    at.selectbox(key="axis_y:iris").set_value("petal width (cm)").run()
    at.toggle(key="show_mean").set_value(True).run()
    at.switch_page("app_pages/how_it_works.py").run()  # Streamlit drops the main page's widget values here
    assert "show_mean" not in at.session_state
    at.switch_page("app_pages/train_and_resample.py").run()
    assert at.selectbox(key="axis_y:iris").value == "petal width (cm)"
    assert at.toggle(key="show_mean").value is True


def test_the_page_names_the_engine_and_says_why_it_fell_back(small_run: TrainedRun) -> None:
    at = _page(small_run)
    assert "with the compiled engine" in " ".join(read(c.value) for c in at.caption)
    assert not any("trained with torchbnn" in read(i.value) for i in at.info)
    at.number_input(key="form_layers").set_value(2)
    at.number_input(key="form_units").set_value(1024)  # 120 rows × 1,056,768 weights: torch's kernels are faster
    at.number_input(key="form_epochs").set_value(3)
    at.select_slider(key="form_samples").set_value(10)
    press_train(at)
    assert not at.exception and not at.error
    assert at.session_state[state.RUN].fit.engine == "torchbnn"
    assert "with torchbnn's autograd loop" in " ".join(read(c.value) for c in at.caption)
    notes = [read(i.value) for i in at.info if "Trained with torchbnn autograd" in i.value]
    assert len(notes) == 1 and "large enough that torch's matrix kernels are faster" in notes[0]


def test_the_health_checks_are_on_the_page_and_silent_on_a_healthy_run() -> None:
    """The article's run (the first visit's) is said to be cold and unconverged, in the engine's own sentences; the
    textbook preset, the Bayesian posterior trained to convergence, gets no warning."""
    article = opened()
    warnings = "\n".join(warning.value for warning in article.warning)
    assert "Not converged" in warnings and "a cold posterior" in warnings
    textbook = opened(**{state.RUN: sources.gallery_run("textbook")})
    assert not any("Not converged" in w.value or "posterior" in w.value for w in textbook.warning)
