"""The user documentation (README.md and docs/*.md): links that resolve inside the
repository, and no development history.

* Markdown links ``[text](target)`` that are not web addresses must name a file of the
  repository (never a path that leaves it) and, with ``#anchor``, a heading there.
* Paths of the repository named in the text (``docs/method.md``, ``examples/…``,
  ``tests/…``, ``benchmarks/…``, ``src/…``) must exist.
* Nothing may point at the project's files outside the repository (``shared/spec``).
* Words that tell the story of the code's development ("session", "previously", "a later
  capability", "the issue") have no place in a user's manual.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
_PATH = re.compile(r"(?<![\w./-])((?:docs|examples|tests|benchmarks|src)/[\w./*-]*\w)")
_OUTSIDE = re.compile(r"(?<![\w.-])shared/spec\b")
#: Development history, matched case-insensitively across line breaks.
HISTORY = (
    r"\bsessions?\b", r"\bpreviously\b", r"\blater capabilit(?:y|ies)\b",
    r"\bthe issue\b", r"\bissue's\b", r"\bissue #?\d+", r"\bearlier rounds?\b",
    r"\brounds? of work\b", r"\bin this slice\b", r"\bthis slice\b", r"\bTODO\b",
    r"\bFIXME\b", r"\bwas fixed\b", r"\bnow fixed\b", r"\bpull request\b",
    r"\bgit history\b", r"\bused to (?:be|take|give|write|print)\b", r"\bformerly\b",
    r"\bit now\b", r"\bno longer (?:does|prints|writes|takes)\b", r"\bthe target of \d",
)
_HISTORY = re.compile("|".join(HISTORY), re.IGNORECASE)


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    return {_slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", text, re.MULTILINE)}


def _prose(page: Path) -> str:
    return page.read_text(encoding="utf-8")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_resolve_inside_the_repository(page: Path) -> None:
    bad = []
    for m in _LINK.finditer(_prose(page)):
        target = m.group(1)
        if re.match(r"[a-z]+:", target):  # https:, mailto: — sources cited by address
            continue
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve() if file else page
        if not path.is_relative_to(ROOT):
            bad.append(f"{target}: leaves the repository")
        elif not path.exists():
            bad.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            bad.append(f"{target}: no heading #{anchor} in {path.name}")
    assert bad == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_paths_named_exist(page: Path) -> None:
    text = _prose(page)
    missing = sorted({
        m.group(1) for m in _PATH.finditer(text)
        if not any(ROOT.glob(m.group(1).rstrip(".")))
    })
    assert missing == []
    assert [m.group(0) for m in _OUTSIDE.finditer(text)] == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_development_history(page: Path) -> None:
    flat = re.sub(r"\s+", " ", _prose(page))
    found = [flat[max(0, m.start() - 40): m.end() + 20] for m in _HISTORY.finditer(flat)]
    assert found == []


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """The patterns catch what they are for (so an empty result means something)."""
    assert _HISTORY.search("The simulator (a later\n capability)".replace("\n", ""))
    assert _HISTORY.search("as in the previous session")
    assert _PATH.search("see docs/nothing.md.").group(1) == "docs/nothing.md"  # type: ignore[union-attr]
    assert _LINK.search("[x](../../outside.md)").group(1) == "../../outside.md"  # type: ignore[union-attr]
    assert _slug("Magnitudes, limits and errors") == "magnitudes-limits-and-errors"
    assert _slug("The efficient curve (`opt.curve()`, `--curve`)") == (
        "the-efficient-curve-optcurve---curve")


def test_cli_reference_is_current() -> None:
    """docs/cli.md is what the commands define (every option of every command)."""
    from sustain.cli.reference import markdown

    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert page == markdown(), (
        "docs/cli.md is out of date: python -m sustain.cli.reference > docs/cli.md")
