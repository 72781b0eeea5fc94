"""Datasets: the built-ins, a user's CSV, the stratified split and the scaler.

A :class:`Dataset` holds raw features and integer labels with their names.
:func:`prepare` turns it into the float tensors a network trains on, keeping
the split and the scaler so every chart can go back to raw feature values.
"""

from __future__ import annotations

import csv
import io
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import torch
from sklearn import datasets as sk_datasets
from sklearn.model_selection import train_test_split

from .checks import checked_rows, network_inputs
from .config import BUILTIN_DATASETS, CSV_PREFIX, DataConfig
from .errors import BNNInputError
from .seeds import split_seed

MAX_ROWS = 200_000
MAX_FEATURES = 1_000
MAX_CLASSES = 50
# Larger magnitudes overflow float32 inputs or the scaler's variance; such a column needs rescaling first.
MAX_ABS_VALUE = 1e15
DELIMITERS = (",", ";", "\t")
# The 2-D toy sets are generated with a fixed seed, so "two_moons" always names the same points.
TOY_SEED = 0
TOY_ROWS = 300


@dataclass(frozen=True, eq=False)
class Dataset:
    """Raw rows with named features and named classes.

    Shape:
        x: (N, D) float64, raw feature values.
        y: (N,) int64, class indices into ``class_names``.
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    ignored_columns: tuple[str, ...] = ()  # text columns of a CSV that are not features
    label_column: str | None = None  # the CSV column that held the classes

    @property
    def n_rows(self) -> int:
        return int(self.x.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.x.shape[1])

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def frame(self) -> pd.DataFrame:
        """The rows as a table: one column per feature, then ``label`` with class names."""
        table = pd.DataFrame(self.x, columns=list(self.feature_names))
        table["label"] = np.asarray(self.class_names, dtype=object)[self.y]
        return table


def load_builtin(name: str) -> Dataset:
    """Load one of :data:`BUILTIN_DATASETS` (bundled with scikit-learn, no download)."""
    if name == "two_moons":
        x, y = sk_datasets.make_moons(n_samples=TOY_ROWS, noise=0.2, random_state=TOY_SEED)
        return _checked(Dataset(name, x, y.astype(np.int64), ("x1", "x2"), ("upper moon", "lower moon")))
    if name == "circles":
        x, y = sk_datasets.make_circles(n_samples=TOY_ROWS, noise=0.1, factor=0.5, random_state=TOY_SEED)
        return _checked(Dataset(name, x, y.astype(np.int64), ("x1", "x2"), ("outer ring", "inner ring")))
    loaders = {
        "iris": sk_datasets.load_iris,
        "wine": sk_datasets.load_wine,
        "breast_cancer": sk_datasets.load_breast_cancer,
    }
    if name not in loaders:
        raise BNNInputError(f"Unknown dataset {name!r}; choose one of {', '.join(BUILTIN_DATASETS)}.")
    bunch = loaders[name]()
    return _checked(
        Dataset(
            name,
            bunch.data.astype(np.float64),
            bunch.target.astype(np.int64),
            tuple(str(f) for f in bunch.feature_names),
            tuple(str(c) for c in bunch.target_names),
        )
    )


def read_csv(source: str | Path | bytes | IO[bytes], label_column: str, name: str | None = None) -> Dataset:
    """Read a user's CSV: numeric feature columns plus one label column.

    Commas, semicolons (with decimal commas) and tabs are recognised as separators. Columns without a
    single number (names, IDs) are left out and listed in ``ignored_columns``.
    Every refusal is a :class:`BNNInputError` naming the row and column at fault.

    Args:
        source: a path, the file's bytes, or a binary file object (e.g. an upload).
        label_column: the column whose values are the classes.
        name: how the file is called in messages; defaults to the path's name.
    """
    shown = name or (Path(source).name if isinstance(source, str | Path) else "The CSV file")
    frame = _parse_csv(_read_text(source, shown), shown)
    if label_column not in frame.columns:
        columns = ", ".join(repr(c) for c in frame.columns[:12])
        raise BNNInputError(f"{shown} has no column {label_column!r}; its columns are {columns}.")
    labels = frame[label_column]
    missing = np.flatnonzero(labels.isna().to_numpy())
    if missing.size:
        raise BNNInputError(f"{shown}: data row {missing[0] + 1} has no value in the label column {label_column!r}.")
    features, ignored = _feature_columns(frame.drop(columns=[label_column]), shown)
    _refuse_bad_numbers(features, shown)
    y, class_names = _encode_labels(labels)
    dataset = Dataset(
        f"{CSV_PREFIX}{shown}",
        features.to_numpy(np.float64),
        y,
        tuple(features.columns),
        class_names,
        ignored,
        label_column,
    )
    return _checked(dataset, shown)


def _read_text(source: str | Path | bytes | IO[bytes], shown: str) -> str:
    if isinstance(source, str | Path):
        path = Path(source)
        if path.is_dir():
            raise BNNInputError(f"{source} is a folder, not a CSV file.")
        try:
            raw = path.read_bytes()
        except OSError as err:
            raise BNNInputError(f"Cannot read {source}: {err.strerror or err}.") from None
    elif isinstance(source, bytes):
        raw = source
    else:
        raw = source.read()
    if b"\x00" in raw[:65536]:
        raise BNNInputError(f"{shown} is not a text CSV file (it contains binary data).")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BNNInputError(f"{shown} is not a UTF-8 text CSV file; save it as CSV (UTF-8) and try again.") from None


def _delimiter(header_line: str) -> str:
    """The separator used most in the header line: comma, semicolon or tab."""
    return max(DELIMITERS, key=header_line.count)


def csv_columns(source: str | Path | bytes | IO[bytes], name: str | None = None) -> list[str]:
    """The column names in a CSV's header, e.g. to let a user pick the label column before reading it all."""
    shown = name or (Path(source).name if isinstance(source, str | Path) else "The CSV file")
    return _header(_read_text(source, shown), shown)[1]


