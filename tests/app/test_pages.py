"""Every extra page through AppTest: without a model, after training, and the data page's uploads."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from bnn_core import (
    BNNInputError,
    DataConfig,
    RunConfig,
    TrainConfig,
    TrainedRun,
    calibration,
    load_builtin,
    probe,
    probe_presets,
    read_csv,
    save_run,
    train_run,
    train_twin,
)
from bnn_core.posterior.probing import TRUCK
from bnn_core.runs.gallery import PRESETS_BY_SLUG
from bnn_core.runs.store import saved_runs
from tests.support.apptest import notices, page, read
from ui import state
from ui.figures.probe_text import describe

ARTICLE = PRESETS_BY_SLUG["article"].config  # the run a first visit shows

PAGES = Path(__file__).resolve().parents[2] / "app_pages"
TIMEOUT = 180
QUICK = RunConfig(train=TrainConfig(epochs=60), samples=20)


def _subheaders(at: AppTest) -> list[str]:
    return [read(header.value) for header in at.subheader]


def _figures(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


@pytest.fixture(scope="module")
def run() -> TrainedRun:
    return train_run(load_builtin("iris"), RunConfig(train=TrainConfig(epochs=300), samples=40))


@pytest.mark.parametrize("name", ["uncertainty_map", "truck_probe", "calibration"])
def test_a_page_opened_straight_from_a_link_shows_the_gallery_article_model(name: str) -> None:
    """A link straight to a page never says "no model": it shows the article's run from the gallery, untrained."""
    at = page(name)
    assert not at.exception and not at.error
    assert at.session_state[state.PRESET] == "article" and at.session_state[state.RUN].config == ARTICLE
    assert at.get("plotly_chart")
    assert "The article's network" in at.markdown[1].value  # the status strip: what to notice


def test_uncertainty_map_draws_both_networks_over_a_100_by_100_grid(run: TrainedRun) -> None:
    at = page("uncertainty_map", **{state.RUN: run})
    assert not at.exception
    bnn, plain = _figures(at)
    assert bnn["layout"]["title"]["text"].startswith("BNN (40 samples): confidence")
    assert plain["layout"]["title"]["text"] == "Plain network: confidence"
    for figure in (bnn, plain):
        heat = figure["data"][0]
        assert heat["type"] == "heatmap" and len(heat["x"]["bdata"]) > 0
    assert any("Beyond the data" in m.value for m in at.markdown)
    at.segmented_control(key="map_measure").set_value("Epistemic").run()
    bnn, plain = _figures(at)
    assert bnn["layout"]["title"]["text"].endswith("epistemic")
    assert "no epistemic term" in read(at.caption[-1].value)
    assert state.TWIN in at.session_state


def test_uncertainty_map_can_hold_the_other_features_at_a_chosen_point(run: TrainedRun) -> None:
    at = page("uncertainty_map", **{state.RUN: run})
    at.radio(key="map_hold").set_value("a point I choose").run()
    at.slider(key="map_hold_petal length (cm)").set_value(6.5).run()
    assert not at.exception and len(_figures(at)) == 2


def test_probe_reads_the_truck_aloud_from_the_engine(run: TrainedRun) -> None:
    at = page("truck_probe", **{state.RUN: run})
    assert not at.exception
    assert at.selectbox(key="probe_preset").value == TRUCK
    twin = at.session_state[state.TWIN][1]
    truck = probe_presets(run.data)[TRUCK]
    expected = describe(probe(run.model, twin.model, run.data, truck, 40, 0), run.data.dataset.class_names)
    assert read(at.subheader[0].value) == expected
    at.selectbox(key="probe_preset").set_value("typical setosa").run()
    assert read(at.subheader[0].value).startswith("The BNN is sure") and "setosa" in read(at.subheader[0].value)
    assert "Every feature is inside the training range." in read(at.caption[0].value)
    figure = _figures(at)[0]
    assert [trace["type"] for trace in figure["data"]] == ["box", "box", "box", "scatter", "scatter"]


def test_calibration_compares_both_models_on_the_test_rows(run: TrainedRun) -> None:
    at = page("calibration", **{state.RUN: run})
    assert not at.exception and not notices(at)
    metrics = {m.label: m.value for m in at.metric}
    test = run.data.test_mask
    bnn = calibration(run.evaluation.uncertainty.mean_probs[test], run.data.y[test])
    assert metrics["ECE, BNN"] == f"{bnn.ece:.3f}" and metrics["Brier, BNN"] == f"{bnn.brier:.3f}"
    plain = calibration(at.session_state[state.TWIN][1].probs[test], run.data.y[test])
    assert metrics["NLL, plain"] == f"{plain.nll:.3f}"
    titles = [figure["layout"]["title"]["text"] for figure in _figures(at)]
    assert titles[0].startswith("BNN: reliability") and titles[1].startswith("plain network: reliability")


