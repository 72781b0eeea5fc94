"""Links: the URL's parameters parsed, checked and written back; a link opened in a fresh session rebuilds the
picture, a bad one is explained parameter by parameter, and runs on built-in data are shared per server."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bnn_core import SETTINGS, DataConfig, ModelConfig, RunConfig, TrainConfig
from bnn_core.runs.gallery import PRESETS_BY_SLUG
from tests.support.apptest import charts, notices, read
from ui import links, sources, state

ARTICLE = PRESETS_BY_SLUG["article"].config  # the run a first visit shows

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


def _open(params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def _random_config(chance: random.Random) -> RunConfig:
    def pick(name: str):
        setting = SETTINGS[name]
        if setting.choices:
            return chance.choice(setting.choices)
        return chance.choice(setting.ladder) if setting.ladder else setting.default

    return RunConfig(
        data=DataConfig(dataset=pick("dataset"), task=pick("task"), test_size=chance.choice([0.0, 0.25, 0.3]),
                        scale=pick("scale")),
        model=ModelConfig(
            hidden=tuple(chance.choice([1, 7, 100]) for _ in range(chance.randint(0, 4))),
            activation=pick("activation"),
            prior_mu=chance.choice([0.0, -0.35, 1.5]),
            prior_sigma=pick("prior_sigma"),
            noise=pick("noise"),
            noise_sigma=pick("noise_sigma"),
        ),
        train=TrainConfig(epochs=chance.randint(1, 100_000), lr=pick("lr"), kl_weight=pick("kl_weight"),
                          kl_reduction=pick("kl_reduction"), engine=pick("engine")),
        seed=chance.randint(0, 2**32 - 1),
        samples=pick("samples"),
    )  # fmt: skip


def test_settings_written_into_a_link_read_back_as_the_same_config() -> None:
    chance = random.Random(0)
    for _ in range(200):
        config = _random_config(chance)
        link = links.parse(links.settings_params(config, None))
        assert link.problems == () and link.config == config


def test_a_preset_link_is_short_and_reads_back_as_the_preset() -> None:
    preset = PRESETS_BY_SLUG["two-moons"]
    assert links.settings_params(preset.config, "two-moons") == {"preset": "two-moons"}
    link = links.parse({"preset": "two-moons"})
    assert link.config == preset.config and link.preset == "two-moons"
    changed = links.parse({"preset": "two-moons", "seed": "5"})
    assert changed.config == replace(preset.config, seed=5) and changed.preset is None


def test_each_bad_parameter_is_named_with_its_allowed_range_and_the_rest_are_honoured() -> None:
    link = links.parse(
        {"epochs": "-5", "kl_weight": "abc", "dataset": "nope", "sample": "1e99", "lr": "0.003", "colour": "red",
         "size": "huge", "present": "yes", "hidden": "32,x"}
    )  # fmt: skip
    problems = "\n".join(link.problems)
    assert len(link.problems) == 8
    assert "epochs='-5': Epochs must be from 1 to 100,000" in problems
    assert "kl_weight='abc': KL weight must be a number" in problems
    assert "dataset='nope': Unknown dataset 'nope'; choose one of iris, wine" in problems
    assert "sample='1e99' must be a whole number from 0 to 1,000,000" in problems
    assert "colour='red' is not a parameter this app knows" in problems
    assert "size='huge' must be one of total, epistemic, aleatoric" in problems
    assert "present='yes' must be 1 or 0" in problems
    assert "hidden='32,x': Hidden units must be a whole number from 1 to 1,024, got 'x'" in problems
    legacy = links.defaults_of(None)  # no v=2: the settings it leaves unsaid are the article's, as when it was written
    assert link.config == replace(legacy, train=replace(legacy.train, lr=0.003))
    assert link.sample is None and link.size is None


def test_a_link_without_a_version_keeps_meaning_the_settings_it_was_written_against() -> None:
    """Links made before the defaults became the Bayesian posterior named only what differed from the article's
    settings; read today, they still mean that run. A link written today says v=2."""
    old = links.parse({"dataset": "wine", "epochs": "500"})
    assert old.problems == ()
    assert old.config.model.prior_sigma == 0.1 and old.config.train.kl_weight == 0.01
    assert old.config.train.kl_reduction == "mean" and old.config.train.schedule == "constant"
    assert old.config.train.sigma_start == 1.0 and old.config.train.epochs == 500
    today = replace(RunConfig(), data=replace(RunConfig().data, dataset="wine"))
    written = links.settings_params(today, None)
    assert written == {"v": "2", "dataset": "wine"}
    assert links.parse(written).config == today
    assert "v='3' is not a link version this app knows" in links.parse({"v": "3", "seed": "1"}).problems[0]


def test_a_link_rebuilds_the_picture_in_a_fresh_session() -> None:
    """Settings on demand (trained once, then from the server's cache), sample #k, the axes and the mean."""
    params = {"dataset": "wine", "epochs": "200", "seed": "3", "samples": "20", "sample": "4",
              "x": "alcohol", "y": "proline", "mean": "1", "size": "epistemic"}  # fmt: skip
    at = _open(params)
    assert not at.exception and not notices(at) and not at.error
    run = at.session_state[state.RUN]
    assert run.config == links.parse(params).config
    shown = charts(at)
    sample = shown["Posterior sample #4"]
    assert sample["layout"]["xaxis"]["title"]["text"] == "alcohol"
    assert sample["layout"]["yaxis"]["title"]["text"] == "proline"
    assert "Mean of 20 samples" in shown
    assert at.selectbox(key="size_measure").value == "epistemic"
    written = {name: at.query_params[name] for name in at.query_params}
    assert links.parse(written).config == run.config and "x" not in written  # alcohol is wine's default x axis
    again = _open(written)  # a second browser opens the URL: from the server's cache, the same run and sample chart
    assert again.session_state[state.RUN] is not run
    assert again.session_state[state.RUN].metrics["train_seconds"] == run.metrics["train_seconds"]
    assert charts(again)["Posterior sample #4"]["data"] == sample["data"]


def test_a_bad_link_shows_one_warning_and_the_defaults() -> None:
    at = _open({"epochs": "-5", "kl_weight": "abc", "dataset": "nope", "sample": "1e99", "x": "no_such_feature"})
    assert not at.exception and not at.error
    assert len(notices(at)) == 1
    text = read(notices(at)[0].value)
    for name in ("epochs=", "kl_weight=", "dataset=", "sample=", "x="):
        assert name in text
    assert "'no_such_feature' is not a feature of this data (sepal length (cm)" in text
    assert at.session_state[state.RUN].config == ARTICLE and at.session_state[state.SAMPLE_INDEX] == 0


def test_a_link_to_a_csv_dataset_says_to_upload_it_in_this_browser() -> None:
    at = _open({"dataset": "csv:penguins.csv", "epochs": "50"})
    assert not at.exception
    warning = read(notices(at)[0].value)
    assert "CSV 'penguins.csv'" in warning and "upload it on the Data page" in warning
    assert at.session_state[state.RUN].config == ARTICLE  # the default model meanwhile


def test_presenter_mode_and_a_gallery_preset_from_the_link() -> None:
    at = _open({"preset": "tight-prior", "present": "1"})
    assert not at.exception
    assert at.session_state[state.PRESET] == "tight-prior" and at.session_state[state.PRESENT] is True
    assert at.button(key="leave_present").label == "Exit presenter mode"
    assert at.query_params["present"] == "1" and at.query_params["preset"] == "tight-prior"


@pytest.mark.parametrize("slug", ["textbook", "overfit"])
def test_the_arrow_buttons_step_through_the_gallery(slug: str) -> None:
    at = _open({"preset": slug})
    order = list(PRESETS_BY_SLUG)
    at.button(key="preset_next").click().run()
    assert at.session_state[state.PRESET] == order[order.index(slug) + 1]
    at.button(key="preset_prev").click().run().button(key="preset_prev").click().run()
    assert at.session_state[state.PRESET] == order[order.index(slug) - 1]
    assert at.session_state[state.FORM_CONFIG] == PRESETS_BY_SLUG[order[order.index(slug) - 1]].config


def test_runs_on_an_upload_never_reach_the_shared_cache() -> None:
    from bnn_core import read_csv

    text = "a,b,kind\n" + "".join(f"{i},{(i * 7) % 5},{'xy'[i % 2]}\n" for i in range(40))
    dataset = read_csv(text.encode(), "kind", name="private.csv")
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state[state.USER_DATASET] = dataset
    at.run()
    at.selectbox(key=state.DATASET_WIDGET).set_value("csv:private.csv")
    at.number_input(key="form_epochs").set_value(30)
    next(button for button in at.button if button.label == "Train").click().run()
    assert not at.exception and at.session_state[state.RUN].data.dataset.name == "csv:private.csv"
    assert sources.run_cache().get(at.session_state[state.RUN].config) is None


def test_a_parameter_given_twice_is_named_and_neither_value_is_used() -> None:
    link = links.parse({"seed": ["3", "5"], "epochs": "500"})
    assert link.problems == (
        "seed is given 2 times ('3', '5'); a link gives each parameter once, so none of them was used.",
    )
    assert link.config.seed == links.defaults_of(None).seed and link.config.train.epochs == 500
    assert links.parse({"seed": ["3"]}).config.seed == 3  # given once, as a list: used


def test_a_value_beyond_its_slider_is_named_with_the_range() -> None:
    ranges = [(4.3, 7.9), (2.0, 4.4)]
    assert links.range_problem("hold", (5.0, 3.0), ranges, ("a", "b")) is None
    assert links.range_problem("hold", (1e308, 9.0), ranges, ("a", "b")) == (
        "hold puts a at 1e+308 (and 1 more), beyond its slider's 4.3 to 7.9; the nearest end is used."
    )


def test_a_long_or_hostile_value_is_quoted_cut_and_escaped_in_its_sentence() -> None:
    link = links.parse({"x": "a" * 100_000, "\u202ecolour": "[red](http://evil.example)"})
    assert (
        link.problems[0]
        == "\\u202ecolour='[red](http://evil.example)' is not a parameter this app knows; it was ignored."
    )
    assert len(link.problems) == 1  # x is checked later, against the data's features
    assert links.feature_problem("x", "a" * 100_000, ["a", "b"]).startswith(f"x='{'a' * 60}'… (100,000 characters) is")
