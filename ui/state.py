"""Per-session state, under key names defined once.

Everything a user trains or uploads lives in ``st.session_state`` under the keys
below, so two browser sessions never see each other's models. The built-in
datasets go through ``st.cache_data``, which hands every caller its own copy; the
shared runs (gallery and server cache) are in :mod:`ui.sources`.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TypeVar

import streamlit as st

from bnn_core import BUILTIN_DATASETS, Dataset, TrainedRun, load_builtin

T = TypeVar("T")

RUN = "bnn_run"  # TrainedRun on screen: only ever a finished one
SAMPLE_INDEX = "bnn_sample_index"  # which posterior draw the right-hand chart shows
FORM_CONFIG = "bnn_form_config"  # the last settings submitted with Train, restored into the form
USER_DATASET = "bnn_user_dataset"  # a Dataset read from the user's CSV
CHOSEN_DATASET = "bnn_chosen_dataset"  # name of the dataset the next Train uses
TRAINING = "bnn_training"  # TrainingMark while a training run is under way
DATASET_WIDGET = "form_dataset"  # the sidebar's dataset select box
TWIN = "bnn_twin"  # (TrainedRun, TwinRun): the deterministic twin of that run
TWIN_PAUSED = "bnn_twin_paused"  # the TrainedRun whose twin training the user stopped
FORM_VERSION = "bnn_form_version"  # bumped when a preset is loaded: the form is redrawn afresh
PRESET_LOADED = "bnn_preset_loaded"  # a one-time message after a preset button
VIEW = "bnn_view"  # the main page's view choices (axes, marker size, mean toggle), kept across pages
MEMO = "bnn_memo"  # (inputs, result) of the last slow computation per page
PRESET = "bnn_preset"  # slug of the gallery preset on screen, while the run on screen is that preset
LAST_PRESET = "bnn_last_preset"  # the gallery preset shown last: ← and → step on from it after a run of one's own
ORIGIN = "bnn_origin"  # where the run on screen came from, in words ("Your run", "From the sweep", …)
PENDING = "bnn_pending"  # RunConfig submitted with Train: trained once the page has drawn the run it replaces
PENDING_ORIGIN = "bnn_pending_origin"  # where the pending RunConfig came from, if not the sidebar's Train
PRESENT = "bnn_present"  # presenter mode on
PLAYING = "bnn_playing"  # the posterior sample advances by itself
LINK_READ = "bnn_link_read"  # the URL this session opened with has been applied
LINK_POINT = "bnn_link_point"  # the truck page's point from the URL, applied when that page first draws
SAVED_NAMES = "bnn_saved_names"  # the run names this session saved into the shared runs folder
PAGE_PARAMS = "bnn_page_params"  # this page's part of the URL (axes, map colouring, probe point)
EDITED_DATASET = "bnn_edited_dataset"  # a regression set with points clicked in or out (a Dataset)
UNEDITED_RUN = "bnn_unedited_run"  # the run on screen before the first clicked point, for Clear
EDIT_REFUSAL = "bnn_edit_refusal"  # why the last click on a regression chart was refused, shown once
SLOW_EDIT = "bnn_slow_edit"  # data edited by a click, to retrain with a progress bar once the page has drawn
EDIT_COUNT = "bnn_edit_count"  # clicks handled so far: part of the chart's key, so no click is handled twice

# Widgets whose values the session keeps across pages and links, declared once: Streamlit forgets a widget's value
# while another page is shown, and carry_widgets() brings back every one of these. A link seeds them in VIEW.
MAP_X, MAP_Y = "map_x", "map_y"  # the uncertainty map's axes
MAP_HOLD = "map_hold"  # the map's other features: at their training median, or at a point the user sets
HELD_VALUE = "map_hold_"  # + a feature's name: that feature's value on the map
AXIS_X, AXIS_Y = "axis_x:", "axis_y:"  # + a dataset's name: the main page's axes for that dataset
SIZE_MEASURE = "size_measure"  # the uncertainty the main page's markers show
SHOW_MEAN = "show_mean"  # the main page's third chart, the posterior mean
REGRESSION_X = "regression_x:"  # + a dataset's name: the regression chart's x-axis feature
SPAGHETTI = "regression_spaghetti"  # 30 sample curves at once on the regression chart
COMPARED = "compare_with"  # the method the map, truck and calibration pages set beside the BNN
KEPT_WIDGETS = frozenset({MAP_X, MAP_Y, MAP_HOLD, SIZE_MEASURE, SHOW_MEAN, SPAGHETTI, COMPARED})
KEPT_PREFIXES = (HELD_VALUE, AXIS_X, AXIS_Y, REGRESSION_X)


@dataclass
class TrainingMark:
    """Left in the session while training runs; still there next run means it was interrupted.

    Mutable on purpose: the progress callback bumps ``step`` without a Streamlit call.
    """

    what: str  # "model" (a BNN) or "twin" (the plain network)
    epochs: int
    step: int = 0


@st.cache_data(show_spinner=False, max_entries=8)
def builtin_dataset(name: str) -> Dataset:
    """A built-in dataset (each caller gets its own copy)."""
    return load_builtin(name)


def _own_datasets() -> list[Dataset]:
    """The user's own data: their CSV once uploaded, and a regression set they clicked points into."""
    return [d for d in (st.session_state.get(USER_DATASET), st.session_state.get(EDITED_DATASET)) if d is not None]


def dataset_names() -> list[str]:
    """The datasets a user can train on: the built-ins, plus their own."""
    return [*BUILTIN_DATASETS, *(dataset.name for dataset in _own_datasets())]


