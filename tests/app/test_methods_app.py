"""The Methods page and the method beside the BNN on the map, truck and calibration pages, through AppTest."""

from __future__ import annotations

import functools
import json
import time
from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bnn_core import RunConfig, TrainedRun, train_run, train_twin
from bnn_core.config import ModelConfig, TrainConfig
from bnn_core.data.datasets import load_builtin
from bnn_core.methods import compare as compare_module
from bnn_core.methods.alternatives import MethodsConfig
from bnn_core.methods.hmc import HMCConfig
from bnn_core.methods.references import reference_key, reference_run_config, shipped_reference
from bnn_core.runs.gallery import PRESETS_BY_SLUG
from bnn_core.runs.restore import restore_run
from tests.support.apptest import page, read
from ui import links, state
from ui.views import hmc, methods

GALLERY = Path(__file__).resolve().parents[2] / "gallery"
SMALL = RunConfig(model=ModelConfig(hidden=(16,)), train=TrainConfig(epochs=150), samples=20)


def _titles(at: AppTest) -> list[str]:
    return [json.loads(chart.proto.spec)["layout"]["title"]["text"] for chart in at.get("plotly_chart")]


@pytest.fixture(scope="module")
def run() -> TrainedRun:
    return train_run(load_builtin("iris"), SMALL)


def test_the_methods_page_trains_the_alternatives_on_a_click_and_tabulates_them(run: TrainedRun) -> None:
    settings = MethodsConfig(dropout_samples=20, ensemble_members=3)
    at = page("methods", **{state.RUN: run, methods.SETTINGS: settings})
    assert not at.exception and not at.error
    assert list(at.table[0].value["method"]) == ["BNN (torchbnn)"]  # arriving trains nothing
    assert state.TWIN not in at.session_state and methods.TRAINED not in at.session_state
    at.button(key="methods_train").click().run()
    assert not at.exception and not at.error
    table = at.table[0].value
    assert list(table["method"]) == ["BNN (torchbnn)", "plain network", "MC dropout", "deep ensemble", "Laplace"]
    assert float(table.loc[0, "accuracy (%)"]) == pytest.approx(100 * run.metrics["test_accuracy"], abs=0.05)
    assert table.loc[1, "AUROC (MI)"] == "—"  # one network: no mutual information
    assert table.loc[3, "settings"] == "3 members"
    assert table.loc[4, "settings"].endswith(", 20 draws")  # Laplace, fitted around the plain network on the click
    names = ["BNN (torchbnn)", "Plain network", "MC dropout", "Deep ensemble", "Laplace"]
    assert _panel_titles(at) == [f"<b>{name}</b>" for name in names]  # one figure, a map each
    assert any("Izmailov et al. 2021" in m.value for m in at.markdown)  # the explainer cites its sources
    assert any("HMC is offered for networks" in read(i.value) for i in at.info) or at.button(key="hmc_start")
    assert all(button.key != "methods_train" for button in at.button)  # every alternative is ready


def test_leaving_presenter_mode_redraws_the_methods_page_from_what_it_kept(run: TrainedRun, monkeypatch) -> None:
    """Exit on the Methods slide: the next run lays the page out for normal mode without computing the table again.
    With new predictor objects on every run it did, and the slide stayed on screen, stale, for seconds."""
    tabulated = []
    tabulate = compare_module.compare
    monkeypatch.setattr(compare_module, "compare", lambda *args: tabulated.append(args) or tabulate(*args))
    at = page("methods", **{state.RUN: run, state.PRESENT: True, state.TWIN: (run, train_twin(run))})
    assert not at.exception and not at.table and len(tabulated) == 1  # the slide shows the maps, not the table
    assert _panel_titles(at) == ["<b>BNN (torchbnn)</b>", "<b>Plain network</b>"]
    at.button(key="leave_present").click().run()
    assert not at.exception and at.session_state[state.PRESENT] is False
    assert list(at.table[0].value["method"]) == ["BNN (torchbnn)", "plain network"] and len(tabulated) == 1
    assert _panel_titles(at) == ["<b>BNN (torchbnn)</b>", "<b>Plain network</b>"]


