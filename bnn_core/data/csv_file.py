"""A user's CSV: the encoding, the separator, the missing-value markers, and each column's use.

:func:`read_csv` turns the file into a :class:`~bnn_core.data.datasets.Dataset`, or refuses it in one
sentence that names the file and, where there is one, the row and the column.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from ..config import CSV_PREFIX, TASKS
from ..errors import BNNInputError
from ..limits import MAX_ABS_VALUE, MAX_FEATURES, MAX_LEVELS, MAX_ROWS
from .datasets import Dataset, checked_dataset, rows_text

DELIMITERS = (",", ";", "\t")
# separator: (decimal mark, thousands separator); semicolon files come from locales with decimal commas.
NUMBER_MARKS = {",": (".", ","), ";": (",", "."), "\t": (".", ",")}
# pandas' default missing-value markers (see read_csv's na_values), plus "?" as in the UCI repository's files.
MISSING_MARKERS = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA"}
    | {"NULL", "NaN", "None", "n/a", "nan", "null", "?"}
)
MISSING_SHOWN = ("empty", "NA", "N/A", "NaN", "null", "?")  # the markers named in messages
DATE_PROBE = 20  # distinct values tried as dates before all of them: dateutil is slow on a long ID column
# The byte-order marks Excel and Notepad write, with their codec and how messages name them.
BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE"),
)
# Control characters no text file holds; tab, line breaks, form feed and DOS's end-of-file mark are allowed.
BINARY = re.compile(r"[\x00-\x08\x0e-\x19\x1b-\x1f\x7f]")
# What a CSV column is used for, in Dataset.column_fates; a one-hot fate adds its number of levels.
LABEL, TARGET, FEATURE, ONE_HOT, DROPPED = "label", "target", "feature", "one-hot", "dropped: "
USED = (LABEL, FEATURE, ONE_HOT)
MAX_LISTED = 6  # columns a message names before "and N more"
# A CSV target of numbers with more distinct values than this is read as a regression target by default.
MAX_LEVELS_AS_CLASSES = 10


def read_csv(
    source: str | Path | bytes | IO[bytes], label_column: str, name: str | None = None, task: str = "classification"
) -> Dataset:
    """Read a user's CSV: one label (or target) column, the other columns used as features or left out, and why.

    The text may be UTF-8 (with or without a byte-order mark), UTF-16 with a byte-order mark, or
    Windows-1252/Latin-1. Commas, semicolons (with decimal commas) and tabs separate the cells; quoted
    cells may hold separators and line breaks, and numbers may group thousands ("1,234.5", or "1.234,5"
    in a semicolon file). A cell that is empty or a missing-value marker (:data:`MISSING_MARKERS`) drops
    its row when its column is used. Number columns are features, text with at most :data:`~bnn_core.limits.MAX_LEVELS`
    values is one-hot encoded (``island=Biscoe``), dates, IDs and other text are left out: ``column_fates``
    records each column's use and ``dropped_rows`` the rows dropped.
    Every refusal is a :class:`BNNInputError` naming the file and, where there is one, the row and column.

    Args:
        source: a path, the file's bytes, or a binary file object (e.g. an upload).
        label_column: the column whose values are the classes, or for regression the target's.
        name: how the file is called in messages; defaults to the path's name.
        task: ``classification`` (the label column's values are classes) or ``regression`` (they must be numbers).
    """
    if task not in TASKS:
        raise BNNInputError(f"The task must be one of {', '.join(TASKS)}; got {task!r}.")
    shown = _display_name(source, name)
    text = _read_text(source, shown)
    separator, names = _header(text, shown)
    raw = _parse_cells(text, separator, names, shown)
    if label_column not in raw.columns:
        columns = ", ".join(repr(c) for c in raw.columns[:12])
        raise BNNInputError(f"{shown} has no column {label_column!r}; its columns are {columns}.")
    cells = _without_missing(raw)
    read_as_numbers = cells if task == "regression" else cells.drop(columns=[label_column])
    numbers = _number_columns(text, separator, names, read_as_numbers, shown)
    if task == "regression" and label_column not in numbers:
        raise BNNInputError(
            f"{shown}: the target column {label_column!r} holds text, such as "
            f"{cells[label_column].dropna().iloc[0]!r}; a regression target must be numbers (or read it as classes)."
        )
    fates = {c: LABEL if c == label_column else _fate(cells[c], numbers.get(c)) for c in cells.columns}
    _refuse_no_features(fates, label_column, shown)
    used = [c for c, fate in fates.items() if fate in USED]
    keep = _complete_rows(raw, cells, used, label_column, shown, needed=2 if task == "regression" else None)
    features, column_fates = _features(cells, numbers, fates, keep)
    _refuse_bad_features(features, shown)
    if task == "regression":
        y, class_names = _target_values(numbers[label_column][keep], label_column, shown), ()
        column_fates = tuple((c, TARGET if fate == LABEL else fate) for c, fate in column_fates)
    else:
        y, class_names = _encode_labels(cells.loc[keep, label_column])
    dataset = Dataset(
        f"{CSV_PREFIX}{shown}",
        features.to_numpy(np.float64),
        y,
        tuple(features.columns),
        class_names,
        tuple(c for c, fate in column_fates if fate.startswith(DROPPED)),
        label_column,
        column_fates,
        int((~keep).sum()),
    )
    return checked_dataset(dataset, shown)


def rows_note(dataset: Dataset) -> str:
    """One sentence on the rows of a CSV in use: how many were dropped for a missing cell."""
    total = dataset.n_rows + dataset.dropped_rows
    if not dataset.dropped_rows:
        return f"All {total:,} rows are used: none has a missing cell in a column in use."
    return (
        f"{dataset.n_rows:,} of {total:,} rows are used: {dataset.dropped_rows:,} had a missing cell "
        f"({', '.join(MISSING_SHOWN)}…) in a column in use and were dropped."
    )


def _display_name(source: str | Path | bytes | IO[bytes], name: str | None) -> str:
    """How messages call the file: ``name``, else the path's file name, else "The CSV file"."""
    return name or (Path(source).name if isinstance(source, str | Path) else "The CSV file")


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
    return _decode(raw, shown)


def _decode(raw: bytes, shown: str) -> str:
    """The file's text, in the encoding its byte-order mark names, else as :func:`_decode_unmarked` guesses."""
    mark, codec, label = next((m for m in BYTE_ORDER_MARKS if raw.startswith(m[0])), (b"", "", ""))
    try:
        text = raw[len(mark) :].decode(codec) if codec else _decode_unmarked(raw)
    except UnicodeDecodeError:
        raise BNNInputError(f"{shown} starts with a {label} byte-order mark but is not {label} text.") from None
    if BINARY.search(text, 0, 65536):
        raise BNNInputError(f"{shown} is not a text CSV file (it contains binary data).")
    return text


def _decode_unmarked(raw: bytes) -> str:
    """UTF-8 if the bytes are valid UTF-8, else Windows-1252 (Excel's CSV on Western Windows), else Latin-1."""
    for codec in ("utf-8", "cp1252"):
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")  # every byte is a Latin-1 character


def _delimiter(header_line: str) -> str:
    """The separator used most in the header line: comma, semicolon or tab."""
    return max(DELIMITERS, key=header_line.count)


def csv_columns(source: str | Path | bytes | IO[bytes], name: str | None = None) -> list[str]:
    """The column names in a CSV's header, e.g. to let a user pick the label column before reading it all."""
    shown = _display_name(source, name)
    return _header(_read_text(source, shown), shown)[1]


def csv_preview(source: str | Path | bytes | IO[bytes], name: str | None = None, rows: int = 20) -> pd.DataFrame:
    """The first ``rows`` data rows as text, as read for training: to look at a file and pick its label column."""
    shown = _display_name(source, name)
    text = _read_text(source, shown)
    separator, names = _header(text, shown)
    return _parse_cells(text, separator, names, shown, rows)


LABEL_NAMES = ("label", "class", "target", "species", "y", "category", "outcome", "diagnosis")  # the usual names


def likely_label_column(preview: pd.DataFrame) -> str:
    """A guess at the class column: one named as labels usually are (``species``, ``class``, …, in any case), else
    the last one holding text, else the one with the fewest distinct values."""
    by_name = {str(column).strip().lower(): str(column) for column in preview.columns}
    named = next((by_name[name] for name in LABEL_NAMES if name in by_name), None)
    if named is not None:
        return named
    cells = _without_missing(preview)
    text_columns = [c for c in cells.columns if pd.to_numeric(cells[c].dropna(), errors="coerce").isna().any()]
    if text_columns:
        return str(text_columns[-1])
    return str(min(reversed(preview.columns), key=lambda c: preview[c].nunique()))


def guess_task(source: str | Path | bytes | IO[bytes], column: str, name: str | None = None) -> str:
    """A guess at the task of a CSV's ``column``, read whole as :func:`read_csv` reads numbers (thousands
    separators and decimal commas too): ``regression`` for numbers with any fraction or more than
    :data:`MAX_LEVELS_AS_CLASSES` distinct values, else ``classification``. Never refuses: a file that cannot be
    read is guessed as classification, and reading it for training says what is wrong."""
    try:
        shown = _display_name(source, name)
        text = _read_text(source, shown)
        separator, names = _header(text, shown)
        cells = _without_missing(_parse_cells(text, separator, names, shown))
        if column not in cells.columns:
            return "classification"
        numbers = _number_columns(text, separator, names, cells[[column]], shown).get(column)
    except BNNInputError:
        return "classification"
    values = numbers.dropna() if numbers is not None else pd.Series(dtype=float)
    if values.empty:
        return "classification"
    fractional = not (values == values.round()).all()
    return "regression" if fractional or values.nunique() > MAX_LEVELS_AS_CLASSES else "classification"


def _header(text: str, shown: str) -> tuple[str, list[str]]:
    """The separator and the stripped column names of the first record, refusing repeats."""
    if not text.strip():
        raise BNNInputError(f"{shown} is empty; it needs a header row and at least one data row.")
    body = text.lstrip("\r\n")
    separator = _delimiter(body.splitlines()[0])
    # csv.reader, not the first line: a quoted column name may hold a line break.
    first = next(csv.reader(io.StringIO(body), delimiter=separator, skipinitialspace=True))
    names = [cell.strip() for cell in first]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise BNNInputError(f"{shown} has more than one column named {repeated[0]!r}; give every column its own name.")
    return separator, names


def _parse_cells(text: str, separator: str, names: list[str], shown: str, rows: int = MAX_ROWS + 1) -> pd.DataFrame:
    """Every cell as written (N, columns), by pandas' parser; at most ``rows`` data rows.

    ``MAX_ROWS + 1`` rows are enough to know the file is too long, without reading all of it.
    """
    try:
        with warnings.catch_warnings():
            # pandas only warns when data rows are longer than the header, then drops the extra cells.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO(text),
                sep=separator,
                dtype=str,
                na_filter=False,  # missing cells are found by _without_missing, the same way for every reader
                skipinitialspace=True,
                index_col=False,
                nrows=rows,
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


def _without_missing(raw: pd.DataFrame) -> pd.DataFrame:
    """The cells stripped of spaces, with NaN where a cell is empty or a missing-value marker."""
    stripped = raw.apply(lambda column: column.str.strip())
    return stripped.mask(stripped.isin(list(MISSING_MARKERS)))


def _number_columns(
    text: str, separator: str, names: list[str], cells: pd.DataFrame, shown: str
) -> dict[str, pd.Series]:
    """The columns of ``cells`` whose every present cell is a number, as (N,) floats, NaN where a cell is missing.

    A plain number (1234.5, 1e3) is read as it is. A column that also writes the file's thousands
    separator or decimal comma is read by pandas with them (1,234.5; 1.234,5 in a semicolon file).
    ``names`` are all the file's columns in order, label included: such columns are read by position.
    Refuses a column of numbers with a word in it (see :func:`_refuse_stray_text`).
    """
    found: dict[str, pd.Series] = {}
    grouped: list[str] = []
    pattern = _grouped_number(separator)
    for column in cells.columns:
        present = cells[column].dropna()
        plain = pd.to_numeric(cells[column], errors="coerce")
        if plain.notna().sum() == present.size:
            found[column] = plain
        elif present.str.fullmatch(pattern).all():
            grouped.append(column)
        else:
            _refuse_stray_text(present, plain[present.index].notna(), shown)
    if grouped:
        found.update(_grouped_columns(text, separator, names, grouped))
    return found


def _grouped_number(separator: str) -> re.Pattern[str]:
    """A number with the file's decimal mark and thousands in groups of three: 1,234.5, or 1.234,5 after ';'.

    pandas' ``thousands=`` takes the separator anywhere ("1.5" in a semicolon file would read as 15),
    so a column is only read that way when every cell has this shape.
    """
    decimal, thousands = (re.escape(mark) for mark in NUMBER_MARKS[separator])
    return re.compile(rf"[+-]?(?:\d{{1,3}}(?:{thousands}\d{{3}})+|\d+)(?:{decimal}\d+)?(?:[eE][+-]?\d+)?")


def _grouped_columns(text: str, separator: str, names: list[str], columns: list[str]) -> dict[str, pd.Series]:
    """``columns`` (in file order) read by pandas with the file's decimal mark and thousands separator."""
    decimal, thousands = NUMBER_MARKS[separator]
    frame = pd.read_csv(
        io.StringIO(text),
        sep=separator,
        decimal=decimal,
        thousands=thousands,
        usecols=[names.index(c) for c in columns],
        na_values=list(MISSING_MARKERS),
        keep_default_na=False,
        skipinitialspace=True,
        index_col=False,
        nrows=MAX_ROWS + 1,
    )
    frame.columns = columns
    return {c: frame[c] for c in columns if pd.api.types.is_numeric_dtype(frame[c])}


def _fate(cells: pd.Series, numbers: pd.Series | None) -> str:
    """How a column other than the label is used: FEATURE, ONE_HOT, or "dropped: " and why.

    ``numbers`` is the column read as numbers, None if it holds text.
    """
    present = cells.dropna()
    if present.empty:
        return f"{DROPPED}empty"
    if numbers is not None:
        # One value in every row teaches nothing, and would be scaled by a std of 0: said, not used.
        values = numbers.dropna()
        return f"{DROPPED}constant" if len(values) > 1 and values.nunique() == 1 else FEATURE
    if _is_date(present):
        return f"{DROPPED}date"
    levels = present.nunique()
    if levels == 1:
        return f"{DROPPED}text with a single value"
    if levels > MAX_LEVELS:
        return f"{DROPPED}text with {levels:,} distinct values"
    if levels == present.size:  # a name or an ID: one-hot columns would each describe a single row
        return f"{DROPPED}text with a different value in every row"
    return ONE_HOT


def _refuse_stray_text(present: pd.Series, is_number: pd.Series, shown: str) -> None:
    """A column of mostly numbers with a word in it is a typo, not a text column: refuse, naming the cell.

    Args:
        present: the column's cells that are not missing.
        is_number: for each of them, whether it is a plain number.
    """
    if is_number.mean() > 0.5:
        row = is_number.idxmin()  # the first cell that is not a number
        raise BNNInputError(
            f"{shown}: data row {row + 1}, column {present.name!r} holds {present[row]!r}, which is not a number; "
            "every cell of a number column must be a number, or empty or NA where the value is missing."
        )


def _is_date(present: pd.Series) -> bool:
    """True if every distinct value is a date (or time) with a year; a few are tried before all of them."""
    values = pd.Series(present.unique())
    if not values.str.contains(r"\d").all():
        return False
    return _all_dates(values[:DATE_PROBE]) and _all_dates(values)


def _all_dates(values: pd.Series) -> bool:
    """True if pandas reads every value as a date with a year."""
    parsed = pd.to_datetime(values, errors="coerce", format="mixed", utc=True)
    # dateutil reads "3-4", "1/2" or "1st" as dates in year 1; a date column names its year.
    return bool(parsed.notna().all() and (parsed.dt.year > 1).all())


def _refuse_no_features(fates: dict[str, str], label_column: str, shown: str) -> None:
    """Refuse a file whose columns besides the label were all dropped, saying why each was."""
    if any(fate in (FEATURE, ONE_HOT) for fate in fates.values()):
        return
    others = [f"{c} ({fate})" for c, fate in fates.items() if c != label_column]
    more = [f"and {len(others) - MAX_LISTED:,} more"] if len(others) > MAX_LISTED else []
    why = f": {'; '.join(others[:MAX_LISTED] + more)}" if others else ""
    raise BNNInputError(f"{shown} has no feature column besides the label {label_column!r}{why}.")


def _complete_rows(
    raw: pd.DataFrame, cells: pd.DataFrame, used: list[str], label: str, shown: str, needed: int | None = None
) -> np.ndarray:
    """The (N,) mask of rows with a value in every used column; refuses when they hold fewer than 2 classes, or
    (for a regression target, ``needed`` set) fewer than ``needed`` rows."""
    missing = cells[used].isna().to_numpy()
    keep = ~missing.any(axis=1)
    if keep.all() or (needed is None and cells.loc[keep, label].nunique() >= 2) or (needed and keep.sum() >= needed):
        return keep
    if needed is not None:
        row, col = (int(i) for i in np.argwhere(missing)[0])
        raise BNNInputError(
            f"{shown}: dropping the {(~keep).sum():,} of {keep.size:,} rows with a missing cell (the first in data "
            f"row {row + 1}, column {used[col]!r}) leaves {rows_text(int(keep.sum()))}; "
            f"regression needs at least {needed}."
        )
    row, col = (int(i) for i in np.argwhere(missing)[0])
    cell = raw.iat[row, raw.columns.get_loc(used[col])]
    what = f"holds {cell.strip()!r}" if cell.strip() else "is empty"
    kept = int(keep.sum())
    left = f"{rows_text(kept)}, all of one class" if kept else "no rows"
    raise BNNInputError(
        f"{shown}: data row {row + 1}, column {used[col]!r} {what}, and dropping the {(~keep).sum():,} of "
        f"{keep.size:,} rows with a missing cell leaves {left}; a classifier needs rows of at least 2 classes."
    )


def _features(
    cells: pd.DataFrame, numbers: dict[str, pd.Series], fates: dict[str, str], keep: np.ndarray
) -> tuple[pd.DataFrame, tuple[tuple[str, str], ...]]:
    """The feature table of the kept rows (in file order, a text column's one-hot columns in its place), and
    every column's fate.

    One-hot levels are counted on the kept rows, so no feature is all zeros.
    """
    parts: list[pd.DataFrame] = []
    column_fates: list[tuple[str, str]] = []
    for column, fate in fates.items():
        if fate == FEATURE:
            parts.append(numbers[column][keep].astype(np.float64).to_frame(column))
        elif fate == ONE_HOT:
            part = pd.get_dummies(cells.loc[keep, column], prefix=column, prefix_sep="=", dtype=np.float64)
            parts.append(part)
            fate = f"{ONE_HOT} ({part.shape[1]} level{'s' if part.shape[1] != 1 else ''})"
        column_fates.append((column, fate))
    return pd.concat(parts, axis=1), tuple(column_fates)


def _refuse_bad_features(features: pd.DataFrame, shown: str) -> None:
    """Refuse too many features, a one-hot name that repeats a column's, and cells infinite or absurdly large."""
    if features.shape[1] > MAX_FEATURES:
        raise BNNInputError(f"{shown} has {features.shape[1]:,} feature columns; the limit is {MAX_FEATURES:,}.")
    repeated = features.columns[features.columns.duplicated()]
    if repeated.size:
        raise BNNInputError(
            f"{shown}: the one-hot feature {repeated[0]!r} has the name of another column; rename that column."
        )
    values = features.to_numpy()
    bad = ~np.isfinite(values) | (np.abs(values) > MAX_ABS_VALUE)
    if not bad.any():
        return
    row, col = (int(i) for i in np.argwhere(bad)[0])
    value = values[row, col]
    what = "is infinite" if np.isinf(value) else f"is {value:g}, beyond ±{MAX_ABS_VALUE:g}; rescale that column"
    raise BNNInputError(
        f"{shown}: data row {features.index[row] + 1}, column {features.columns[col]!r} {what}; "
        "every feature cell must be a finite number."
    )


def _target_values(target: pd.Series, column: str, shown: str) -> np.ndarray:
    """A regression target's kept cells (N,) float64, refusing one that is infinite or absurdly large."""
    values = target.to_numpy(np.float64)
    bad = ~np.isfinite(values) | (np.abs(values) > MAX_ABS_VALUE)
    if bad.any():
        row = int(target.index[np.argmax(bad)])
        raise BNNInputError(
            f"{shown}: data row {row + 1}, target column {column!r} is {values[np.argmax(bad)]:g}; every target "
            f"must be a finite number within ±{MAX_ABS_VALUE:g}."
        )
    if np.ptp(values) == 0:
        raise BNNInputError(f"{shown}: the target column {column!r} holds one value in every row; nothing to learn.")
    return values


def _encode_labels(labels: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    """Map label cells to 0..C-1: numbers in numeric order, anything else as text in sorted order."""
    numbers = pd.to_numeric(labels, errors="coerce")
    if numbers.notna().all():
        values, y = np.unique(numbers.to_numpy(), return_inverse=True)
        # int(v) of an int64 is exact, so 9007199254740993 keeps its last digit.
        names = tuple(str(int(v)) if float(v).is_integer() else str(v) for v in values)
    else:
        values, y = np.unique(labels.to_numpy(str), return_inverse=True)
        names = tuple(str(v) for v in values)
    return y.astype(np.int64), names
