"""Built-in datasets, CSV validation, the stratified split and the scaler."""

from __future__ import annotations

import codecs

import numpy as np
import pytest

from bnn_core import (
    BUILTIN_DATASETS,
    BNNInputError,
    DataConfig,
    RunConfig,
    TrainConfig,
    csv_preview,
    likely_label_column,
    load_builtin,
    prepare,
    read_csv,
    train_run,
)
from bnn_core.data.csv_file import rows_note
from bnn_core.settings import REGRESSION_DATASETS


@pytest.mark.parametrize("name", BUILTIN_DATASETS)
def test_builtin_datasets_load_with_names(name: str) -> None:
    dataset = load_builtin(name)
    assert dataset.x.shape == (dataset.n_rows, len(dataset.feature_names))
    if name in REGRESSION_DATASETS:
        assert dataset.task == "regression" and dataset.class_names == () and dataset.y.dtype == np.float64
        assert np.isfinite(dataset.y).all() and dataset.frame().columns.tolist() == ["x", "y"]
    else:
        assert dataset.task == "classification"
        assert set(np.unique(dataset.y)) == set(range(len(dataset.class_names)))
    assert np.isfinite(dataset.x).all()


def test_iris_is_the_article_dataset() -> None:
    iris = load_builtin("iris")
    assert iris.x.shape == (150, 4)
    assert iris.class_names == ("setosa", "versicolor", "virginica")
    assert iris.feature_names[:2] == ("sepal length (cm)", "sepal width (cm)")


def test_toy_datasets_are_two_dimensional_and_fixed() -> None:
    for name in ("two_moons", "circles"):
        first, again = load_builtin(name), load_builtin(name)
        assert first.n_features == 2
        np.testing.assert_array_equal(first.x, again.x)


def test_unknown_dataset_names_the_choices() -> None:
    with pytest.raises(BNNInputError, match="Unknown dataset 'mnist'; choose one of iris, wine"):
        load_builtin("mnist")


def test_split_is_stratified_seeded_and_sized() -> None:
    iris = load_builtin("iris")
    data = prepare(iris, DataConfig(test_size=0.2), seed=3)
    assert data.is_test.sum() == 30
    assert np.bincount(iris.y[data.is_test]).tolist() == [10, 10, 10]
    np.testing.assert_array_equal(data.is_test, prepare(iris, DataConfig(test_size=0.2), seed=3).is_test)
    assert not np.array_equal(data.is_test, prepare(iris, DataConfig(test_size=0.2), seed=4).is_test)


def test_test_share_zero_trains_on_everything() -> None:
    data = prepare(load_builtin("iris"), DataConfig(test_size=0.0, scale="none"), seed=0)
    assert not data.has_test
    assert data.scaler is None
    np.testing.assert_allclose(data.x.numpy(), load_builtin("iris").x, rtol=1e-6)


