"""Outside text made safe to show: quoted, cut with its length stated, control and bidi characters escaped."""

from __future__ import annotations

import pytest

from bnn_core.text import cut, printable, quoted


def test_a_short_value_is_quoted_as_its_repr() -> None:
    assert quoted("petal") == "'petal'" and quoted(5) == "5" and quoted([1, 2]) == "[1, 2]"


def test_a_long_value_is_cut_with_its_length_stated() -> None:
    assert quoted("a" * 100_000, limit=5) == "'aaaaa'… (100,000 characters)"
    assert quoted(list(range(1000)), limit=6) == "[0, 1,… (4,890 characters)"
    assert cut("b" * 3000, limit=4) == "bbbb… (3,000 characters)"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\u202eevil", "\\u202eevil"),  # a bidi override would reverse the rest of the line
        ("a\nb\rc\x1b[2J", "a\\nb\\rc\\x1b[2J"),  # a line break, a terminal escape
        ("zero\u200bwidth\u2028", "zero\\u200bwidth\\u2028"),
        ("café 東京 😀 − ±", "café 東京 😀 − ±"),  # printable text stays as it is
    ],
)
def test_hidden_and_control_characters_are_written_as_escapes(text: str, shown: str) -> None:
    assert printable(text) == shown and cut(text) == shown
    assert quoted(text) == repr(text)  # Python's repr escapes the same characters