def csv_preview(source: str | Path | bytes | IO[bytes], name: str | None = None, rows: int = 20) -> pd.DataFrame:
    """The first ``rows`` data rows as text, as read for training: to look at a file and pick its label column."""
    shown = name or (Path(source).name if isinstance(source, str | Path) else "The CSV file")
    text = _read_text(source, shown)
    separator, names = _header(text, shown)
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=separator, dtype=str, nrows=rows, keep_default_na=False, index_col=False
        )
    except (pd.errors.ParserError, ValueError) as err:
        raise BNNInputError(f"{shown} could not be parsed as CSV ({_parser_reason(err)}).") from None
    frame.columns = names[: len(frame.columns)]
    return frame


def likely_label_column(preview: pd.DataFrame) -> str:
    """A guess at the class column: the last one holding text, else the one with the fewest distinct values."""
    text_columns = [c for c in preview.columns if pd.to_numeric(preview[c], errors="coerce").isna().any()]
    if text_columns:
        return str(text_columns[-1])
    return str(min(reversed(preview.columns), key=lambda c: preview[c].nunique()))


def _header(text: str, shown: str) -> tuple[str, list[str]]:
    """The separator and the stripped column names of the first line, refusing repeats."""
    if not text.strip():
        raise BNNInputError(f"{shown} is empty; it needs a header row and at least one data row.")
    header_line = text.lstrip("\r\n").splitlines()[0]
    separator = _delimiter(header_line)
    names = [cell.strip() for cell in next(csv.reader([header_line], delimiter=separator))]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise BNNInputError(f"{shown} has more than one column named {repeated[0]!r}; give every column its own name.")
    return separator, names


def _parse_csv(text: str, shown: str) -> pd.DataFrame:
    separator, names = _header(text, shown)
    try:
        with warnings.catch_warnings():
            # pandas only warns when data rows are longer than the header, then drops the extra cells.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO(text),
                sep=separator,
                decimal="," if separator == ";" else ".",  # semicolon files come from locales with decimal commas
                skipinitialspace=True,
                index_col=False,
                keep_default_na=False,  # only empty cells are missing; "NA" or "None" stay text
                na_values=[""],
                nrows=MAX_ROWS + 1,  # enough to know the file is too long, without reading all of it
            )
    except pd.errors.ParserWarning:
        raise BNNInputError(f"{shown} has rows with more cells than the header has columns.") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        raise BNNInputError(f"{shown} could not be parsed as CSV ({_parser_reason(err)}).") from None
    if frame.empty:
        raise BNNInputError(f"{shown} has a header but no data rows.")
    if len(frame) > MAX_ROWS:
        raise BNNInputError(f"{shown} has more than {MAX_ROWS:,} rows; the limit is {MAX_ROWS:,}.")
    frame.columns = names
    return frame