def test_scaler_is_fitted_on_training_rows_only() -> None:
    iris = load_builtin("iris")
    data = prepare(iris, DataConfig(test_size=0.5, scale="standard"), seed=0)
    train_rows = iris.x[~data.is_test]
    np.testing.assert_allclose(data.scaler.mean, train_rows.mean(axis=0))
    np.testing.assert_allclose(data.scaler.std, train_rows.std(axis=0))
    scaled_train = data.x.numpy()[~data.is_test]
    np.testing.assert_allclose(scaled_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(scaled_train.std(axis=0), 1, atol=1e-5)
    assert not np.allclose(data.x.numpy()[data.is_test].mean(axis=0), 0, atol=1e-3)


GOOD_CSV = b"height,width,name,kind\n1.0,2.0,a,cat\n1.5,2.5,b,dog\n0.5,1.0,c,cat\n3,4,d,dog\n"


def test_csv_keeps_names_and_ignores_text_columns() -> None:
    dataset = read_csv(GOOD_CSV, "kind", name="pets.csv")
    assert dataset.name == "csv:pets.csv"
    assert dataset.feature_names == ("height", "width")
    assert dataset.class_names == ("cat", "dog")
    assert dataset.ignored_columns == ("name",)
    assert dataset.y.tolist() == [0, 1, 0, 1]
    np.testing.assert_array_equal(dataset.x[3], [3.0, 4.0])


def test_csv_from_a_path_with_numeric_labels(tmp_path) -> None:
    path = tmp_path / "numbers.csv"
    path.write_text("a,b,target\n0.1,0.2,10\n0.3,0.4,2\n0.5,0.6,2\n")
    dataset = read_csv(path, "target")
    assert dataset.class_names == ("2", "10")  # ordered by value, not as text
    assert dataset.y.tolist() == [1, 0, 0]


def _rows(n: int, classes: int = 2) -> bytes:
    return ("x,label\n" + "".join(f"{i},{i % classes}\n" for i in range(n))).encode()


@pytest.mark.parametrize(
    ("content", "label", "fragment"),
    [
        (b"\x00\x01\x02binary", "label", "is not a text CSV file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "label", "is not a text CSV file \\(it contains binary data\\)"),
        (bytes(range(256)), "label", "is not a text CSV file"),
        (b"\xff\xfea\x00,\x00b", "label", "starts with a UTF-16 LE byte-order mark but is not UTF-16 LE text"),
        (b"", "label", "is empty"),
        (b"a,label\n", "label", "has a header but no data rows"),
        (b"a,b,label\n1,2,x\n2,3,y,4,5\n", "label", "line 3 has 5 cells but the header has 3 columns"),
        (GOOD_CSV, "species", "has no column 'species'; its columns are 'height', 'width', 'name', 'kind'"),
        (
            b"name,label\nx,a\ny,b\n",
            "label",
            "has no feature column besides the label 'label': name \\(dropped: text with a different value in every",
        ),
        (
            b"a,b,label\n1,2,x\n3,,y\n5,4,x\n",  # b is no constant column (that would be left out)
            "label",
            "data row 2, column 'b' is empty, and dropping the 1 of 3 rows with a missing cell leaves 2 rows, all of",
        ),
        (b"a,label\n1,x\ninf,y\n", "label", "data row 2, column 'a' is infinite"),
        (b"a,label\n1,x\nfoo,y\n2,x\n", "label", "data row 2, column 'a' holds 'foo', which is not a number"),
        (b"a,label\n1,x\n2,\n", "label", "data row 2, column 'label' is empty, and dropping the 1 of 2 rows"),
        (b"a,label\n1,x\n2,x\n", "label", "has only 1 class; a classifier needs at least 2"),
        (_rows(60, classes=51), "label", "has 51 classes; the limit is 50"),
        (_rows(200_001), "label", "has more than 200,000 rows; the limit is 200,000"),
        (b"a,a,label\n1,2,x\n3,4,y\n", "label", "has more than one column named 'a'"),
        (b" a,a ,label\n1,2,x\n3,4,y\n", "label", "has more than one column named 'a'"),
        (b"a,label\n10,1,p\n20,3,q\n", "label", "has rows with more cells than the header has columns"),
        (b"c,c=a,label\na,1,x\nb,2,y\na,3,x\n", "label", "the one-hot feature 'c=a' has the name of another column"),
        (b"a,label\n1e300,x\n2,y\n", "label", "data row 1, column 'a' is 1e\\+300, beyond ±1e\\+15"),
        (
            (",".join(f"f{i}" for i in range(1001)) + ",label\n" + ",".join(["1"] * 1001) + ",a\n").encode(),
            "label",
            "has 1,001 feature columns; the limit is 1,000",
        ),
    ],
)
def test_bad_csv_is_refused_with_one_sentence(content: bytes, label: str, fragment: str) -> None:
    with pytest.raises(BNNInputError, match=fragment) as caught:
        read_csv(content, label, name="upload.csv")
    assert "\n" not in str(caught.value)


def test_semicolons_tabs_and_labels() -> None:
    semicolons = read_csv(b"a;b;kind\n1,5;2;yes\n3;4;no\n", "kind")
    assert semicolons.feature_names == ("a", "b") and semicolons.class_names == ("no", "yes")
    assert semicolons.x[0].tolist() == [1.5, 2.0]  # a decimal comma
    tabs = read_csv(b"a\tkind\n1\tTrue\n2\tFalse\n", "kind")
    assert tabs.class_names == ("False", "True") and tabs.y.tolist() == [1, 0]


def test_large_integer_labels_stay_distinct_and_a_text_column_with_gaps_is_ignored() -> None:
    dataset = read_csv(b"a,name,y\n1,ann,9007199254740993\n2,,9007199254740992\n", "y")
    assert dataset.class_names == ("9007199254740992", "9007199254740993")
    assert dataset.ignored_columns == ("name",) and dataset.label_column == "y"


def test_a_split_that_would_leave_a_class_untrained_is_refused() -> None:
    dataset = read_csv(("a,y\n" + "1,c0\n" * 2 + "2,c1\n" * 20).encode(), "y")
    with pytest.raises(BNNInputError, match="leaves class 'c0' without a single training row"):
        prepare(dataset, DataConfig(test_size=0.9), seed=0)


def test_class_too_small_to_split_is_refused_unless_nothing_is_held_out() -> None:
    dataset = read_csv(b"a,label\n1,x\n2,x\n3,x\n4,y\n", "label")
    with pytest.raises(BNNInputError, match="Class 'y' has only 1 row, too few to split"):
        prepare(dataset, DataConfig(test_size=0.5), seed=0)
    assert prepare(dataset, DataConfig(test_size=0.0), seed=0).is_test.sum() == 0


def test_test_share_too_small_for_the_classes_suggests_a_share() -> None:
    with pytest.raises(
        BNNInputError, match=r"holds out 1 row, fewer than the 3 classes; use a test share of at least 0\.02"
    ):
        prepare(load_builtin("iris"), DataConfig(test_size=0.005), seed=0)


# The palmerpenguins layout: NA cells, two text columns, a numeric year. Rows 4 (all NA) and 8 (sex NA) go.
PENGUINS = """species,island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,year
Adélie,Tørgersen,39.1,18.7,181,3750,male,2007
Adélie,Tørgersen,39.5,17.4,186,3800,female,2007
Adélie,Tørgersen,40.3,18,195,3250,female,2007
Adélie,Tørgersen,NA,NA,NA,NA,NA,2007
Adélie,Biscoe,36.7,19.3,193,3450,female,2008
Gentoo,Biscoe,46.1,13.2,211,4500,female,2007
Gentoo,Biscoe,50,16.3,230,5700,male,2007
Gentoo,Biscoe,48.7,14.1,210,4450,NA,2009
Chinstrap,Dream,46.5,17.9,192,3500,female,2007
Chinstrap,Dream,50,19.5,196,3900,male,2008
Chinstrap,Dream,51.3,19.2,193,3650,male,2009
Gentoo,Biscoe,45.5,13.7,214,4650,female,2008
"""
KEPT = [1, 2, 3, 5, 6, 7, 9, 10, 11, 12]  # the data rows (1-based) without a missing cell


def _column(dataset, name: str) -> list[float]:
    return dataset.x[:, dataset.feature_names.index(name)].tolist()


def test_a_penguins_file_one_hot_encodes_its_text_and_drops_rows_with_na() -> None:
    dataset = read_csv(PENGUINS.encode(), "species", name="penguins.csv")
    assert dataset.feature_names == (
        "island=Biscoe",
        "island=Dream",
        "island=Tørgersen",
        "bill_length_mm",
        "bill_depth_mm",
        "flipper_length_mm",
        "body_mass_g",
        "sex=female",
        "sex=male",
        "year",
    )
    assert dataset.column_fates == (
        ("species", "label"),
        ("island", "one-hot (3 levels)"),
        ("bill_length_mm", "feature"),
        ("bill_depth_mm", "feature"),
        ("flipper_length_mm", "feature"),
        ("body_mass_g", "feature"),
        ("sex", "one-hot (2 levels)"),
        ("year", "feature"),
    )
    assert dataset.n_rows == 10 and dataset.dropped_rows == 2 and dataset.ignored_columns == ()
    lines = [line.split(",") for line in PENGUINS.splitlines()[1:]]
    kept = [lines[row - 1] for row in KEPT]
    assert _column(dataset, "body_mass_g") == [float(cells[5]) for cells in kept]
    assert _column(dataset, "island=Dream") == [float(cells[1] == "Dream") for cells in kept]
    assert _column(dataset, "sex=male") == [float(cells[6] == "male") for cells in kept]
    assert _column(dataset, "year") == [float(cells[7]) for cells in kept]
    assert dataset.class_names == ("Adélie", "Chinstrap", "Gentoo")
    assert [dataset.class_names[i] for i in dataset.y] == [cells[0] for cells in kept]
    assert rows_note(dataset).startswith("10 of 12 rows are used: 2 had a missing cell")


def _same(dataset, expected) -> None:
    assert dataset.feature_names == expected.feature_names and dataset.class_names == expected.class_names
    assert dataset.column_fates == expected.column_fates and dataset.dropped_rows == expected.dropped_rows
    np.testing.assert_array_equal(dataset.x, expected.x)
    np.testing.assert_array_equal(dataset.y, expected.y)


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
        lambda text: codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
        lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
        lambda text: text.encode("latin-1"),
        lambda text: text.replace("\n", "\r\n").encode("cp1252"),  # as Excel saves "CSV" on Windows
    ],
    ids=["utf-8-bom", "utf-16-le", "utf-16-be", "latin-1", "cp1252-crlf"],
)
def test_every_supported_encoding_gives_the_utf8_dataset(encode) -> None:
    _same(read_csv(encode(PENGUINS), "species"), read_csv(PENGUINS.encode("utf-8"), "species"))


