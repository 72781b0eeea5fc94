"""Data: choose a built-in dataset or upload a CSV; see its rows, classes and feature pairs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
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
from ui import saved, shared, shell, state
from ui.calibration_figures import class_balance, scatter_matrix
from ui.charts import show

MATRIX_FEATURES = 5  # a scatter matrix of more pairs is unreadable on a projector
PREVIEW_ROWS = 200
PREVIEW_UPLOAD = 5  # rows of an upload shown before choosing its label column


def _train_on(dataset: Dataset) -> None:
    """Make ``dataset`` the one to train on, and train it now with the last settings."""
    state.choose_dataset(dataset.name)
    last: RunConfig = st.session_state.get(state.FORM_CONFIG, RunConfig())
    if shared.train_and_show(replace(last, data=replace(last.data, dataset=dataset.name))) is not None:
        st.success(
            f"Trained on {dataset.name}. Every page now uses this model: open *Train and resample* at the top "
            "to resample it."
        )


def builtin_picker() -> None:
    chosen = state.chosen_dataset_name()
    index = BUILTIN_DATASETS.index(chosen) if chosen in BUILTIN_DATASETS else 0
    choice = st.selectbox("Built-in dataset", BUILTIN_DATASETS, index=index, key="data_builtin")
    if st.button("Use and train", key="use_builtin"):
        _train_on(state.builtin_dataset(choice))


def csv_upload() -> None:
    """Upload a CSV, pick its label column, and train on it; a bad file changes nothing."""
    uploaded = st.file_uploader(
        "Your CSV: numeric feature columns and one label column",
        type=["csv", "tsv", "txt"],
        key="csv_upload",
        help="Commas, semicolons or tabs. Up to 200,000 rows, 1,000 features and 50 classes.",
    )
    if uploaded is None:
        return
    content = uploaded.getvalue()
    try:
        preview = csv_preview(content, name=uploaded.name)
    except BNNInputError as err:
        st.error(str(err))
        return
    st.dataframe(preview.head(PREVIEW_UPLOAD), height=180, width="stretch", hide_index=True)
    columns = list(preview.columns)
    label = st.selectbox(
        "Label column",
        columns,
        index=columns.index(likely_label_column(preview)),
        key=f"csv_label:{uploaded.name}",
        help="The column that holds the classes; every other column with numbers becomes a feature.",
    )
    if st.button("Use this CSV and train", type="primary", key="use_csv"):
        try:
            dataset = read_csv(content, label, name=uploaded.name)
        except BNNInputError as err:
            st.error(f"{err} The data in use has not changed.")
            return
        st.session_state[state.USER_DATASET] = dataset
        _train_on(dataset)


def describe_dataset(dataset: Dataset) -> None:
    """Preview, class balance and a scatter matrix of the data the next Train uses."""
    st.subheader(f"In use: {dataset.name}")
    notes = f"{dataset.n_rows:,} rows · {dataset.n_features} features · {dataset.n_classes} classes"
    if dataset.ignored_columns:
        notes += f" · text columns left out: {', '.join(dataset.ignored_columns)}"
    st.caption(notes)
    st.dataframe(dataset.frame().head(PREVIEW_ROWS), height=260, width="stretch")
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

shell.run_page("Data", "The data", INTRO, draw, ":material/table_view:")
