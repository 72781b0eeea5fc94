"""Datasets: the built-in sets and the rows a user edits.

A :class:`Dataset` holds raw features and, with their names, integer labels (classification) or
real-valued targets (regression). :mod:`bnn_core.data.csv_file` reads a user's CSV into one, and
:mod:`bnn_core.data.prepared` splits and scales it for a network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn import datasets as sk_datasets

from ..config import BUILTIN_DATASETS, CSV_PREFIX, REGRESSION_DATASETS
from ..errors import BNNInputError
from ..limits import MAX_CLASSES, MAX_NAME_CHARS
from ..text import quoted
from .checks import checked_rows

# The 2-D toy sets are generated with a fixed seed, so "two_moons" always names the same points.
TOY_SEED = 0
TOY_ROWS = 300


@dataclass(frozen=True, eq=False)
class Dataset:
    """Raw rows with named features, and named classes or a named real-valued target.

    Shape:
        x: (N, D) float64, raw feature values.
        y: (N,) int64 class indices into ``class_names`` (classification), or (N,) float64 targets with
            ``class_names`` empty (regression).
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    ignored_columns: tuple[str, ...] = ()  # the CSV columns left out (dropped: text, dates, empty)
    label_column: str | None = None  # the CSV column that held the classes or the target
    # Every CSV column in file order with its use: "label", "feature", "one-hot (3 levels)", "dropped: date"...
    column_fates: tuple[tuple[str, str], ...] = ()
    dropped_rows: int = 0  # CSV rows left out for a missing cell in a column in use
    # (N,) bool: rows this set itself holds out, in place of a random split (an edited set keeps its split)
    held_out: np.ndarray | None = None

    @property
    def n_rows(self) -> int:
        return int(self.x.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.x.shape[1])

    @property
    def n_classes(self) -> int:
        """C, the number of classes; 0 for regression."""
        return len(self.class_names)

    @property
    def task(self) -> str:
        """ "classification" (integer labels) or "regression" (real-valued targets)."""
        return "regression" if self.y.dtype.kind == "f" else "classification"

    @property
    def target_name(self) -> str:
        """How the target is called: its CSV column, else ``label`` or ``y``."""
        return self.label_column or ("y" if self.task == "regression" else "label")

    def frame(self) -> pd.DataFrame:
        """The rows as a table: one column per feature, then the class names (``label``) or the target."""
        table = pd.DataFrame(self.x, columns=list(self.feature_names))
        if self.task == "regression":
            table[self.target_name] = self.y
        else:
            table["label"] = np.asarray(self.class_names, dtype=object)[self.y]
        return table


def cubic(rows: int = 20, seed: int = TOY_SEED) -> Dataset:
    """y = x³ + ε, ε ~ N(0, 3²), x uniform in [−4, 4] (Hernández-Lobato & Adams 2015)."""
    generator = np.random.default_rng(seed)
    x = generator.uniform(-4.0, 4.0, rows)
    return Dataset("cubic", x[:, None], x**3 + generator.normal(0.0, 3.0, rows), ("x",), ())


SINE_GAP = (-1.0, 1.0)  # the interval sine_gap leaves without data
DESIGNED_GAPS = {"sine_gap": SINE_GAP}  # built-in sets generated with a gap in their one input


def sine_gap(rows: int = 60, seed: int = TOY_SEED) -> Dataset:
    """y = sin(x) + ε, ε ~ N(0, 0.1²), x uniform in [−3, 3] except its middle third, (−1, 1), which has no data."""
    generator = np.random.default_rng(seed)
    side = generator.uniform(SINE_GAP[1], 3.0, rows) * generator.choice([-1.0, 1.0], rows)
    return Dataset("sine_gap", side[:, None], np.sin(side) + generator.normal(0.0, 0.1, rows), ("x",), ())


def heteroscedastic(rows: int = 100, seed: int = TOY_SEED) -> Dataset:
    """y = x + ε, ε ~ N(0, (0.1 + 0.3 |x|)²), x uniform in [−3, 3]: the noise grows with |x|."""
    generator = np.random.default_rng(seed)
    x = generator.uniform(-3.0, 3.0, rows)
    y = x + generator.normal(0.0, 1.0, rows) * (0.1 + 0.3 * np.abs(x))
    return Dataset("heteroscedastic", x[:, None], y, ("x",), ())


