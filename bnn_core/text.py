"""Text from outside (a link, a CSV header, a file name, a run file) made safe to show in a message.

Every character that is not printable is written as its escape (``\\n``, ``\\x1b``, ``\\u202e``), so a value
cannot break a message's line, reorder it (bidi overrides), hide in it (zero-width marks) or drive a terminal
(escape sequences); and a long value is cut, with its length stated. The app's Markdown escaping builds on this
(``ui/text.py``); the command line prints through it.
"""

from __future__ import annotations

import unicodedata

from .limits import MAX_SHOWN_MESSAGE, MAX_SHOWN_VALUE

# Control, format (bidi, zero-width), surrogate, private and unassigned characters, and line or paragraph breaks.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def printable(text: str) -> str:
    """``text`` with every hidden or control character written as its Python escape, e.g. ``\\u202e``."""
    return "".join(repr(char)[1:-1] if unicodedata.category(char) in _HIDDEN else char for char in text)


def cut(text: str, limit: int = MAX_SHOWN_MESSAGE) -> str:
    """``text`` made printable and, if it is longer than ``limit`` characters, cut there with its length stated:
    ``"aaaa… (100,000 characters)"``."""
    if len(text) <= limit:
        return printable(text)
    return f"{printable(text[:limit])}… ({len(text):,} characters)"


def quoted(value: object, limit: int = MAX_SHOWN_VALUE) -> str:
    """An outside value as a message quotes it: text as its ``repr`` (escapes included), cut after ``limit``
    characters with its length stated, e.g. ``'[Log in](http://ev'… (42 characters)``; anything else as its
    ``repr``, cut the same way."""
    text = value if isinstance(value, str) else repr(value)
    head = repr(text[:limit]) if isinstance(value, str) else printable(text[:limit])
    return head if len(text) <= limit else f"{head}… ({len(text):,} characters)"
