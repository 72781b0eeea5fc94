"""The user guide's claims about the app's frame hold: the keys table and the page count name app.py's navigation,
the key listener and the sidebar's help reach every page, and the layout claims name the tests that measure them."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "guide.md").read_text()
NUMBERS = {7: "seven", 8: "eight", 9: "nine", 10: "ten", 11: "eleven"}


def _pages() -> list[str]:
    """The pages' titles in app.py's navigation, in order."""
    return re.findall(r'st\.Page\("app_pages/\w+\.py", title="([^"]+)"', (ROOT / "app.py").read_text())


def test_the_keys_table_names_every_page_in_the_navigations_order() -> None:
    pages = _pages()
    row = next(line for line in GUIDE.splitlines() if line.startswith("| `1`–"))
    assert row.startswith(f"| `1`–`{len(pages)}` | the {NUMBERS[len(pages)]} pages, in the navigation's order: ")
    assert row.rstrip(" |").endswith(", ".join(pages))


def test_the_guide_counts_the_other_pages() -> None:
    assert f"A navigation bar at the top leads to {NUMBERS[len(_pages()) - 1]} more pages." in GUIDE


def test_the_keys_reach_every_page_and_the_help_says_so() -> None:
    """The key listener (ui/style.py) presses the n-th link for the digits 1 to n; the toggle's help and ui/page.py
    agree."""
    count = len(_pages())
    assert f"/^[1-{count}]$/" in (ROOT / "ui" / "style.py").read_text()
    assert f"``1``–``{count}`` the pages" in (ROOT / "ui" / "page.py").read_text()
    assert f"1–{count} pages" in (ROOT / "ui" / "shell.py").read_text()


def test_the_layout_claims_name_the_tests_that_measure_them() -> None:
    """ "Every chart page is a slide", "no request leaves the server" and "no text overlaps": each names its test,
    and that test exists and is a browser test."""
    for claim, test in (
        ("Every chart page is a slide", "tests/browser/test_slides.py"),
        ("No chart's text overlaps other text", "tests/browser/test_chart_text.py"),
        ("The app asks nothing of any server but its own", "tests/browser/test_offline.py"),
    ):
        paragraph = next(part for part in GUIDE.split("\n\n") if claim in part)
        assert f"`{test}`" in paragraph, claim
        assert "pytest.mark.browser" in (ROOT / test).read_text()
