"""Saved runs: save the run on screen under a name, load a saved run (the app's or the command line's), and a
run zip in and out. The runs folder is shared by everyone on this server; an uploaded zip stays in its session."""

from __future__ import annotations

import streamlit as st

from bnn_core import BNNInputError, TrainedRun, save_run
from bnn_core.archive import MAX_ZIP_BYTES, open_run_zip
from bnn_core.restore import restore_run
from bnn_core.runs import run_path, saved_runs

from . import sources, state
from .controls import fill_form


def save_form(run: TrainedRun) -> None:
    """Save the run on screen into the runs folder under a name (atomic; an existing run of that name is replaced)."""
    folder = sources.runs_folder()
    with st.form("save_run", border=False):
        name = st.text_input("Name", placeholder="e.g. iris-textbook", help="Letters, digits, '.', '_' and '-'.")
        if not st.form_submit_button("Save the run on screen"):
            return
    try:
        path = save_run(run, run_path(folder, name))
    except BNNInputError as err:
        st.error(str(err))
        return
    st.success(f"Saved as {path.name} in {folder}.")


def load_picker() -> None:
    """The runs in the runs folder; loading one takes no training."""
    folder = sources.runs_folder()
    found = saved_runs(folder)
    if not found:
        st.caption(f"No saved runs yet in {folder}. Save one above, or train one with "
                   f"`python -m bnn_core train --out {folder}/NAME`.")  # fmt: skip
        return
    names = [path.name for path in found]
    choice = st.selectbox("Saved runs", names, key="saved_choice", help=f"Runs in {folder}")
    if st.button("Load", key="load_saved"):
        show_loaded(lambda: restore_run(folder / choice), f"Loaded the saved run {choice}.")


def zip_upload() -> None:
    """A run zip (downloaded from this app, say) back on screen, for this session only."""
    limit_mb = min(MAX_ZIP_BYTES >> 20, int(st.get_option("server.maxUploadSize")))  # the server's limit may be less
    uploaded = st.file_uploader(
        "A run zip", type=["zip"], key="run_zip", help=f"As the main page's download gives it; at most "
        f"{limit_mb} MB. It is not shared with other users."
    )  # fmt: skip
    if uploaded is not None and st.button("Load the zip", key="load_zip"):
        show_loaded(lambda: open_run_zip(uploaded.getvalue(), uploaded.name), f"Loaded {uploaded.name}.")


def show_loaded(read, message: str) -> None:
    """Put the run ``read()`` returns on screen with its settings in the form; a bad run changes nothing."""
    try:
        run = read()
    except BNNInputError as err:
        st.error(str(err))
        return
    preset = sources.preset_for(run.config)
    state.show_run(run, preset=preset.slug if preset else None)
    fill_form(run.config, message)
    st.success(f"{message} Every page now shows it.")


def draw(run: TrainedRun) -> None:
    st.subheader("Saved runs")
    left, middle, right = st.columns(3, gap="large")
    with left:
        save_form(run)
    with middle:
        load_picker()
    with right:
        zip_upload()
