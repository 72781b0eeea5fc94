"""docs/bad-input.md lists every limit bnn_core/limits.py states, by its name."""

from __future__ import annotations

from pathlib import Path

from bnn_core import limits

ROOT = Path(__file__).resolve().parents[2]


def test_every_limit_is_listed_in_the_bad_input_page() -> None:
    page = (ROOT / "docs" / "bad-input.md").read_text()
    names = [name for name in vars(limits) if name.startswith("MAX_")]
    assert len(names) >= 15  # the check sees the limits
    assert [name for name in names if f"`{name}`" not in page] == []
