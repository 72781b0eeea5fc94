"""Data: choose a built-in dataset or upload a CSV; see its rows, classes and feature pairs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import streamlit as st

from bnn_core import (
    BUILTIN_DATASETS,
    BNNInputError,
    Dataset,
    RunConfig,
    TrainedRun,
    csv_preview,
    likely_label_column,
    read_csv,
)
from bnn_core.data.csv_file import guess_task, rows_note
from bnn_core.settings import SETTINGS
from ui import shell, state
from ui.charts import show
from ui.figures.calibration import class_balance, scatter_matrix
from ui.figures.regression import target_scatter
from ui.text import plain
from ui.training import refusal
from ui.views import saved, shared

MATRIX_FEATURES = 5  # a scatter matrix of more pairs is unreadable on a projector
PREVIEW_ROWS = 200
DATA_UNCHANGED = "the data in use has not changed"
PREVIEW_UPLOAD = 5  # rows of an upload shown before choosing its label column


def _train_on(dataset: Dataset, shown: str) -> None:
    """Train ``dataset`` now with the last settings; only then is it the data in use, on every page.

    ``shown`` names the file or dataset in a refusal. A refusal or a Stop leaves the data in use, the
    sidebar and the run on screen as they were: nothing is written to the session before training ends.
    """
    last: RunConfig = st.session_state.get(state.FORM_CONFIG, RunConfig())
    config = replace(last, data=replace(last.data, dataset=dataset.name, task=dataset.task))
    if shared.train_and_show(config, dataset, shown) is None:
        return
    if dataset.name not in BUILTIN_DATASETS:
        st.session_state[state.USER_DATASET] = dataset
    state.choose_dataset(dataset.name)
    st.success(
        f"Trained on {plain(dataset.name)}. Every page now uses this model: open *Train and resample* at the top "
        "to resample it."
    )


def builtin_picker() -> None:
    chosen = state.chosen_dataset_name()
    index = BUILTIN_DATASETS.index(chosen) if chosen in BUILTIN_DATASETS else 0
    choice = st.selectbox("Built-in dataset", BUILTIN_DATASETS, index=index, key="data_builtin")
    if st.button("Use and train", key="use_builtin"):
        _train_on(state.builtin_dataset(choice), choice)


def csv_upload() -> None:
    """Upload a CSV, pick its label column, and train on it; a bad file changes nothing."""
    uploaded = st.file_uploader(
        "Your CSV: feature columns and one label column",
        type=["csv", "tsv", "txt"],
        key="csv_upload",
        help="Commas, semicolons or tabs; UTF-8, UTF-16 or Windows-1252 text. Up to 200,000 rows, "
        "1,000 features and 50 classes.",
    )
    if uploaded is None:
        return
    content = uploaded.getvalue()
    try:
        preview = csv_preview(content, name=uploaded.name)
    except BNNInputError as err:
        st.error(refusal(err, unchanged=DATA_UNCHANGED))
        return
    st.dataframe(preview.head(PREVIEW_UPLOAD), height=180, width="stretch", hide_index=True)
    columns = list(preview.columns)
    label = st.selectbox(
        "Label or target column",
        columns,
        index=columns.index(likely_label_column(preview)),
        key=f"csv_label:{uploaded.name}",
        help="The column to predict: classes, or a number for regression. Number columns become features, text "
        "with up to 20 values one-hot features; dates, IDs and other text are left out, and rows with a missing "
        "cell are dropped.",
    )
    task_key = f"csv_task:{uploaded.name}:{label}"
    if task_key not in st.session_state:  # a guess from the column, until the user switches it
        st.session_state[task_key] = guess_task(content, label, name=uploaded.name)
    task = st.segmented_control(
        SETTINGS["task"].label, SETTINGS["task"].choices, key=task_key, help=SETTINGS["task"].help
    )
    if st.button("Use this CSV and train", type="primary", key="use_csv"):
        try:
            dataset = read_csv(content, label, name=uploaded.name, task=task or "classification")
        except BNNInputError as err:
            st.error(refusal(err, unchanged=DATA_UNCHANGED))
            return
        _train_on(dataset, uploaded.name)


def describe_dataset(dataset: Dataset) -> None:
    """Preview, class balance and a scatter matrix of the data the next Train uses."""
    st.subheader(f"In use: {plain(dataset.name)}")
    target = plain(dataset.target_name)
    kind = f"regression of {target}" if dataset.task == "regression" else f"{dataset.n_classes} classes"
    st.caption(f"{dataset.n_rows:,} rows · {dataset.n_features} features · {kind}")
    if dataset.column_fates:  # a CSV: how each of its columns is used, and the rows it lost
        st.caption(rows_note(dataset))
        st.dataframe(pd.DataFrame(dataset.column_fates, columns=["CSV column", "used as"]), hide_index=True)
    st.dataframe(dataset.frame().head(PREVIEW_ROWS), height=260, width="stretch")
    if dataset.task == "regression":
        show(target_scatter(dataset.x[:, 0], dataset.y, dataset.feature_names[0], dataset.target_name), key="target")
        return
    counts = np.bincount(dataset.y, minlength=dataset.n_classes)
    left, right = st.columns([1, 2], gap="medium")
    show(class_balance(counts, dataset.class_names), key="class_balance", where=left)
    shown = min(dataset.n_features, MATRIX_FEATURES)
    rows = np.random.default_rng(0).permutation(dataset.n_rows)[:2000]  # a readable number of dots
    matrix = scatter_matrix(
        dataset.x[rows, :shown], dataset.y[rows], dataset.feature_names[:shown], dataset.class_names
    )
    show(matrix, key="scatter_matrix", where=right)
    if dataset.n_features > shown:
        right.caption(f"The first {shown} of {dataset.n_features} features.")


def draw(run: TrainedRun) -> None:
    left, right = st.columns(2, gap="large")
    with left:
        builtin_picker()
    with right:
        csv_upload()
    saved.draw(run)
    describe_dataset(state.dataset_by_name(state.chosen_dataset_name()))


INTRO = (
    "Pick a built-in dataset or upload your own CSV. The chosen data is what **Train** uses, on every page; "
    "feature and class names follow it into every chart. Below: save the run on screen, load a saved run or a "
    "run zip."
)

shell.run_page("Data", "The data", INTRO, draw)