def test_a_quoted_cell_may_hold_line_breaks_and_separators() -> None:
    text = 'a,note,kind\n1,"first line\nsecond, line",x\n2,plain,y\n3,"again\r\nbroken",x\n4,plain,y\n'
    dataset = read_csv(text.encode(), "kind")
    assert dataset.n_rows == 4 and dataset.x[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert dataset.y.tolist() == [0, 1, 0, 1]
    assert dict(dataset.column_fates)["note"] == "one-hot (3 levels)"


def test_thousands_separators_are_numbers() -> None:
    commas = read_csv(b'kind,n,mass\nx,1,"1,234"\ny,2,"12,345.5"\nx,3,987\n', "kind")
    assert commas.x.tolist() == [[1.0, 1234.0], [2.0, 12345.5], [3.0, 987.0]]
    semicolons = read_csv(b"mass;n;kind\n1.234,5;1;x\n12.345;2;y\n0,5;3;x\n", "kind")
    assert semicolons.x[:, 0].tolist() == [1234.5, 12345.0, 0.5]
    # Without a decimal comma anywhere in the column, a semicolon file's points are decimal points, not 15.
    points = read_csv(b"mass;kind\n1.5;x\n2.25;y\n", "kind")
    assert points.x[:, 0].tolist() == [1.5, 2.25]


def test_a_number_grouped_wrongly_is_refused_not_read_as_another_number() -> None:
    with pytest.raises(BNNInputError, match="data row 1, column 'a' holds '1,5', which is not a number"):
        read_csv(b'a,kind\n"1,5",x\n2,y\n3,x\n', "kind", name="upload.csv")


def test_a_date_column_is_dropped_but_ranges_without_a_year_are_text() -> None:
    text = "when,size,a,kind\n2007-11-11,3-4,1,x\n11/16/2007,5-6,2,y\n2008-01-02 10:30,3-4,3,x\n2009-12-31,5-6,4,y\n"
    dataset = read_csv(text.encode(), "kind")
    assert dataset.column_fates == (
        ("when", "dropped: date"),
        ("size", "one-hot (2 levels)"),
        ("a", "feature"),
        ("kind", "label"),
    )
    assert dataset.feature_names == ("size=3-4", "size=5-6", "a") and dataset.ignored_columns == ("when",)


def test_text_with_more_than_twenty_values_is_dropped_and_twenty_are_one_hot() -> None:
    rows = "".join(f"{i},{'abcdefghijklmnopqrst'[i % 20]},city{i % 30},{i % 2}\n" for i in range(60))
    dataset = read_csv(("a,twenty,thirty,kind\n" + rows).encode(), "kind")
    assert dict(dataset.column_fates)["twenty"] == "one-hot (20 levels)"
    assert dict(dataset.column_fates)["thirty"] == "dropped: text with 30 distinct values"
    assert dataset.n_features == 1 + 20 and dataset.ignored_columns == ("thirty",)
    assert not any(name.startswith("thirty") for name in dataset.feature_names)


@pytest.mark.parametrize("marker", ["", "NA", "N/A", "NaN", "null", "?", "None", "#N/A"])
def test_every_missing_marker_drops_its_row(marker: str) -> None:
    dataset = read_csv(f"a,b,kind\n1,2,x\n3,{marker},y\n5,6,y\n7,8,x\n9,10,{marker}\n".encode(), "kind")
    assert dataset.x.tolist() == [[1.0, 2.0], [5.0, 6.0], [7.0, 8.0]] and dataset.dropped_rows == 2


def test_missing_cells_in_a_column_left_out_keep_their_rows() -> None:
    dataset = read_csv(b"a,id,kind\n1,NA,x\n2,,y\n3,k3,x\n", "kind")
    assert dataset.n_rows == 3 and dataset.dropped_rows == 0
    assert dict(dataset.column_fates)["id"] == "dropped: text with a single value"


def test_a_file_left_with_too_few_rows_is_refused_with_one_sentence() -> None:
    with pytest.raises(BNNInputError) as caught:
        read_csv(b"a,b,kind\n1,NA,x\n?,2,y\nnull,3,x\n4,,y\n", "kind", name="gaps.csv")
    assert str(caught.value) == (
        "gaps.csv: data row 1, column 'b' holds 'NA', and dropping the 4 of 4 rows with a missing cell "
        "leaves no rows; a classifier needs rows of at least 2 classes."
    )


def test_a_column_that_is_all_missing_is_dropped_not_the_rows() -> None:
    no_sex = PENGUINS.replace(",male,", ",NA,").replace(",female,", ",NA,")
    dataset = read_csv(no_sex.encode(), "species")
    assert dict(dataset.column_fates)["sex"] == "dropped: empty" and dataset.ignored_columns == ("sex",)
    assert dataset.n_rows == 11 and dataset.dropped_rows == 1  # only the row without measurements


def test_the_label_guess_skips_missing_markers_in_number_columns() -> None:
    assert likely_label_column(csv_preview(b"a,kind,b\n1,x,NA\n2,y,3\n")) == "kind"
    assert likely_label_column(csv_preview(PENGUINS.encode())) == "species"  # by name, before the last text column


def _two_blobs(scale: float) -> bytes:
    """A CSV of two classes told apart by feature a (times ``scale``), with a noise feature b and a constant c."""
    chance = np.random.default_rng(3)
    rows = [(chance.normal(k * 2.0, 1.0) * scale, chance.normal(), 5.0, "pq"[k]) for k in (0, 1) for _ in range(60)]
    return ("a,b,c,y\n" + "".join(f"{a!r},{b!r},{c!r},{y}\n" for a, b, c, y in rows)).encode()


def test_a_constant_column_is_dropped_and_said_in_the_column_table() -> None:
    dataset = read_csv(_two_blobs(1.0), "y", name="blobs.csv")
    assert dict(dataset.column_fates)["c"] == "dropped: constant"
    assert dataset.feature_names == ("a", "b") and "c" in dataset.ignored_columns


def test_values_near_1e_300_keep_their_spread_and_learn_as_much_as_at_unit_scale() -> None:
    """Their variance underflows to 0 in float64: the scaler divided them by 1 and the network saw zeros (accuracy
    fell from 81% to 66% on the issue's file). Scaled robustly, the run equals the unit-scale one."""
    tiny, unit = read_csv(_two_blobs(1e-300), "y", name="tiny.csv"), read_csv(_two_blobs(1.0), "y", name="unit.csv")
    assert np.var(tiny.x[:, 0]) == 0.0  # the underflow itself
    config = RunConfig(train=TrainConfig(epochs=300), samples=20)
    scaled = prepare(tiny, config.data, seed=0)
    assert scaled.scaler.std[0] > 0 and np.std(scaled.x[:, 0].numpy()) == pytest.approx(1.0, rel=0.05)
    torch_tiny, torch_unit = scaled.x.numpy(), prepare(unit, config.data, seed=0).x.numpy()
    np.testing.assert_allclose(torch_tiny, torch_unit, rtol=1e-5, atol=1e-5)  # the same inputs, so the same run
    assert train_run(tiny, config).metrics["test_accuracy"] == train_run(unit, config).metrics["test_accuracy"]


def test_values_float32_would_turn_to_zeros_are_refused_without_scaling() -> None:
    tiny = read_csv(_two_blobs(1e-300), "y", name="tiny.csv")
    with pytest.raises(BNNInputError, match=r"^Feature 'a' holds values such as .*e-30\d, too small for the network's"):
        prepare(tiny, DataConfig(scale="none"), seed=0)