def test_calibration_without_a_test_split_warns_and_offers_one() -> None:
    all_rows = train_run(load_builtin("iris"), replace(QUICK, data=DataConfig(test_size=0.0)))
    at = page("calibration", **{state.RUN: all_rows})
    assert "flatters a model" in read(notices(at)[0].value)
    at.button(key="retrain_split").click().run()
    assert not at.exception
    assert at.session_state[state.RUN].data.has_test and at.session_state[state.RUN].config.data.test_size == 0.2
    assert not notices(at)


def test_a_bad_upload_shows_an_error_and_keeps_the_data_in_use(run: TrainedRun) -> None:
    at = page("data", **{state.RUN: run, state.FORM_CONFIG: QUICK})
    at.file_uploader(key="csv_upload").set_value(("bad.csv", b"a,b,kind\n1,2,x\n3,,y\n", "text/csv")).run()
    at.selectbox(key="csv_label:bad.csv").set_value("kind").run()
    at.button(key="use_csv").click().run()
    assert not at.exception
    assert "bad.csv: data row 2, column 'b' is empty" in read(at.error[0].value)
    assert read(at.error[0].value).endswith("; the data in use has not changed.")
    assert state.USER_DATASET not in at.session_state
    assert at.session_state[state.RUN] is run
    assert "In use: iris" in _subheaders(at)


def _upload(at: AppTest, name: str, text: str, label: str) -> None:
    at.file_uploader(key="csv_upload").set_value((name, text.encode(), "text/csv")).run()
    at.selectbox(key=f"csv_label:{name}").set_value(label).run()
    at.button(key="use_csv").click().run()


def test_a_csv_that_fails_to_train_changes_neither_the_data_nor_the_sidebar_nor_the_run() -> None:
    """The whole app, for its sidebar: a CSV is in use and on screen, then a CSV whose split fails changes nothing.

    The good state is put in the session as a successful upload leaves it: after an upload in AppTest the next
    run fails inside AppTest itself, on the sidebar widget that ``choose_dataset`` resets.
    """
    shapes = "width,height,size\n" + "".join(f"{i % 7},{(i * 3) % 5},{'sl'[i % 7 < 3]}\n" for i in range(60))
    in_use = read_csv(shapes.encode(), "size", name="shapes.csv")
    config = replace(QUICK, data=replace(QUICK.data, dataset=in_use.name))
    trained = train_run(in_use, config)
    at = AppTest.from_file(str(PAGES.parent / "app.py"), default_timeout=TIMEOUT)
    for key, value in {
        state.USER_DATASET: in_use,
        state.CHOSEN_DATASET: in_use.name,
        state.FORM_CONFIG: config,
        state.RUN: trained,
        state.SAMPLE_INDEX: 3,  # the posterior draw on screen, part of the view that must stay
        state.PRESET: None,
    }.items():
        at.session_state[key] = value
    at.run()
    at.switch_page("app_pages/data.py").run()
    assert at.selectbox(key=state.DATASET_WIDGET).value == "csv:shapes.csv" and not at.error
    view = (at.session_state[state.SAMPLE_INDEX], at.session_state[state.PRESET], dict(at.query_params))
    # Class 'x' has a single row: the stratified split refuses it only when training starts.
    penguins = "bill,mass,species\n1,2,x\n" + "".join(f"{i},{i * 2},{'yz'[i % 2]}\n" for i in range(20))
    _upload(at, "penguins.csv", penguins, "species")
    assert not at.exception
    assert [read(e.value) for e in at.error] == [
        "penguins.csv: Class 'x' has only 1 row, too few to split into train and test; give every class at least "
        "2 rows or set the test share to 0; the data in use and the model on screen have not changed."
    ]
    assert at.session_state[state.USER_DATASET] is in_use
    assert at.session_state[state.CHOSEN_DATASET] == "csv:shapes.csv"
    assert at.session_state[state.RUN] is trained
    assert (at.session_state[state.SAMPLE_INDEX], at.session_state[state.PRESET], dict(at.query_params)) == view
    at.run()  # the next script run draws the sidebar from the session
    sidebar = at.selectbox(key=state.DATASET_WIDGET)
    assert sidebar.value == "csv:shapes.csv" and "csv:penguins.csv" not in sidebar.options
    assert "In use: csv:shapes.csv" in _subheaders(at) and at.session_state[state.RUN] is trained


