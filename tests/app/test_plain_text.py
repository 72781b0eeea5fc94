"""Text from outside as Markdown that shows exactly it (ui/text.py); how Chromium draws it is checked by
tests/browser/test_hostile_text.py."""

from __future__ import annotations

import re

import numpy as np
import plotly.graph_objects as go
import pytest

from tests.support.apptest import read
from ui.text import plain, safe_figure

HOSTILE = [
    "[Log in again](http://evil.example/login)",
    "![t](http://127.0.0.1:9/track.png)",
    "<img src=x onerror=alert(1)> & <script>alert(1)</script>",
    "see http://evil.example, www.evil.example or mail@evil.example",
    ":smile: :material/home: :red[x] $x^2$ **bold** _it_ `code` ~~s~~ | a | # h > q",
    "a -> b <- c <-> d -- e >= f <= g ~= h",
    "back\\slash [a]: http://evil.example/ref",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_every_markdown_mark_is_escaped_and_reads_back_as_written(text: str) -> None:
    escaped = plain(text)
    assert read(escaped) == text
    unescaped = re.sub(r"\\[!-/:-@\[-`{-~]", "", escaped)  # what is left once every escaped mark is taken out
    assert not re.search(r"[!-/:-@\[-`{-~]", unescaped), escaped
    assert not re.search(r"https?://|www\.|\w@\w", escaped.replace("\\", ""))  # no autolink left to find


def test_a_long_text_is_cut_and_control_characters_are_escaped() -> None:
    assert read(plain("x" * 100_000)) == "x" * 2000 + "… (100,000 characters)"
    assert read(plain("\u202eevil\x07")) == "\\u202eevil\\x07"


def test_a_figure_keeps_its_own_formatting_and_loses_links_and_styles() -> None:
    figure = go.Figure(
        go.Scatter(
            x=[1, 2],
            y=[1, 2],
            name='<a href="http://evil.example">evil</a>',
            text=np.array(["<b>Point 0</b><br>ok", '<span style="cursor:url(http://h/c.png)">s</span>'], dtype=object),
            customdata=[['<b style="x">y</b>'], ["plain"]],
        )
    )
    figure.update_layout(title={"text": "<b>True labels</b>"}, xaxis={"title": {"text": "<A HREF='http://e'>x</A>"}})
    spec = safe_figure(figure).to_plotly_json()
    trace = spec["data"][0]
    assert trace["name"] == '&lt;a href="http://evil.example">evil&lt;/a>'
    assert list(trace["text"]) == ["<b>Point 0</b><br>ok", '&lt;span style="cursor:url(http://h/c.png)">s&lt;/span>']
    assert trace["customdata"][0][0] == '&lt;b style="x">y</b>'
    assert spec["layout"]["title"]["text"] == "<b>True labels</b>"
    assert spec["layout"]["xaxis"]["title"]["text"] == "&lt;A HREF='http://e'>x&lt;/A>"
