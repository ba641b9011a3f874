"""Shared fixtures: the shared/ folder beside the repository, scenario builders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def refcases() -> Path:
    """The published reference cases (``../shared/refcases``), which CI lays beside the clone."""
    path = SHARED / "refcases"
    assert path.is_dir(), f"reference cases not found at {path}"
    return path


def load_refcase(name: str) -> dict[str, Any]:
    """One reference case by file name."""
    return json.loads((SHARED / "refcases" / name).read_text())
