"""Shared fixtures: the shared/ folder beside the repository, scenario builders."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
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


#: Compiles the simulator's event loop in both its modes (time-phased: the worked example
#: with its over-time section; steady state: one item at one site) into numba's disk cache.
_WARM_SIMULATOR = f"""
import sustain
from sustain.scenario import scenario_from_dict
sustain.simulate(sustain.load_scenario({str(EXAMPLES / "coalition-air-defence.yaml")!r}),
                 days=5, replications=1, seed=0)
sustain.simulate(scenario_from_dict({{
    "sites": [{{"id": "D"}}], "systems": [{{"id": "S"}}],
    "fleets": [{{"system": "S", "site": "D", "count": 2, "hours_per_day": 10}}],
    "items": [{{"id": "X", "mtbf_hours": 500, "installed_in": "S:1",
               "depot_repair_days": 5}}]}}), days=5, replications=1, seed=0)
"""


@pytest.fixture(scope="session", autouse=True)
def simulator_compiled_aside() -> Iterator[None]:
    """Compile the simulator's loop (about half a minute per mode on a fresh checkout,
    cached on disk by numba afterwards) in a separate process while the first tests run,
    so that the tests that simulate find it compiled instead of each waiting for it.

    Tests never depend on it: one that simulates before the cache is written compiles
    the loop itself, as without this fixture.  The process is stopped at the end of the
    session if it is still running.
    """
    proc = subprocess.Popen([sys.executable, "-c", _WARM_SIMULATOR],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield
    if proc.poll() is None:
        proc.kill()
    proc.wait()


@pytest.fixture(scope="session")
def refcases() -> Path:
    """The published reference cases (``../shared/refcases``), which CI lays beside the clone."""
    path = SHARED / "refcases"
    assert path.is_dir(), f"reference cases not found at {path}"
    return path


def load_refcase(name: str) -> dict[str, Any]:
    """One reference case by file name."""
    return json.loads((SHARED / "refcases" / name).read_text())
