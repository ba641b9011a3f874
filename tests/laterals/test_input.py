"""The ``laterals`` key: valid forms, and each malformed one with its exact message,
all in one pass; the command line exits 2 with them on stderr and nothing on stdout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sustain.cli import main as cli_main
from sustain.errors import ScenarioError
from sustain.scenario import load_scenario
from sustain.scenario.compile import compile_scenario

RUNNER = CliRunner()

BASE = """\
sites:
  - {id: HUB, kind: depot}
  - {id: MID, parent: HUB, order_ship_days: 5}
  - {id: WEST, parent: MID, order_ship_days: 2}
  - {id: EAST, parent: MID, order_ship_days: 3}
  - {id: NORTH, parent: MID, order_ship_days: 2}
  - {id: FAR, parent: HUB, order_ship_days: 9}
systems:
  - {id: SAMX}
fleets:
  - {system: SAMX, site: WEST, count: 2, hours_per_day: 20}
  - {system: SAMX, site: EAST, count: 2, hours_per_day: 20}
items:
  - {id: TX, unit_cost: 100, mtbf_hours: 1500, installed_in: "SAMX:1", depot_repair_days: 25}
stock:
  - {item: TX, site: WEST, qty: 1}
laterals:
"""
LINE = len(BASE.splitlines()) + 1  # the first row of laterals


def _load(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "lat.yaml"
    path.write_text(BASE + rows, encoding="utf-8")
    return path


def test_valid_links_compile_nearest_first(tmp_path: Path) -> None:
    path = _load(tmp_path, "  - {from: WEST, to: EAST, days: 2}\n"
                           "  - {from: NORTH, to: WEST, days: 0.5, one_way: true}\n")
    sc = load_scenario(path)
    assert [(x.from_site, x.to_site, x.days, x.one_way) for x in sc.laterals] == [
        ("WEST", "EAST", 2.0, False), ("NORTH", "WEST", 0.5, True)]
    a = compile_scenario(sc)
    assert a.laterals is not None
    got = [(a.site_ids[s], a.site_ids[j], d) for s, j, d in zip(
        a.laterals.site.tolist(), a.laterals.source.tolist(), a.laterals.days.tolist(),
        strict=True)]
    # WEST asks NORTH (0.5 days) before EAST (2 days); NORTH receives nothing (one way).
    assert sorted(got) == sorted([("EAST", "WEST", 2.0), ("WEST", "NORTH", 0.5),
                                  ("WEST", "EAST", 2.0)])
    west = [x for x in got if x[0] == "WEST"]
    assert west == [("WEST", "NORTH", 0.5), ("WEST", "EAST", 2.0)]


def test_no_laterals_key_compiles_to_none(tmp_path: Path) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(BASE.removesuffix("laterals:\n"), encoding="utf-8")
    assert compile_scenario(load_scenario(path)).laterals is None


CASES = [
    ("unknown-site", "  - {from: WEST, to: EASTT, days: 1}\n",
     [f"lat.yaml line {LINE}: laterals[0].to: 'EASTT' is not a site id "
      "(did you mean 'EAST'?)"]),
    ("self", "  - {from: WEST, to: WEST, days: 1}\n",
     [f"lat.yaml line {LINE}: laterals[0].to: a site cannot send spares to itself: got "
      "'WEST'"]),
    ("zero-days", "  - {from: WEST, to: EAST, days: 0}\n",
     [f"lat.yaml line {LINE}: laterals[0].days: must be > 0: got 0"]),
    ("other-parent", "  - {from: WEST, to: FAR, days: 1}\n",
     [f"lat.yaml line {LINE}: laterals[0]: 'WEST' (parent 'MID') and 'FAR' (parent "
      "'HUB') do not have the same parent: lateral resupply joins sites under one "
      "parent"]),
    ("site-with-children", "  - {from: MID, to: FAR, days: 1}\n",
     [f"lat.yaml line {LINE}: laterals[0].from: 'MID' has sites below it: lateral "
      "resupply joins sites with no sites below them"]),
    ("twice", "  - {from: WEST, to: EAST, days: 1}\n  - {from: EAST, to: WEST, days: 2}\n",
     [f"lat.yaml line {LINE + 1}: laterals[1]: spares from 'EAST' to 'WEST' given twice "
      f"(first at lat.yaml line {LINE})"]),
    ("unknown-key", "  - {from: WEST, to: EAST, day: 1}\n",
     [f"lat.yaml line {LINE}: laterals[0].day: unknown key (did you mean 'days'?)"]),
]


@pytest.mark.parametrize(("rows", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_laterals(tmp_path: Path, rows: str, expected: list[str]) -> None:
    path = _load(tmp_path, rows)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert [str(i) for i in info.value.issues] == expected
    result = RUNNER.invoke(cli_main.app, ["evaluate", str(path), "--json"])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.output + result.stderr


def test_every_problem_in_one_pass(tmp_path: Path) -> None:
    path = _load(tmp_path, "  - {from: WEST, to: WEST, days: 1}\n"
                           "  - {from: WEST, to: FARR, days: -1}\n"
                           "  - {from: WEST, to: FAR, days: 1}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert len(info.value.issues) == 4, [str(i) for i in info.value.issues]


@pytest.mark.parametrize("args", [["evaluate", "--over-time", "--days", "28"],
                                  ["optimize", "--over-time", "--days", "28", "-t", "0.5"]])
def test_over_time_runs_say_they_leave_the_links_out(tmp_path: Path, args: list[str]) -> None:
    """The over-time model has no lateral links: the run says so on stderr, once, and its
    JSON is unchanged; without links it says nothing."""
    linked = _load(tmp_path, "  - {from: WEST, to: EAST, days: 2}\n")
    plain = tmp_path / "plain.yaml"
    plain.write_text(BASE.removesuffix("laterals:\n"), encoding="utf-8")
    cmd, *rest = args
    runs = [RUNNER.invoke(cli_main.app, [cmd, str(p), *rest, "--json"]) for p in (linked, plain)]
    assert [r.exit_code for r in runs] == [0, 0], runs[0].output
    assert runs[0].stderr.count("leaves out the scenario's lateral links") == 1
    assert "lateral" not in runs[1].stderr
    assert json.loads(runs[0].stdout) == json.loads(runs[1].stdout)


def test_a_link_no_faster_than_resupply_is_flagged(tmp_path: Path) -> None:
    """Spares from EAST reach WEST in 2 days, WEST's own resupply takes 2: the model
    fills laterally whenever the neighbour has a spare, so the link can only cost
    availability there.  One warning, on stderr; the run goes on."""
    path = _load(tmp_path, "  - {from: WEST, to: EAST, days: 2}\n")
    sc = load_scenario(path)
    assert [str(w) for w in sc.warnings] == [
        f"lat.yaml line {LINE}: laterals[0].days: warning: spares from 'EAST' reach 'WEST' in "
        "2 days, no sooner than its own resupply (2 order-ship days): a demand is filled "
        "laterally whenever the neighbour has a spare, so this link can lower availability"]
    res = RUNNER.invoke(cli_main.app, ["evaluate", str(path), "--json"])
    assert res.exit_code == 0
    assert "laterals[0].days: warning" in res.stderr
    assert json.loads(res.stdout)["fleets"]


def test_a_fast_link_is_not_flagged(tmp_path: Path) -> None:
    assert load_scenario(_load(tmp_path, "  - {from: WEST, to: EAST, days: 1.5}\n")).warnings == ()