def test_the_data_page_lists_what_each_csv_column_became(run: TrainedRun) -> None:
    rows = "".join(
        f"{'AG'[i % 2]},{['Biscoe', 'Dream', 'Torgersen'][i % 3]},{'NA' if i == 4 else 30 + i},{2007 + i % 3},"
        f"2020-01-{i + 1:02d},bird{i}\n"
        for i in range(24)
    )
    at = page("data", **{state.RUN: run, state.FORM_CONFIG: QUICK})
    _upload(at, "birds.csv", "species,island,bill,year,seen,name\n" + rows, "species")
    assert not at.exception and not at.error
    assert "23 of 24 rows are used: 1 had a missing cell" in " ".join(read(c.value) for c in at.caption)
    fates = next(frame.value for frame in at.dataframe if list(frame.value.columns) == ["CSV column", "used as"])
    assert fates.values.tolist() == [
        ["species", "label"],
        ["island", "one-hot (3 levels)"],
        ["bill", "feature"],
        ["year", "feature"],
        ["seen", "dropped: date"],
        ["name", "dropped: text with 24 distinct values"],
    ]
    assert at.session_state[state.RUN].data.dataset.feature_names[:3] == (
        "island=Biscoe",
        "island=Dream",
        "island=Torgersen",
    )


def test_a_binary_upload_is_refused_before_choosing_a_label() -> None:
    at = page("data")
    at.file_uploader(key="csv_upload").set_value(("photo.csv", b"\x89PNG\x00\x00\x00", "text/csv")).run()
    assert "photo.csv is not a text CSV file" in read(at.error[0].value)


def test_a_good_upload_trains_on_it_and_names_flow_through(run: TrainedRun) -> None:
    rows = "".join(f"{i % 7},{(i * 3) % 5},{'small' if i % 7 < 3 else 'large'}\n" for i in range(60))
    at = page("data", **{state.RUN: run, state.FORM_CONFIG: QUICK})
    at.file_uploader(key="csv_upload").set_value(("shapes.csv", ("width,height,size\n" + rows).encode(), "text/csv"))
    at.run()
    assert at.selectbox(key="csv_label:shapes.csv").value == "size"  # the text column is the likely label
    at.button(key="use_csv").click().run()
    assert not at.exception and not at.error
    trained = at.session_state[state.RUN]
    assert trained.data.dataset.name == "csv:shapes.csv"
    assert trained.data.dataset.feature_names == ("width", "height")
    assert trained.data.dataset.class_names == ("large", "small")
    assert trained.config.train.epochs == 60  # the last settings from the form
    assert at.session_state[state.CHOSEN_DATASET] == "csv:shapes.csv"
    assert any("Trained on csv:shapes.csv" in read(s.value) for s in at.success)
    pairs = next(f for f in _figures(at) if f["data"][0]["type"] == "scattergl")  # two features: one panel
    assert (pairs["layout"]["xaxis"]["title"]["text"], pairs["layout"]["yaxis"]["title"]["text"]) == ("width", "height")


def test_a_built_in_dataset_can_be_chosen_and_trained(run: TrainedRun) -> None:
    at = page("data", **{state.RUN: run, state.FORM_CONFIG: QUICK})
    at.selectbox(key="data_builtin").set_value("wine").run()
    at.button(key="use_builtin").click().run()
    assert not at.exception
    assert at.session_state[state.RUN].data.dataset.name == "wine"
    assert "In use: wine" in _subheaders(at)
    balance = next(f for f in _figures(at) if f["data"][0]["type"] == "bar")
    assert balance["data"][0]["x"] == ["class_0", "class_1", "class_2"]


def test_how_it_works_explains_with_formulas_and_cites_its_sources() -> None:
    at = page("how_it_works")
    assert not at.exception
    assert len(at.latex) >= 5
    text = " ".join(m.value for m in at.markdown)
    assert "Blundell" in text and "torchbnn" in text and "reparameterised" in text


def test_map_grid_twin_is_trained_once_per_run(run: TrainedRun) -> None:
    at = page("uncertainty_map", **{state.RUN: run})
    first = at.session_state[state.TWIN][1]
    at.selectbox(key="map_y").set_value("petal width (cm)").run()
    assert at.session_state[state.TWIN][1] is first
    twin = train_twin(run)
    assert np.allclose(twin.probs.numpy(), first.probs.numpy())  # same seed streams, same twin


def test_the_label_guess_prefers_text_then_few_values() -> None:
    from bnn_core import csv_preview, likely_label_column

    assert likely_label_column(csv_preview(b"species,a,b\nx,1,2\ny,3,4\n")) == "species"
    assert likely_label_column(csv_preview(b"a,target,b\n1.5,0,2.5\n3.5,1,4.5\n7.5,0,8.5\n")) == "target"
    penguins = b"species,island,bill_length_mm,sex,year\nAdelie,Torgersen,39.1,male,2007\nGentoo,Biscoe,NA,NA,2008\n"
    assert likely_label_column(csv_preview(penguins)) == "species"  # by its name, though sex is the last text column
    assert likely_label_column(csv_preview(b"x,Class,z\n1,a,b\n2,b,c\n")) == "Class"