def load_builtin(name: str) -> Dataset:
    """Load one of :data:`BUILTIN_DATASETS`: scikit-learn's (bundled, no download) or a generated one."""
    if name in REGRESSION_DATASETS:
        return checked_dataset({"cubic": cubic, "sine_gap": sine_gap, "heteroscedastic": heteroscedastic}[name]())
    if name == "two_moons":
        x, y = sk_datasets.make_moons(n_samples=TOY_ROWS, noise=0.2, random_state=TOY_SEED)
        return checked_dataset(Dataset(name, x, y.astype(np.int64), ("x1", "x2"), ("upper moon", "lower moon")))
    if name == "circles":
        x, y = sk_datasets.make_circles(n_samples=TOY_ROWS, noise=0.1, factor=0.5, random_state=TOY_SEED)
        return checked_dataset(Dataset(name, x, y.astype(np.int64), ("x1", "x2"), ("outer ring", "inner ring")))
    loaders = {
        "iris": sk_datasets.load_iris,
        "wine": sk_datasets.load_wine,
        "breast_cancer": sk_datasets.load_breast_cancer,
    }
    if name not in loaders:
        raise BNNInputError(f"Unknown dataset {name!r}; choose one of {', '.join(BUILTIN_DATASETS)}.")
    bunch = loaders[name]()
    return checked_dataset(
        Dataset(
            name,
            bunch.data.astype(np.float64),
            bunch.target.astype(np.int64),
            tuple(str(f) for f in bunch.feature_names),
            tuple(str(c) for c in bunch.target_names),
        )
    )


def checked_dataset(dataset: Dataset, shown: str | None = None) -> Dataset:
    """The dataset itself, once its classes are checked (at least 2 and at most :data:`MAX_CLASSES`) and its
    names: each at most :data:`~bnn_core.limits.MAX_NAME_CHARS` long, as a run's files allow."""
    shown = shown or dataset.name
    names = (*dataset.feature_names, *dataset.class_names, *dataset.ignored_columns, dataset.label_column or "")
    longest = max(names, key=len)
    if len(longest) > MAX_NAME_CHARS:
        raise BNNInputError(
            f"{shown} has a column or class named {quoted(longest)}; a name is at most {MAX_NAME_CHARS:,} characters."
        )
    if dataset.task == "regression":
        return dataset
    if dataset.n_classes < 2:
        raise BNNInputError(f"{shown} has only {dataset.n_classes} class; a classifier needs at least 2.")
    if dataset.n_classes > MAX_CLASSES:
        hint = f" (is {dataset.label_column!r} really the column with the classes?)" if dataset.label_column else ""
        raise BNNInputError(f"{shown} has {dataset.n_classes} classes; the limit is {MAX_CLASSES}{hint}.")
    return dataset


EDITED = " (edited)"  # the end of an edited set's name: "csv:cubic (edited)"


def edit_rows(dataset: Dataset, drop: Sequence[int] = (), add_x: np.ndarray | None = None,
              add_y: np.ndarray | None = None, is_test: np.ndarray | None = None) -> Dataset:  # fmt: skip
    """A regression set with rows ``drop`` left out and rows (M, D) with targets (M,) added at its end: the
    points a user clicks in or out of a chart. It is named ``csv:<the original name> (edited)``, a user's data,
    so that it never passes for the built-in set.

    ``is_test`` (N,), the split of the run being edited, is kept: the remaining rows stay on their side and the
    added ones are training rows, so that a click never moves other points between train and test.

    Raises:
        BNNInputError: the set is not a regression set, a row to drop does not exist, an added row is not D
            finite numbers with a finite target, or fewer than 2 rows would be left.
    """
    if dataset.task != "regression":
        raise BNNInputError(f"Points can only be added to a regression set; {dataset.name} has classes.")
    bad = sorted(i for i in set(drop) if not 0 <= i < dataset.n_rows)
    if bad:
        raise BNNInputError(f"There is no row {bad[0]} to remove; the rows are 0 to {dataset.n_rows - 1}.")
    add_x = np.zeros((0, dataset.n_features)) if add_x is None else checked_rows(add_x, dataset.n_features, "new rows")
    add_y = np.zeros(0) if add_y is None else np.asarray(add_y, dtype=np.float64).reshape(-1)
    if len(add_y) != len(add_x) or not np.isfinite(add_y).all():
        raise BNNInputError(f"Each of the {len(add_x)} new rows needs one finite target, got {add_y.tolist()[:5]}.")
    keep = np.setdiff1d(np.arange(dataset.n_rows), np.asarray(list(drop), dtype=np.int64))
    held_out = (
        None if is_test is None else np.concatenate([np.asarray(is_test, bool)[keep], np.zeros(len(add_x), bool)])
    )
    training = len(keep) + len(add_x) if held_out is None else int((~held_out).sum())
    if training < 2:
        raise BNNInputError("Regression needs at least 2 training rows; this edit would leave fewer.")
    root = dataset.name.removeprefix(CSV_PREFIX).removesuffix(EDITED)
    return Dataset(
        f"{CSV_PREFIX}{root}{EDITED}",
        np.vstack([dataset.x[keep], add_x]),
        np.concatenate([dataset.y[keep], add_y]),
        dataset.feature_names,
        (),
        label_column=dataset.label_column,
        held_out=held_out,
    )


def rows_text(count: int) -> str:
    """ "1 row", "5 rows": a count of rows as messages say it."""
    return f"{count} row" if count == 1 else f"{count} rows"
