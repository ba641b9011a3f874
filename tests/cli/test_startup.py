"""Start-up: each command imports what it needs; output to a file or pipe is not cut.

Each check runs in a fresh interpreter (``sys.modules`` of this test process holds
everything the other tests imported) and reads ``sys.modules`` there: which modules a
command loads, not how long it takes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

#: Modules that ``sustain --help`` and ``sustain evaluate`` do not need.
ENGINES = ("numba", "scipy.stats", "scipy.optimize", "matplotlib", "sustain.optimize",
           "sustain.simulate", "sustain.stockpile")

LOADED = """
import json, sys
{run}
print(json.dumps(sorted(m for m in {names!r} if m in sys.modules)))
"""


def loaded(run: str, names: tuple[str, ...] = ENGINES) -> list[str]:
    """Which of ``names`` are in ``sys.modules`` after ``run`` in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", LOADED.format(run=run, names=names)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_the_command_line_imports_no_engine() -> None:
    assert loaded("import sustain.cli.main") == []


def test_import_sustain_loads_no_engine_nor_numpy() -> None:
    assert loaded("import sustain", (*ENGINES, "numpy", "sustain.readiness",
                                     "sustain.scenario")) == []


def test_evaluate_loads_neither_the_optimiser_nor_the_simulator(tmp_path: Path) -> None:
    from tests.cli.test_evaluate_cli import SMALL

    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    run = (
        f"sys.argv = ['sustain', 'evaluate', {str(path)!r}, '--json']\n"
        "from sustain.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
    )
    assert loaded(run) == []


def test_the_public_names_survive_their_subpackages_loading_first() -> None:
    """``sustain.simulate`` and ``sustain.optimize`` stay the functions even when the
    subpackages of the same names are imported before ``sustain`` is used.  Also the
    control of the checks above: the engines show in ``sys.modules`` once loaded."""
    run = (
        "import sustain.simulate.replicate, sustain.optimize.work\n"
        "import sustain\n"
        "from sustain import *\n"
        "from sustain.crosscheck import simulate as sim\n"
        "from sustain.optimize.api import optimize as opt\n"
        "assert sustain.simulate is sim and simulate is sim, sustain.simulate\n"
        "assert sustain.optimize is opt and optimize is opt, sustain.optimize\n"
    )
    assert {"numba", "sustain.optimize", "sustain.simulate"} <= set(loaded(run))


def test_an_unknown_name_is_an_attribute_error() -> None:
    import sustain

    with pytest.raises(AttributeError, match="no attribute 'nonesuch'"):
        _ = sustain.nonesuch  # type: ignore[attr-defined]


# -- output to a file or pipe ---------------------------------------------------------

LONG_ITEM = "TRANSMITTER-HIGH-VOLTAGE-POWER-SUPPLY-MODULE-MARK-2"
LONG_SITE = "FORWARD-OPERATING-BASE-EAST-RIVER-CROSSING"
WIDE = f"""
sites:
  - {{id: HUB}}
  - {{id: {LONG_SITE}, parent: HUB, order_ship_days: 4}}
systems:
  - {{id: SURFACE-TO-AIR-MISSILE-BATTERY-SYSTEM}}
fleets:
  - {{system: SURFACE-TO-AIR-MISSILE-BATTERY-SYSTEM, site: {LONG_SITE}, count: 2,
     hours_per_day: 20}}
items:
  - {{id: {LONG_ITEM}, unit_cost: 1200000, mtbf_hours: 1500, depot_repair_days: 25,
     installed_in: [{{system: SURFACE-TO-AIR-MISSILE-BATTERY-SYSTEM, qty: 1}}]}}
"""


def piped(*args: str) -> str:
    """Standard output of ``sustain ARGS`` written into a pipe, with no width set."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TERMINAL_WIDTH")}
    done = subprocess.run(
        [sys.executable, "-c", "from sustain.cli.main import main; main()", *args],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_tables_in_a_pipe_are_not_cut_to_80_columns(tmp_path: Path) -> None:
    path = tmp_path / "wide.yaml"
    path.write_text(WIDE)
    text = piped("evaluate", str(path))
    assert "…" not in text
    rows = [line for line in text.splitlines() if LONG_ITEM in line]
    assert rows and all(LONG_SITE in row for row in rows)
    assert max(len(line) for line in text.splitlines()) > 80


def test_help_in_a_pipe_is_not_cut() -> None:
    text = piped("simulate", "--help")
    assert "…" not in text.replace("{file: …}", "")  # an ellipsis of the help text itself
    assert "simulation.warmup_days" in text


def _not_cut(text: str, *headings: str) -> None:
    """No cell cut short, every heading whole, and lines wider than 80 columns."""
    assert "…" not in text
    assert all(h in text for h in headings), [h for h in headings if h not in text]
    assert max(len(line) for line in text.splitlines()) > 80


#: Runs each command (a list of arguments) in one interpreter, stdout a pipe: the
#: imports are paid once.
EACH = """
import sys
from sustain.cli.main import app
for args in {commands!r}:
    print("== " + args[0], flush=True)
    try:
        app(args)
    except SystemExit as exc:
        assert not exc.code, (args, exc.code)
"""


def test_each_commands_tables_in_a_pipe_are_not_cut(tmp_path: Path) -> None:
    from tests.conftest import EXAMPLES

    path = str(tmp_path / "wide.yaml")
    (tmp_path / "wide.yaml").write_text(WIDE)
    commands = [
        ["optimize", path, "--target", "0.9", "--refine-seconds", "0"],
        ["simulate", path, "--days", "30", "--reps", "2", "--compare"],
        ["evaluate", path, "--over-time", "--days", "30", "--step", "10"],
        ["stockpile", str(EXAMPLES / "coalition-munitions.yaml")],
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TERMINAL_WIDTH")}
    done = subprocess.run(
        [sys.executable, "-c", EACH.format(commands=commands)], stdin=subprocess.DEVNULL,
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    parts = dict(p.split("\n", 1) for p in done.stdout.split("== ")[1:])
    assert list(parts) == ["optimize", "simulate", "evaluate", "stockpile"]
    for name in ("optimize", "simulate", "evaluate"):
        _not_cut(parts[name], LONG_SITE, "SURFACE-TO-AIR-MISSILE-BATTERY-SYSTEM")
    _not_cut(parts["stockpile"], "cover", "at pledges", "first short")
