"""Every link in the README and docs/ leads somewhere: relative links to files that exist (and to headings those
files have), and the repository paths and module names written in backticks exist too."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Backticked text naming a file of this repository starts with one of its top-level folders or files.
TOP = r"(?:bnn_core|ui|app_pages|tests|benchmarks|docs|gallery|references|deploy|\.ci|\.streamlit)/[\w./-]*|app\.py"
REPO_PATH = re.compile(rf"(?<![\w./~<-])({TOP})")
MODULE = re.compile(r"(?<![\w.])((?:bnn_core|ui)(?:\.\w+)+)")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _outside_fences(text: str) -> str:
    return re.sub(r"```.*?```", "", text, flags=re.S)


def _inline_code(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", _outside_fences(text))


def _anchors(path: Path) -> set[str]:
    """GitHub's ids for a Markdown file's headings: lower case, punctuation dropped, spaces to hyphens."""
    seen: dict[str, int] = {}
    anchors = set()
    for heading in re.findall(r"^#+ (.+)$", _outside_fences(path.read_text()), flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT))


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_relative_links_lead_to_files_and_headings(page: Path) -> None:
    text = _outside_fences(page.read_text())
    links = [link for link in LINK.findall(text) if not re.match(r"[a-z]+:", link)]
    assert links, f"{_name(page)} links to no other page"
    for link in links:
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        assert path.exists(), f"{_name(page)}: {link} leads nowhere"
        if anchor:
            assert anchor in _anchors(path), f"{_name(page)}: {link}: no such heading in {path.name}"


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_backticked_repository_paths_exist(page: Path) -> None:
    text = page.read_text()
    paths = {match.rstrip("./") for match in REPO_PATH.findall(" ".join(_inline_code(text)))}
    paths |= {match.rstrip("./") for block in re.findall(r"```.*?```", text, flags=re.S) for match in
              REPO_PATH.findall(block) if match.startswith(("benchmarks/", "bnn_core/", "ui/", "tests/"))}  # fmt: skip
    missing = sorted(path for path in paths if not (ROOT / path).exists())
    assert not missing, f"{_name(page)} names paths that do not exist: {missing}"


def _module_file(parts: list[str]) -> Path | None:
    for k in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:k])
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
        if k > 1 and base.is_dir():  # a package folder without __init__.py
            return base
    return None


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_backticked_module_names_exist(page: Path) -> None:
    """`bnn_core.posterior.regression`, `bnn_core.engine.train.REPORT_SECONDS`, `bnn_core.one_thread_per_call`:
    the module exists, and the name after it is defined or exported there."""
    for code in _inline_code(page.read_text()):
        for dotted in MODULE.findall(code):
            parts = dotted.split(".")
            found = _module_file(parts)
            assert found is not None, f"{_name(page)}: no module for {dotted}"
            depth = len(found.relative_to(ROOT).with_suffix("").parts) - (found.name == "__init__.py")
            rest = parts[depth:]
            if rest and found.is_file():
                assert re.search(rf"\b{re.escape(rest[0])}\b", found.read_text()), f"{_name(page)}: {dotted}"


def test_the_checks_find_what_they_check() -> None:
    """The patterns above see the paths and names the docs use (a check that matches nothing cannot fail)."""
    api = (ROOT / "docs" / "api.md").read_text()
    assert "bnn_core/compiled/kernels.py" in REPO_PATH.findall(" ".join(_inline_code(api)))
    assert "bnn_core.posterior.regression" in MODULE.findall(" ".join(_inline_code(api)))
    assert "performance.md#regression" in LINK.findall(api)
    assert "the-thread-policy-and-why" in _anchors(ROOT / "docs" / "design.md")
    assert "the-articles-settings-hide-the-payoff" in _anchors(ROOT / "docs" / "guide.md")
    assert REPO_PATH.findall("`~/.cache/bnn_core/numba-<hash>` `runs/iris` `.bnn_runs/<name>/`") == []