def _parser_reason(err: Exception) -> str:
    reason = str(err).split("C error: ")[-1].strip().rstrip(".")
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", reason)
    if fields:
        expected, line, seen = fields.groups()
        return f"line {line} has {seen} cells but the header has {expected} columns"
    return reason


def _feature_columns(frame: pd.DataFrame, shown: str) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Numeric feature columns, and the names of the columns that hold no number at all."""
    numeric: dict[str, pd.Series] = {}
    ignored: list[str] = []
    for column in frame.columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        if values.isna().all():
            ignored.append(column)  # a name or ID column, or an empty one
            continue
        _refuse_text_cells(frame[column], values, column, shown)
        numeric[column] = values.astype(np.float64)
    if not numeric:
        raise BNNInputError(f"{shown} has no numeric feature column; it needs at least one besides the label.")
    if len(numeric) > MAX_FEATURES:
        raise BNNInputError(f"{shown} has {len(numeric):,} feature columns; the limit is {MAX_FEATURES:,}.")
    return pd.DataFrame(numeric), tuple(ignored)


def _refuse_text_cells(cells: pd.Series, values: pd.Series, column: str, shown: str) -> None:
    """A mostly numeric column with a stray word in it is a typo, not a text column."""
    text = cells.notna().to_numpy() & values.isna().to_numpy()
    if text.any():
        row = int(np.flatnonzero(text)[0])
        raise BNNInputError(
            f"{shown}: data row {row + 1}, column {column!r} holds {cells.iloc[row]!r}, "
            "which is not a number; every feature cell must be a finite number."
        )


def _refuse_bad_numbers(features: pd.DataFrame, shown: str) -> None:
    """Refuse empty, infinite and absurdly large cells, naming the first one."""
    values = features.to_numpy()
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(values) | (np.abs(values) > MAX_ABS_VALUE)
    if not bad.any():
        return
    row, col = (int(i) for i in np.argwhere(bad)[0])
    value = values[row, col]
    if np.isnan(value):
        what = "is empty"
    elif np.isinf(value):
        what = "is infinite"
    else:
        what = f"is {value:g}, beyond ±{MAX_ABS_VALUE:g}; rescale that column"
    raise BNNInputError(
        f"{shown}: data row {row + 1}, column {features.columns[col]!r} {what}; "
        "every feature cell must be a finite number."
    )


def _encode_labels(labels: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    """Map label values to 0..C-1: numbers in numeric order, anything else as text in sorted order."""
    if pd.api.types.is_bool_dtype(labels) or pd.api.types.is_integer_dtype(labels):
        values, y = np.unique(labels.to_numpy(), return_inverse=True)
        names = tuple(str(v) for v in values)
    elif pd.api.types.is_float_dtype(labels):
        values, y = np.unique(labels.to_numpy(np.float64), return_inverse=True)
        names = tuple(str(int(v)) if float(v).is_integer() else str(v) for v in values)
    else:
        values, y = np.unique(labels.astype(str).str.strip().to_numpy(), return_inverse=True)
        names = tuple(str(v) for v in values)
    return y.astype(np.int64), names


def _checked(dataset: Dataset, shown: str | None = None) -> Dataset:
    shown = shown or dataset.name
    if dataset.n_classes < 2:
        raise BNNInputError(f"{shown} has only {dataset.n_classes} class; a classifier needs at least 2.")
    if dataset.n_classes > MAX_CLASSES:
        hint = f" Is {dataset.label_column!r} really the column with the classes?" if dataset.label_column else ""
        raise BNNInputError(f"{shown} has {dataset.n_classes} classes; the limit is {MAX_CLASSES}.{hint}")
    return dataset


@dataclass(frozen=True, eq=False)
class Scaler:
    """Per-feature z-scoring fitted on training rows. Shape: mean, std (D,)."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Scaler:
        std = x.std(axis=0)
        # A constant feature carries no information; dividing by 1 keeps it finite.
        return cls(x.mean(axis=0), np.where(std > 0, std, 1.0))

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.std

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, values: dict[str, list[float]]) -> Scaler:
        return cls(np.asarray(values["mean"], dtype=np.float64), np.asarray(values["std"], dtype=np.float64))