@pytest.mark.parametrize("name", ["uncertainty_map", "truck_probe", "calibration"])
def test_a_stopped_plain_network_is_offered_again_and_then_compared(name: str, run: TrainedRun) -> None:
    """After Stop during the twin's training the page says where it stopped; one press trains it and draws."""
    stopped = state.TrainingMark("twin", run.config.train.epochs, step=120)
    at = page(name, **{state.RUN: run, state.TRAINING: stopped})
    assert not at.exception
    assert "Training of the plain network stopped after 120 of 300 steps" in read(at.info[0].value)
    assert not at.get("plotly_chart") and state.TWIN not in at.session_state
    at.button(key="train_twin").click().run()
    assert not at.exception and at.get("plotly_chart")
    kept_run, twin = at.session_state[state.TWIN]
    assert kept_run is run and twin.fit.steps == 300 and not twin.fit.cancelled
    assert state.TWIN_PAUSED not in at.session_state


def test_save_a_run_under_a_name_list_it_and_load_it_back(run: TrainedRun, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BNN_RUNS_DIR", str(tmp_path))
    at = page("data", **{state.RUN: run})
    next(t for t in at.text_input if t.label == "Name").input("../../etc/evil")
    next(b for b in at.button if b.label == "Save the run on screen").click().run()
    assert "A run's name may hold letters" in read(at.error[0].value) and not list(tmp_path.iterdir())
    next(t for t in at.text_input if t.label == "Name").input("iris short")
    next(b for b in at.button if b.label == "Save the run on screen").click().run()
    assert not at.exception and (tmp_path / "iris-short" / "config.json").is_file()
    fresh = page("data")  # another session: the gallery's article run on screen, the saved run in the list
    assert fresh.selectbox(key="saved_choice").options == ["iris-short"]
    fresh.button(key="load_saved").click().run()
    loaded = fresh.session_state[state.RUN]
    assert loaded.config == run.config and fresh.session_state[state.PRESET] is None
    assert torch.equal(loaded.evaluation.uncertainty.mean_probs, run.evaluation.uncertainty.mean_probs)


def test_a_session_adds_only_so_many_runs_to_the_shared_folder_yet_may_replace_its_own(
    run: TrainedRun, tmp_path, monkeypatch
) -> None:
    from ui.views import saved

    monkeypatch.setenv("BNN_RUNS_DIR", str(tmp_path))
    monkeypatch.setattr(saved, "MAX_SAVES_PER_SESSION", 2)
    at = page("data", **{state.RUN: run})

    def save(name: str) -> None:
        next(t for t in at.text_input if t.label == "Name").input(name)
        next(b for b in at.button if b.label == "Save the run on screen").click().run()

    save("one")
    save("two")
    save("three")  # a third new name: refused, nothing written
    assert read(at.error[0].value) == (
        "This session has saved 2 runs, the most one session may save; save under one of their names "
        "(one, two, …) to replace it. Nothing was saved."
    )
    assert sorted(p.name for p in saved_runs(tmp_path)) == ["one", "two"]
    save("two")  # replacing its own run adds nothing
    assert not at.error and read(at.success[0].value).startswith("Saved as two")
    assert at.session_state[state.RUN] is run  # the run on screen stays


def test_the_shared_runs_folder_takes_no_new_name_once_full_but_still_a_replacement(
    run: TrainedRun, tmp_path, monkeypatch
) -> None:
    from ui.views import saved

    monkeypatch.setattr(saved, "MAX_SAVED_RUNS", 2)
    for name in ("a", "b"):
        save_run(run, tmp_path / name)
    saved.check_room_for(tmp_path / "a", set())  # a replacement: allowed
    with pytest.raises(BNNInputError, match=r"holds 2 runs, the most the app adds to; .* Nothing was saved\.$"):
        saved.check_room_for(tmp_path / "c", set())
    assert not (tmp_path / "c").exists()


def test_a_run_zip_uploads_into_this_session_and_a_bad_zip_is_one_sentence(run: TrainedRun) -> None:
    from bnn_core.runs.archive import run_zip

    at = page("data")
    at.file_uploader(key="run_zip").set_value(("evil.zip", b"not a zip at all", "application/zip")).run()
    at.button(key="load_zip").click().run()
    assert read(at.error[0].value) == "evil.zip is not a zip file." and at.session_state[state.PRESET] == "article"
    at.file_uploader(key="run_zip").set_value(("mine.zip", run_zip(run), "application/zip")).run()
    at.button(key="load_zip").click().run()
    assert not at.exception and at.session_state[state.RUN].config == run.config
