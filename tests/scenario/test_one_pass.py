"""Every independent problem of a scenario in one pass.

A row that fails its own checks (a negative count) still has its references checked (an
unknown system); a table-file row that cannot be read is left out and the other rows are
still checked.  The file below has problems of every kind at once, and each must be in
the one message: fixing the reported ones must not reveal more.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sustain.cli.main import app
from sustain.errors import ScenarioError
from sustain.scenario import load_scenario

SCENARIO = """\
name: Many problems
colour: blue
sites:
  - id: ROOT
    kind: depot
  - id: NORTH
    parent: SOUTH
  - id: SOUTH
    parent: NORTH
  - id: WEST
    parent: HUBB
    order_ship_days: -4
systems:
  - id: SAMX
fleets:
  - system: SAMZ
    site: ROOT
    count: -2
    hours_per_day: 20
  - site: ROOT
    count: 2
    hours_per_day: 20
items: {file: items.csv}
stock:
  - {item: TX, site: EASTT, qty: -1}
attrition:
  - {system: SAMQ, site: ROOT, losses_per_day: -0.1}
stockpile:
  start_month: 2024-01
  months: 3
  consumables: [{id: R}]
  pledges:
    - {donor: UX, consumable: R, month: 2024-01, qty: -5}
"""
ITEMS = """\
id,unit_cost,mtbf_hours,installed_in,parent,replace_fraction,base_repair_fraction,\
base_repair_days,depot_repair_days
TX,1200000,-1500,SAMY:1,,,0.2,3,25
TX-PSU,ninety,,,TX,0.5,,,20
TY,1,1,SAMX:1,,,0.2,3,25,extra
"""

EXPECTED = [
    # Read while loading: the row with a cell too many is left out.
    "items.csv row 4: 10 cells but the header has 9 columns",
    "plan.yaml line 2: colour: unknown key",
    "plan.yaml line 12: sites[3].order_ship_days: must be >= 0: got -4",
    "plan.yaml line 18: fleets[0].count: must be >= 0: got -2",
    "plan.yaml line 20: fleets[1].system: required key is missing",
    "items.csv row 2: mtbf_hours: must be >= 0.01: got -1500",
    "items.csv row 3: unit_cost: must be a number: got 'ninety'",
    "plan.yaml line 25: stock[0].qty: must be >= 0: got -1",
    "plan.yaml line 27: attrition[0].losses_per_day: must be >= 0: got -0.1",
    "plan.yaml line 33: stockpile.pledges[0].qty: must be >= 0: got -5",
    "plan.yaml line 7: sites[1].parent: the site tree has a cycle: NORTH -> SOUTH -> NORTH",
    # References of rows that failed their own checks, in the same pass.
    "plan.yaml line 11: sites[3].parent: 'HUBB' is not a site id",
    "plan.yaml line 16: fleets[0].system: 'SAMZ' is not a system id (did you mean 'SAMX'?)",
    "items.csv row 2: installed_in[0].system: 'SAMY' is not a system id (did you mean "
    "'SAMX'?)",
    "plan.yaml line 25: stock[0].site: 'EASTT' is not a site id",
    "plan.yaml line 27: attrition[0].system: 'SAMQ' is not a system id (did you mean "
    "'SAMX'?)",
    "plan.yaml line 33: stockpile.pledges[0].donor: 'UX' is not a donor id",
]


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    (tmp_path / "items.csv").write_text(ITEMS, encoding="utf-8")
    path = tmp_path / "plan.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def test_every_independent_problem_in_one_pass(plan: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(plan)
    assert sorted(str(i) for i in info.value.issues) == sorted(EXPECTED)


def test_cli_reports_them_in_one_message_exit_2(plan: Path) -> None:
    result = CliRunner().invoke(app, ["evaluate", str(plan), "--json"])
    assert result.exit_code == 2
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"{len(EXPECTED)} problems in the scenario:\n")
    for message in EXPECTED:
        assert f"  {message}\n" in result.stderr