def model_inputs(raw: np.ndarray, scaler: Scaler | None, n_features: int) -> torch.Tensor:
    """Raw feature rows (M, D) → a network's float32 inputs (M, D), scaled when ``scaler`` is set.

    Raises:
        BNNInputError: the rows do not have ``n_features`` finite numbers each.
    """
    values = checked_rows(raw, n_features, "the feature rows")
    scaled = scaler.transform(values) if scaler is not None else values
    return network_inputs(np.asarray(scaled, dtype=np.float64), "the scaled feature rows")


@dataclass(frozen=True, eq=False)
class PreparedData:
    """A dataset split and scaled, ready for a network.

    Shape:
        x: (N, D) float32 tensor, scaled when a scaler is set.
        y: (N,) int64 tensor.
        is_test: (N,) bool array, True for held-out rows.
    """

    dataset: Dataset
    config: DataConfig
    is_test: np.ndarray
    scaler: Scaler | None
    x: torch.Tensor
    y: torch.Tensor

    def inputs(self, raw: np.ndarray) -> torch.Tensor:
        """Raw feature rows (M, D) → the network's float32 inputs (M, D); refuses a wrong shape, NaN or inf."""
        return model_inputs(raw, self.scaler, self.dataset.n_features)

    @property
    def train_mask(self) -> torch.Tensor:
        return torch.as_tensor(~self.is_test)

    @property
    def test_mask(self) -> torch.Tensor:
        return torch.as_tensor(self.is_test)

    @property
    def has_test(self) -> bool:
        return bool(self.is_test.any())


def prepare(dataset: Dataset, config: DataConfig, seed: int) -> PreparedData:
    """Split ``dataset`` (stratified, from the run's split stream) and fit the scaler on its training rows only."""
    is_test = _split(dataset, config.test_size, split_seed(seed))
    scaler = Scaler.fit(dataset.x[~is_test]) if config.scale == "standard" else None
    return PreparedData(
        dataset=dataset,
        config=config,
        is_test=is_test,
        scaler=scaler,
        x=model_inputs(dataset.x, scaler, dataset.n_features),
        y=torch.tensor(dataset.y, dtype=torch.int64),
    )


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def _split(dataset: Dataset, test_size: float, seed: int) -> np.ndarray:
    """Return the (N,) held-out mask of a stratified split, after checking it is possible."""
    n_rows, n_classes = dataset.n_rows, dataset.n_classes
    if test_size == 0:
        return np.zeros(n_rows, dtype=bool)
    counts = np.bincount(dataset.y, minlength=n_classes)
    smallest = int(np.argmin(counts))
    if counts[smallest] < 2:
        raise BNNInputError(
            f"Class {dataset.class_names[smallest]!r} has only {_rows(counts[smallest])}, too few to split into "
            "train and test; give every class at least 2 rows or set the test share to 0."
        )
    n_test = math.ceil(test_size * n_rows)
    if n_test < n_classes:
        lowest = math.ceil(100 * n_classes / n_rows) / 100
        raise BNNInputError(
            f"A test share of {test_size:g} holds out {_rows(n_test)}, fewer than the {n_classes} classes; "
            f"use a test share of at least {lowest:g}, or 0."
        )
    if n_rows - n_test < n_classes:
        raise BNNInputError(
            f"A test share of {test_size:g} leaves {_rows(n_rows - n_test)} for training {n_classes} classes; "
            "lower the test share."
        )
    _, test_rows = train_test_split(np.arange(n_rows), test_size=n_test, stratify=dataset.y, random_state=seed)
    is_test = np.zeros(n_rows, dtype=bool)
    is_test[test_rows] = True
    trained = np.bincount(dataset.y[~is_test], minlength=n_classes)
    if (trained == 0).any():
        empty = dataset.class_names[int(np.argmin(trained))]
        raise BNNInputError(
            f"A test share of {test_size:g} leaves class {empty!r} without a single training row; lower the test share."
        )
    return is_test