def test_the_map_sets_the_chosen_method_beside_the_bnn(run: TrainedRun) -> None:
    at = page("uncertainty_map", **{state.RUN: run, methods.SETTINGS: MethodsConfig(dropout_samples=20)})
    assert _titles(at)[1] == "Plain network: confidence"
    at.segmented_control(key=state.COMPARED).set_value("dropout").run()
    assert not at.exception
    assert _titles(at)[1] == "MC dropout: confidence"


def test_calibration_and_truck_pages_compare_with_the_ensemble(run: TrainedRun) -> None:
    session = {state.RUN: run, methods.SETTINGS: MethodsConfig(ensemble_members=2)}
    at = page("calibration", **session)
    at.segmented_control(key=state.COMPARED).set_value("ensemble").run()
    assert not at.exception
    labels = [metric.label for metric in at.metric]
    assert "ECE, ensemble" in labels and "NLL, BNN" in labels
    assert _titles(at)[1].startswith("deep ensemble: reliability (ECE ")
    truck = page("truck_probe", **session, **{state.COMPARED: "ensemble"})
    assert not truck.exception
    assert any(read(metric.label).startswith("Deep ensemble: ") for metric in truck.metric)
    assert "The deep ensemble is" in read(truck.subheader[0].value)


def test_the_truck_and_map_pages_set_laplace_beside_the_bnn(run: TrainedRun) -> None:
    """Laplace around the plain twin: no settings, fitted once per run and kept."""
    truck = page("truck_probe", **{state.RUN: run, state.COMPARED: "laplace"})
    assert not truck.exception and not truck.error
    assert any(read(metric.label).startswith("Laplace: ") for metric in truck.metric)
    assert truck.session_state[methods.TRAINED]["laplace"][0] is run
    shown = page("uncertainty_map", **{state.RUN: run, state.COMPARED: "laplace"})
    assert not shown.exception and not shown.error


def test_a_method_setting_out_of_range_cannot_be_entered(run: TrainedRun) -> None:
    at = page("methods", **{state.RUN: run, methods.SETTINGS: MethodsConfig(dropout_samples=20)})
    at.number_input(key="method_members").set_value(2).run()
    assert not at.exception
    assert at.session_state[methods.SETTINGS].ensemble_members == 2
    at.button(key="methods_train").click().run()
    assert list(at.table[0].value["settings"])[3] == "2 members"


SINE = RunConfig(
    data=replace(RunConfig().data, dataset="sine_gap"),
    model=ModelConfig(hidden=(8,), noise="fixed", noise_sigma=0.1),
    train=TrainConfig(epochs=300),
    samples=20,
)


def _panel_titles(at: AppTest) -> list[str]:
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    return [note["text"] for note in spec["layout"]["annotations"]]


def test_the_methods_page_sets_a_regressions_methods_side_by_side_on_one_axis() -> None:
    """Arriving trains nothing (the BNN's panel and row); a click trains the rest, Laplace among them, one panel each
    on shared axes, and the table gives each its RMSE, NLL, coverage and gap ratio."""
    run = train_run(load_builtin("sine_gap"), SINE)
    settings = MethodsConfig(dropout_samples=20, ensemble_members=2)
    at = page("methods", **{state.RUN: run, methods.SETTINGS: settings})
    assert not at.exception and not at.error
    assert list(at.dataframe[0].value["method"]) == ["BNN (torchbnn)"]
    assert methods.TRAINED not in at.session_state
    assert _panel_titles(at) == [f"<b>BNN (torchbnn) · gap ratio {at.dataframe[0].value['gap ratio'][0]}</b>"]
    at.button(key="methods_train").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert list(table["method"]) == ["BNN (torchbnn)", "plain network", "MC dropout", "deep ensemble", "Laplace"]
    assert list(table.columns) == ["method", "settings", "training (s)", "RMSE", "NLL", "90% coverage", "gap ratio"]
    assert table.loc[1, "gap ratio"] == "—"  # one network: no epistemic part
    assert float(table.loc[0, "RMSE"]) == pytest.approx(run.metrics["test_rmse"], abs=5e-4)
    assert all(0 <= int(cell.rstrip("%")) <= 100 for cell in table["90% coverage"])
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert len(spec["layout"]["annotations"]) == 5 and spec["layout"]["xaxis5"]["matches"] == "x"
    assert [shape["x0"] for shape in spec["layout"]["shapes"]] == [-1.0] * 5  # sine_gap's gap, shaded
    assert any("Foong et al. 2019" in m.value for m in at.markdown)
    assert at.button(key="hmc_start")  # 8 units and a fixed σ: HMC is offered, sampled only on a click
    assert all(button.key != "methods_train" for button in at.button)


