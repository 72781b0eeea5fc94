"""One settings schema: every setting is validated, is a CLI flag and is a sidebar widget, with the same bounds."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bnn_core import SETTINGS, BNNInputError, RunConfig, Setting
from bnn_core.cli import build_parser, main
from bnn_core.settings import weight_text
from ui.controls import LAYERS_LABEL, UNITS_LABEL

APP = str(Path(__file__).resolve().parents[2] / "app.py")
DEFAULTS = RunConfig().to_flat()


def _config_with(name: str, value: object) -> RunConfig:
    return RunConfig.from_flat({**DEFAULTS, name: value})


def _outside(setting: Setting) -> list[float]:
    """Values just beyond each bound."""
    step = 1 if setting.kind is int else max(abs(setting.high - setting.low) * 1e-6, 1e-9)
    return [setting.low - step, setting.high + step]


@pytest.mark.parametrize("setting", list(SETTINGS.values()), ids=list(SETTINGS))
def test_every_setting_is_validated_with_its_bounds(setting: Setting) -> None:
    if setting.choices:
        for choice in setting.choices:
            # A built-in set fixes its own task, so the task is checked on a CSV's config.
            config = RunConfig.from_flat({**DEFAULTS, "dataset": "csv:data.csv", setting.name: choice})
            assert config.to_flat()[setting.name] == choice
        with pytest.raises(BNNInputError, match=f"{setting.label}|Unknown"):
            _config_with(setting.name, "no_such_choice")
        return
    if setting.name == "hidden":
        fewest, most = setting.length
        assert _config_with("hidden", [setting.low] * fewest).model.hidden == (setting.low,) * fewest
        assert _config_with("hidden", [setting.high] * most).model.hidden == (setting.high,) * most
        with pytest.raises(BNNInputError, match=f"{fewest} to {most} hidden layers"):
            _config_with("hidden", [10] * (most + 1))
        values = [[value] for value in _outside(setting)]
    else:
        for bound in (setting.low, setting.high):
            assert _config_with(setting.name, bound).to_flat()[setting.name] == bound
        values = _outside(setting)
    for value in values:
        with pytest.raises(BNNInputError, match=rf"{setting.label} must be .*{setting.bounds()}") as refused:
            _config_with(setting.name, value)
        assert "\n" not in str(refused.value)


def _train_actions() -> dict[str, argparse.Action]:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {option: action for action in commands.choices["train"]._actions for option in action.option_strings}


@pytest.mark.parametrize("setting", list(SETTINGS.values()), ids=list(SETTINGS))
def test_every_setting_is_a_cli_flag_with_the_same_bounds(
    setting: Setting, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    action = _train_actions()[setting.flag]
    if setting.name == "task":  # no default on the command line: the built-in set's task, or a CSV's guess
        assert action.default is None and tuple(action.choices) == setting.choices
        return
    if setting.name == "hidden":
        assert f"{setting.length[0]} to {setting.length[1]} layers of {setting.bounds()} units" in action.help
        return
    assert action.default == setting.default
    if setting.choices:
        if setting.prefix is None:
            assert tuple(action.choices) == setting.choices
        return
    if setting.per_row:  # text: a number or F/N, read by the schema
        assert action.type is None and f"({setting.allowed()}, or F/N)" in action.help
    else:
        assert action.type is setting.kind and f"({setting.allowed()})" in action.help
    for value in _outside(setting):
        assert main(["train", "--out", str(tmp_path / "x"), f"{setting.flag}={value}"]) == 2
        assert f"error: {setting.label} must be" in capsys.readouterr().err


@pytest.fixture(scope="module")
def sidebar() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception
    return at


def _widget(at: AppTest, label: str):
    kinds = ("number_input", "slider", "select_slider", "radio", "selectbox", "text_input")
    found = [w for kind in kinds for w in at.get(kind)]
    matches = [w for w in found if w.proto.label == label]
    assert len(matches) == 1, f"no single widget labelled {label!r}"
    return matches[0]


@pytest.mark.parametrize("setting", list(SETTINGS.values()), ids=list(SETTINGS))
def test_every_setting_is_a_sidebar_widget_with_the_same_bounds(sidebar: AppTest, setting: Setting) -> None:
    if setting.name == "task":  # the chosen dataset's: no widget to contradict it; a CSV's is on the Data page
        found = [w for kind in ("radio", "selectbox", "segmented_control") for w in sidebar.get(kind)]
        assert not [w for w in found if w.proto.label == setting.label]
        assert any("regression sets" in caption.value for caption in sidebar.caption)
        return
    if setting.name == "hidden":
        layers, units = _widget(sidebar, LAYERS_LABEL).proto, _widget(sidebar, UNITS_LABEL).proto
        assert (layers.min, layers.max) == setting.length
        assert (units.min, units.max) == (setting.low, setting.high)
        assert units.help == setting.help
        return
    widget = _widget(sidebar, setting.label)
    proto = widget.proto
    assert proto.help.startswith(setting.help)
    if setting.per_row:  # typed, never snapped to a ladder
        assert widget.value == weight_text(setting.default) and setting.example in proto.placeholder
    elif setting.name == "dataset":
        assert tuple(proto.options[: len(setting.choices)]) == setting.choices
    elif setting.choices:
        assert tuple(proto.options) == setting.choices
    elif setting.ladder:
        offered = [float(option) for option in proto.options]
        assert (min(offered), max(offered)) == (setting.low, setting.high)
        assert offered == sorted(setting.ladder)
    else:
        assert (proto.min, proto.max) == (setting.low, setting.high)
