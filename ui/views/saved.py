"""Saved runs: save the run on screen under a name, load a saved run (the app's or the command line's), and a
run zip in and out. The runs folder is shared by everyone on this server; an uploaded zip stays in its session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from bnn_core import BNNInputError, TrainedRun, save_run
from bnn_core.runs.archive import MAX_ZIP_BYTES, open_run_zip
from bnn_core.runs.restore import restore_run
from bnn_core.runs.store import run_path, saved_runs

from .. import sources, state
from ..controls import fill_form
from ..text import plain

MAX_SAVES_PER_SESSION = 20  # new names one session may add to the shared folder; replacing its own is free
MAX_SAVED_RUNS = 200  # runs the shared folder may hold before the app stops adding new names


def check_room_for(path: Path, saved_here: set[str]) -> None:
    """Refuse a new name in the shared runs folder once this session, or the folder, holds its most.

    Replacing a run that already has that name adds nothing, so it is always allowed.

    Raises:
        BNNInputError: the session has saved MAX_SAVES_PER_SESSION names, or the folder holds MAX_SAVED_RUNS runs.
    """
    if path.exists() or path.is_symlink():
        return
    if len(saved_here) >= MAX_SAVES_PER_SESSION:
        raise BNNInputError(
            f"This session has saved {len(saved_here)} runs, the most one session may save; save under one of "
            f"their names ({', '.join(sorted(saved_here)[:3])}, …) to replace it. Nothing was saved."
        )
    held = len(saved_runs(path.parent))
    if held >= MAX_SAVED_RUNS:
        raise BNNInputError(
            f"The runs folder {path.parent} holds {held} runs, the most the app adds to; replace one by saving "
            f"under its name. Nothing was saved."
        )


def save_form(run: TrainedRun) -> None:
    """Save the run on screen into the runs folder under a name (atomic; an existing run of that name is replaced)."""
    folder = sources.runs_folder()
    with st.form("save_run", border=False):
        name = st.text_input("Name", placeholder="e.g. iris-textbook", help="Letters, digits, '.', '_' and '-'.")
        if not st.form_submit_button("Save the run on screen"):
            return
    saved_here: set[str] = st.session_state.setdefault(state.SAVED_NAMES, set())
    try:
        target = run_path(folder, name)
        check_room_for(target, saved_here)
        path = save_run(run, target)
    except BNNInputError as err:
        st.error(plain(err))
        return
    saved_here.add(path.name)
    st.success(plain(f"Saved as {path.name} in {folder}."))


def load_picker() -> None:
    """The runs in the runs folder; loading one takes no training."""
    folder = sources.runs_folder()
    found = saved_runs(folder)
    if not found:
        st.caption(f"No saved runs yet in {folder}. Save one with the form on the left, or train one with "
                   f"`python -m bnn_core train --out {folder}/NAME`.")  # fmt: skip
        return
    names = [path.name for path in found]
    choice = st.selectbox("Saved runs", names, key="saved_choice", help=f"Runs in {folder}")
    st.button("Load", key="load_saved", on_click=lambda: load(
        "load_saved", lambda: restore_run(folder / choice), f"Loaded the saved run {choice}.",
        f"The saved run {choice}",
    ))  # fmt: skip
    show_outcome("load_saved")


def zip_upload() -> None:
    """A run zip (downloaded from this app, say) back on screen, for this session only."""
    limit_mb = min(MAX_ZIP_BYTES >> 20, int(st.get_option("server.maxUploadSize")))  # the server's limit may be less
    uploaded = st.file_uploader(
        "A run zip", type=["zip"], key="run_zip", help=f"As the main page's download gives it; at most "
        f"{limit_mb} MB. It is not shared with other users."
    )  # fmt: skip
    if uploaded is not None:
        st.button("Load the zip", key="load_zip", on_click=lambda: load(
            "load_zip", lambda: open_run_zip(uploaded.getvalue(), uploaded.name), f"Loaded {uploaded.name}.",
            f"From {uploaded.name}",
        ))  # fmt: skip
    show_outcome("load_zip")


OUTCOME = "bnn_load_outcome"  # {button key: (succeeded, sentence)}: what a Load press did, shown once below it


def load(button: str, read: Callable[[], TrainedRun], message: str, origin: str) -> None:
    """A Load button's callback: put the run ``read()`` returns on screen with its settings in the form; a bad run
    changes nothing. ``origin`` names where it came from, above every page's charts. A callback, because it runs
    before the sidebar's form is drawn: the form's widgets may change then, and not after (Streamlit raises)."""
    try:
        run = read()
    except BNNInputError as err:
        st.session_state[OUTCOME] = {button: (False, str(err))}
        return
    preset = sources.preset_for(run.config)
    state.show_run(run, preset=preset.slug if preset else None, origin=origin)
    fill_form(run.config, plain(message))
    st.session_state[OUTCOME] = {button: (True, f"{message} Every page now shows it.")}


def show_outcome(button: str) -> None:
    """What the Load ``button`` did, once, as text (it names a file from outside)."""
    outcome = st.session_state.get(OUTCOME, {}).get(button)
    if outcome is None:
        return
    del st.session_state[OUTCOME]
    succeeded, sentence = outcome
    (st.success if succeeded else st.error)(plain(sentence))


def draw(run: TrainedRun) -> None:
    st.subheader("Saved runs")
    left, middle, right = st.columns(3, gap="large")
    with left:
        save_form(run)
    with middle:
        load_picker()
    with right:
        zip_upload()
