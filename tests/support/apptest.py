"""The app, or one of its pages, opened in Streamlit's AppTest with session state set before its first run."""

from __future__ import annotations

import json
import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
PAGES = ROOT / "app_pages"
TIMEOUT = 240  # s per script run: a first run imports torch, and some train a model or a method


def opened(script: Path = APP, timeout: float = TIMEOUT, **session: object) -> AppTest:
    """``script`` after its first run, with each ``session`` key set in its session state beforehand."""
    at = AppTest.from_file(str(script), default_timeout=timeout)
    for key, value in session.items():
        at.session_state[key] = value
    return at.run()


def page(name: str, **session: object) -> AppTest:
    """``app_pages/<name>.py`` on its own (no navigation or sidebar), after its first run."""
    return opened(PAGES / f"{name}.py", **session)


def read(markdown: str) -> str:
    """What a reader sees of a message the app escaped as plain text (``ui/text.py``): its backslash escapes read
    and its invisible breaks gone. The browser test (tests/browser/test_hostile_text.py) checks that Chromium
    shows exactly this."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace("\u200b", "")


def charts(at: AppTest) -> dict[str, dict]:
    """Plotly figures on the page by their title (the proto spec is the figure's JSON)."""
    figures = {}
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        figures[spec["layout"].get("title", {}).get("text", "")] = spec
    return figures


def press_train(at: AppTest) -> AppTest:
    """Press the form's Train button (its key changes when a preset is loaded)."""
    return next(button for button in at.button if button.label == "Train").click().run()


def notices(at: AppTest) -> list:
    """The page's warnings except the run's health notes (those carry the warning icon): what a link, an upload or
    a page itself warns about."""
    return [warning for warning in at.warning if not warning.icon]