def dataset_by_name(name: str) -> Dataset:
    own = next((dataset for dataset in _own_datasets() if dataset.name == name), None)
    return own if own is not None else builtin_dataset(name)


def chosen_dataset_name() -> str:
    name = st.session_state.get(CHOSEN_DATASET, "iris")
    return name if name in dataset_names() else "iris"


def choose_dataset(name: str) -> None:
    """Make ``name`` the dataset the next Train uses, and show it in the sidebar."""
    st.session_state[CHOSEN_DATASET] = name
    st.session_state.pop(DATASET_WIDGET, None)  # re-seeded from CHOSEN_DATASET when the form is drawn


def current_run() -> TrainedRun | None:
    return st.session_state.get(RUN)


def show_run(run: TrainedRun, preset: str | None = None, sample: int = 0, origin: str = "Your run") -> None:
    """Put a finished run on screen at posterior sample ``sample``; ``preset`` names it if it is a gallery run,
    ``origin`` says where any other run came from (the status strip names it)."""
    st.session_state[RUN] = run
    st.session_state[SAMPLE_INDEX] = sample
    st.session_state[PRESET] = preset
    st.session_state[ORIGIN] = origin
    st.session_state[PLAYING] = False
    if preset is not None:
        st.session_state[LAST_PRESET] = preset


def shown_preset() -> str | None:
    return st.session_state.get(PRESET)


def last_preset() -> str | None:
    """The gallery preset on screen, or the one shown last before a run of the user's own."""
    return st.session_state.get(LAST_PRESET)


def run_origin() -> str:
    return st.session_state.get(ORIGIN, "Your run")


def presenting() -> bool:
    return bool(st.session_state.get(PRESENT, False))


PRESENT_TOGGLE = "present_toggle"  # the sidebar's switch, which must say what PRESENT says


def set_presenting(on: bool) -> None:
    """Presenter mode on or off, the sidebar's switch with it (called before the switch is drawn: from a callback,
    or while a link is read)."""
    st.session_state[PRESENT] = on
    st.session_state[PRESENT_TOGGLE] = on


def memo(name: str, inputs: tuple, compute: Callable[[], T]) -> T:
    """``compute()``, reused while ``inputs`` stay the same (per session and page; one entry each).

    For slow per-run results such as a 100×100 map: reruns caused by unrelated widgets skip the work.
    """
    entries = st.session_state.setdefault(MEMO, {})
    cached = entries.get(name)
    if (
        cached is not None
        and len(cached[0]) == len(inputs)
        and all(a is b or a == b for a, b in zip(cached[0], inputs, strict=True))
    ):
        return cached[1]
    result = compute()
    entries[name] = (inputs, result)
    return result


# What a page derives from a finished run alone, kept with the run object: it goes when the session lets go of it.
_DERIVED: weakref.WeakKeyDictionary[TrainedRun, dict[str, tuple[Hashable, object]]] = weakref.WeakKeyDictionary()


def derived(run: TrainedRun, name: str, build: Callable[[], T], inputs: Hashable = ()) -> T:
    """``build()`` once per finished ``run`` object, ``name`` and ``inputs``, for every rerun that shows it.

    For what depends on the run and ``inputs`` alone (the axes, say): its table of uncertain points, its loss
    curves, the hover text of its points. Each rerun of a session (a widget, the View pop-over, a page switch
    back) repeated that work while holding Python's lock, which the other sessions' trainings wait for. Sessions
    hold their own copies of shared runs (:mod:`ui.sources`), so each copy has its own entries. One entry per
    name: new ``inputs`` replace the old, so a user going through 30 pairs of axes keeps one figure, not 30. Nobody
    may mutate what ``build`` returns.
    """
    entries = _DERIVED.setdefault(run, {})
    kept = entries.get(name)
    if kept is not None and kept[0] == inputs:
        return kept[1]
    result = build()
    entries[name] = (inputs, result)
    return result


def kept(key: object) -> bool:
    """True for the key of a widget whose value the session keeps across pages (see :data:`KEPT_WIDGETS`)."""
    return isinstance(key, str) and (key in KEPT_WIDGETS or key.startswith(KEPT_PREFIXES))


def carry_widgets() -> None:
    """Once per request, before any page draws: save every kept widget's value (as the last run left it, or as
    the user just set it), and bring back those that Streamlit forgot while another page was shown."""
    saved = st.session_state.setdefault(VIEW, {})
    for key in list(st.session_state):
        if kept(key):
            saved[key] = st.session_state[key]
    for key, value in saved.items():
        if kept(key) and key not in st.session_state:
            st.session_state[key] = value


def sample_index() -> int:
    return int(st.session_state.get(SAMPLE_INDEX, 0))


def next_sample() -> None:
    st.session_state[SAMPLE_INDEX] = sample_index() + 1


def remember_in_link(**params: str) -> None:
    """A page's own URL parameters (``x``, ``show``, ``point``…), written into the URL at the end of the run."""
    st.session_state.setdefault(PAGE_PARAMS, {}).update(params)


def page_params() -> dict[str, str]:
    """This run's page parameters (see :func:`remember_in_link`), taken once."""
    return st.session_state.pop(PAGE_PARAMS, {})


def run_label(run: TrainedRun) -> str:
    """A short name for file names: the gallery preset, or the dataset and seed."""
    preset = shown_preset() if current_run() is run else None
    return preset or f"{run.data.dataset.name.removeprefix('csv:')}-seed{run.config.seed}"