def test_a_link_names_the_method_beside_the_bnn() -> None:
    assert links.parse({"with": "dropout"}).compared == "dropout"
    assert links.parse({"with": "laplace"}).compared == "laplace"
    bad = links.parse({"with": "gp"})
    assert bad.compared is None
    assert bad.problems == ("with='gp' must be one of plain, dropout, ensemble, laplace, hmc; plain is used.",)


@pytest.mark.slow  # 1,200 draws on the table and maps: 4 s
def test_the_gallerys_hmc_preset_finds_its_shipped_reference_at_once() -> None:
    """The two-moons-hmc preset (16 units, prior N(0, 1), seed 0) finds the shipped posterior: no sampling."""
    reference = restore_run(GALLERY / "two-moons-hmc")
    assert reference.config == PRESETS_BY_SLUG["two-moons-hmc"].config
    assert reference_key(reference.config, HMCConfig()) == reference_key(reference_run_config("two_moons"), HMCConfig())
    settings = MethodsConfig(dropout_samples=20, ensemble_members=2)
    at = page("methods", **{state.RUN: reference, methods.SETTINGS: settings})
    assert not at.exception and not at.error
    table = at.table[0].value
    assert list(table["method"])[-1] == "HMC reference"
    shipped = shipped_reference(reference.config, HMCConfig())
    assert table.iloc[-1]["settings"] == f"1200 draws, R-hat ≤ {shipped.rhat_max:.3f}, ESS ≥ {shipped.ess_min:.0f}"
    assert float(table.iloc[-1]["training (s)"]) == pytest.approx(shipped.seconds, abs=0.01)
    assert all(button.key != "hmc_start" for button in at.button)  # nothing left to sample


def test_an_hmc_reference_without_a_shipped_one_samples_in_the_background_and_joins_the_table(monkeypatch) -> None:
    """Sample → the job runs in its own thread with progress → once it ends, the page keeps its posterior and
    tabulates it; the button is gone. Short chains (4 × (20 + 20)) keep this test quick."""
    monkeypatch.setattr(hmc, "HMCConfig", functools.partial(HMCConfig, samples=20, warmup=20))
    config = RunConfig(data=replace(RunConfig().data, dataset="two_moons"), model=ModelConfig(hidden=(4,)),
                       train=TrainConfig(epochs=100), samples=20)  # fmt: skip
    run = train_run(load_builtin("two_moons"), config)
    settings = MethodsConfig(dropout_samples=20, ensemble_members=2)
    at = page("methods", **{state.RUN: run, methods.SETTINGS: settings})
    at.button(key="hmc_start").click().run()
    job = at.session_state[hmc.JOB]
    deadline = time.monotonic() + 120
    while not job.finished and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job.finished and job.error is None and job.progress.fraction == 1.0
    at.run()
    assert not at.exception and not at.error and hmc.JOB not in at.session_state
    table = at.table[0].value
    assert list(table["method"])[-1] == "HMC reference"
    assert table.iloc[-1]["settings"].startswith("80 draws, R-hat ≤ ")
    assert all(button.key != "hmc_start" for button in at.button)
