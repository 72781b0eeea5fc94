"""Text from outside as Markdown that shows exactly that text: no link, no image, no HTML, no formatting.

Streamlit draws the body of ``st.error``, ``st.warning``, ``st.info``, ``st.success``, ``st.caption`` and
``st.markdown`` as GitHub Markdown with extras (emoji and icon shortcodes, colours, LaTeX, arrows). A message
that quotes a link's parameter, a CSV's header, a file's name or a run file's text must go through :func:`plain`:
otherwise ``?page=[Log in](http://evil.example)`` puts a clickable link inside the app's own warning, and
``![t](http://host/track.png)`` makes the browser fetch that address. :func:`safe_figure` does the same for the
HTML that plotly draws in a chart's labels. ``tests/browser/test_hostile_text.py`` checks both in Chromium.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import plotly.graph_objects as go

from bnn_core.limits import MAX_SHOWN_MESSAGE
from bnn_core.text import cut

# Every ASCII punctuation character: CommonMark lets each be escaped with a backslash, which makes it literal.
_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")
_BREAK = "\u200b"  # a zero-width space: invisible, and no part of a word, a URL or an arrow
# What GitHub Markdown turns into a link although no bracket is written (http://…, www.…, name@host.org), and
# the arrows Streamlit draws from "->" between spaces: matched in the text after escapes are read, so they are
# broken by an invisible character instead.
_AUTOLINK = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?=@)", re.IGNORECASE)
_ARROW = re.compile(r"(?<!\S)(<->|->|<-|--|>=|<=|~=)(?!\S)")


def plain(text: object, limit: int = MAX_SHOWN_MESSAGE) -> str:
    """``text`` as Markdown that Streamlit draws as exactly that text (cut after ``limit`` characters, with the
    length stated, and control characters written as escapes; see :func:`bnn_core.text.cut`)."""
    shown = _AUTOLINK.sub(_BREAK, cut(str(text), limit))
    shown = _ARROW.sub(lambda arrow: arrow.group()[0] + _BREAK + arrow.group()[1:], shown)
    return _PUNCTUATION.sub(lambda match: "\\" + match.group(), shown)


# plotly draws these tags in any label; an attribute may link (<a href>) or style (<span style>, <b style>).
_TAG = re.compile(r"<(?=/?[a-z]+[\s/][^>]*>)|<(?=/?(?:a|span)\b)", re.IGNORECASE)


def safe_figure(figure: go.Figure) -> go.Figure:
    """``figure`` with every tag in a label that carries attributes, and every link or span, written as text
    (``&lt;``); changed in place and returned. The figures' own ``<b>`` and ``<br>`` still format, but a CSV
    header such as ``<a href="http://evil.example">x</a>`` is shown as it is written."""
    # plotly's own dicts, read without the deep copy to_plotly_json makes: a page draws several figures a rerun.
    for part in (*figure._data, figure._layout):
        _escape_tags(part)
    return figure


def _escape_tags(value: Any) -> Any:
    """``value`` (plotly's JSON: dicts, lists, arrays, strings) with its tags escaped; containers in place."""
    if isinstance(value, str):
        return _TAG.sub("&lt;", value) if "<" in value else value
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = _escape_tags(item)
    elif isinstance(value, list | tuple | np.ndarray) and _holds_tag(value):
        escaped = [_escape_tags(item) for item in (value.ravel().tolist() if isinstance(value, np.ndarray) else value)]
        if isinstance(value, np.ndarray):
            return np.array(escaped, dtype=object).reshape(value.shape)
        return type(value)(escaped)
    return value


def _holds_tag(values: list | tuple | np.ndarray) -> bool:
    """Whether a sequence may hold a tag to escape: one search over all its text (hover text: thousands of points)."""
    if isinstance(values, np.ndarray):
        return values.dtype.kind in "OUS" and bool(_TAG.search("\n".join(map(str, values.ravel().tolist()))))
    texts = [item for item in values if isinstance(item, str)]
    nested = any(isinstance(item, dict | list | tuple | np.ndarray) for item in values)
    return nested or bool(texts and _TAG.search("\n".join(texts)))
