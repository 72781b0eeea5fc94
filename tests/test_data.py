"""Built-in datasets, CSV validation, the stratified split and the scaler."""

from __future__ import annotations

import numpy as np
import pytest

from bnn_core import BUILTIN_DATASETS, BNNInputError, DataConfig, load_builtin, prepare, read_csv


@pytest.mark.parametrize("name", BUILTIN_DATASETS)
def test_builtin_datasets_load_with_names(name: str) -> None:
    dataset = load_builtin(name)
    assert dataset.x.shape == (dataset.n_rows, len(dataset.feature_names))
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
        ("a,label\n1,é\n".encode("latin-1"), "label", "is not a UTF-8 text CSV file"),
        (b"", "label", "is empty"),
        (b"a,label\n", "label", "has a header but no data rows"),
        (b"a,b,label\n1,2,x\n2,3,y,4,5\n", "label", "line 3 has 5 cells but the header has 3 columns"),
        (GOOD_CSV, "species", "has no column 'species'; its columns are 'height', 'width', 'name', 'kind'"),
        (b"name,label\nx,a\ny,b\n", "label", "has no numeric feature column"),
        (b"a,b,label\n1,2,x\n3,,y\n", "label", "data row 2, column 'b' is empty"),
        (b"a,label\n1,x\ninf,y\n", "label", "data row 2, column 'a' is infinite"),
        (b"a,label\n1,x\nfoo,y\n2,x\n", "label", "data row 2, column 'a' holds 'foo', which is not a number"),
        (b"a,label\n1,x\n2,\n", "label", "data row 2 has no value in the label column"),
        (b"a,label\n1,x\n2,x\n", "label", "has only 1 class; a classifier needs at least 2"),
        (_rows(60, classes=51), "label", "has 51 classes; the limit is 50"),
        (_rows(200_001), "label", "has more than 200,000 rows; the limit is 200,000"),
        (b"a,a,label\n1,2,x\n3,4,y\n", "label", "has more than one column named 'a'"),
        (b" a,a ,label\n1,2,x\n3,4,y\n", "label", "has more than one column named 'a'"),
        (b"a,label\n10,1,p\n20,3,q\n", "label", "has rows with more cells than the header has columns"),
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


def test_semicolons_tabs_and_text_labels_that_look_missing() -> None:
    semicolons = read_csv(b"a;b;kind\n1,5;2;NA\n3;4;None\n", "kind")
    assert semicolons.feature_names == ("a", "b") and semicolons.class_names == ("NA", "None")
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
