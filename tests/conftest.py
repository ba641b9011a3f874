"""Shared fixtures: the shared/ folder beside the repository, scenario builders."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
EXAMPLES = ROOT / "examples"

# A suite started in the background of a non-interactive shell inherits SIGINT ignored,
# and Python then raises no KeyboardInterrupt; the interrupt tests are about Ctrl-C at a
# terminal, where it is not ignored (subprocesses inherit the default again).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def refcases() -> Path:
    """The published reference cases (``../shared/refcases``), which CI lays beside the clone."""
    path = SHARED / "refcases"
    assert path.is_dir(), f"reference cases not found at {path}"
    return path


def load_refcase(name: str) -> dict[str, Any]:
    """One reference case by file name."""
    return json.loads((SHARED / "refcases" / name).read_text())
