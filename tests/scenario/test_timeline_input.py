"""Time-phased keys (deliveries, tempo, attrition, battle damage, simulation settings,
site repair_channels, item weibull_shape): valid forms, and malformed ones reported
in the same single pass as the rest, each with its exact message.

``sustain simulate`` exits 2 with the messages on stderr and nothing on stdout;
``sustain evaluate`` ignores the keys of a valid scenario (steady state).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sustain.cli import main as cli_main
from sustain.errors import ScenarioError
from sustain.scenario import load_scenario
from tests.scenario.test_bad_input import GOOD

RUNNER = CliRunner()

# GOOD has 63 lines; these keys start on line 64.
TIMELINE = """\
deliveries:
  - {day: 90, system: SAMX, site: WEST, count: 2, stock: [{item: TX, qty: 2}]}
  - {day: 30, system: SAMX, site: HUB, count: 1, hours_per_day: 10}
tempo:
  - {from_day: 180, to_day: 270, factor: 1.5, system: SAMX, site: WEST}
attrition:
  - {system: SAMX, site: WEST, losses_per_day: 0.01}
  - {system: SAMX, site: HUB, day: 120, count: 1}
battle_damage:
  - {system: SAMX, site: WEST, damaged_per_day: 0.02, repair_days: 21}
simulation:
  warmup_days: 20
  cannibalisation: true
"""
VALID = GOOD.replace("    order_ship_days: 4\n", "    order_ship_days: 4\n    repair_channels: 2\n")
VALID = VALID.replace("    procurement_days: 180\n",
                      "    procurement_days: 180\n    weibull_shape: 2.5\n") + TIMELINE
LINE = len(VALID.splitlines()) - len(TIMELINE.splitlines()) + 1  # "deliveries:"


def _edit(old: str, new: str) -> str:
    assert VALID.count(old) == 1, old
    return VALID.replace(old, new)


CASES = [
    ("delivery-unknown-key",
     _edit("count: 2, stock:", "count: 2, stok:"),
     [f"bad.yaml line {LINE + 1}: deliveries[0].stok: unknown key (did you mean 'stock'?)"]),
    ("delivery-negative-count",
     _edit("count: 2, stock:", "count: -2, stock:"),
     [f"bad.yaml line {LINE + 1}: deliveries[0].count: must be >= 0: got -2"]),
    ("delivery-unknown-site",
     _edit("site: WEST, count: 2", "site: WESTT, count: 2"),
     [f"bad.yaml line {LINE + 1}: deliveries[0].site: 'WESTT' is not a site id "
      "(did you mean 'WEST'?)"]),
    ("delivery-unknown-item",
     _edit("{item: TX, qty: 2}", "{item: TXX, qty: 2}"),
     [f"bad.yaml line {LINE + 1}: deliveries[0].stock[0].item: 'TXX' is not an item id "
      "(did you mean 'TX'?)"]),
    ("delivery-stock-unknown-key",
     _edit("{item: TX, qty: 2}", "{item: TX, qyt: 2}"),
     # The misspelt key's hint says what is missing: no second message for 'qty'.
     [f"bad.yaml line {LINE + 1}: deliveries[0].stock[0].qyt: unknown key "
      "(did you mean 'qty'?)"]),
    ("delivery-new-fleet-needs-hours",
     _edit("count: 1, hours_per_day: 10}", "count: 1}"),
     [f"bad.yaml line {LINE + 2}: deliveries[1].hours_per_day: required: there is no fleet "
      "of 'SAMX' at 'HUB' at day 0, so the delivery creates one and must say how many "
      "hours per day it runs"]),
    ("delivery-changes-hours",
     _edit("count: 2, stock:", "count: 2, hours_per_day: 12, stock:"),
     [f"bad.yaml line {LINE + 1}: deliveries[0].hours_per_day: the fleet of 'SAMX' at "
      "'WEST' runs 20 hours per day (fleets); a delivery cannot change it: got 12"]),
    ("tempo-window-reversed",
     _edit("from_day: 180, to_day: 270", "from_day: 280, to_day: 270"),
     [f"bad.yaml line {LINE + 4}: tempo[0].to_day: must be > from_day (280): got 270"]),
    ("tempo-negative-factor",
     _edit("factor: 1.5", "factor: -1.5"),
     [f"bad.yaml line {LINE + 4}: tempo[0].factor: must be >= 0: got -1.5"]),
    ("tempo-unknown-system",
     _edit("factor: 1.5, system: SAMX", "factor: 1.5, system: SAMZ"),
     [f"bad.yaml line {LINE + 4}: tempo[0].system: 'SAMZ' is not a system id "
      "(did you mean 'SAMX'?)"]),
    ("attrition-negative-rate",
     _edit("losses_per_day: 0.01", "losses_per_day: -0.01"),
     [f"bad.yaml line {LINE + 6}: attrition[0].losses_per_day: must be >= 0: got -0.01"]),
    ("attrition-both-forms",
     _edit("losses_per_day: 0.01}", "losses_per_day: 0.01, day: 3}"),
     [f"bad.yaml line {LINE + 6}: attrition[0].losses_per_day: give either losses_per_day "
      "(a rate) or day and count (losses on a day), not both"]),
    ("attrition-day-without-count",
     _edit("day: 120, count: 1}", "day: 120}"),
     [f"bad.yaml line {LINE + 7}: attrition[1].count: required with day (losses on a day)"]),
    ("attrition-no-such-fleet",
     _edit("- {system: SAMX, site: HUB, day: 120", "- {system: SAMX, site: HUB2, day: 120")
     .replace("  - id: WEST\n", "  - id: HUB2\n    parent: HUB\n  - id: WEST\n"),
     [f"bad.yaml line {LINE + 9}: attrition[1]: there is no fleet of 'SAMX' at 'HUB2' "
      "(in fleets or deliveries)"]),
    ("battle-damage-missing-repair-days",
     _edit("damaged_per_day: 0.02, repair_days: 21}", "damaged_per_day: 0.02}"),
     [f"bad.yaml line {LINE + 9}: battle_damage[0].repair_days: required key is missing"]),
    ("battle-damage-twice",
     _edit("repair_days: 21}\n", "repair_days: 21}\n  - {system: SAMX, site: WEST, "
           "damaged_per_day: 0.01, repair_days: 5}\n"),
     [f"bad.yaml line {LINE + 10}: battle_damage[1]: battle damage of 'SAMX' at 'WEST' "
      f"given twice (first at bad.yaml line {LINE + 9}); one row per fleet"]),
    ("simulation-unknown-key",
     _edit("  warmup_days: 20", "  warmup_day: 20"),
     [f"bad.yaml line {LINE + 11}: simulation.warmup_day: unknown key "
      "(did you mean 'warmup_days'?)"]),
    ("simulation-not-a-bool",
     _edit("cannibalisation: true", "cannibalisation: maybe"),
     [f"bad.yaml line {LINE + 12}: simulation.cannibalisation: must be true or false: "
      "got 'maybe'"]),
    ("simulation-not-a-mapping",
     _edit("simulation:\n  warmup_days: 20\n  cannibalisation: true\n", "simulation: 20\n"),
     [f"bad.yaml line {LINE + 10}: simulation: must be a mapping of keys: got 20"]),
    ("site-repair-channels-zero",
     _edit("repair_channels: 2", "repair_channels: 0"),
     ["bad.yaml line 10: sites[1].repair_channels: must be >= 1: got 0"]),
    ("weibull-shape-out-of-range",
     _edit("weibull_shape: 2.5", "weibull_shape: 0"),
     ["bad.yaml line 30: items[0].weibull_shape: must be >= 0.1: got 0"]),
    ("weibull-shape-on-sub-item",
     _edit("    replace_fraction: 0.5\n", "    replace_fraction: 0.5\n    weibull_shape: 2\n"),
     ["bad.yaml line 35: items[1].weibull_shape: a sub-item fails through its parent's "
      "repairs: it has no lifetime shape"]),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_timeline(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert [str(i) for i in info.value.issues] == expected
    result = RUNNER.invoke(cli_main.app, ["simulate", str(path), "--json", "--reps", "2"])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.output + result.stderr
    for message in expected:
        assert f"  {message}\n" in result.stderr


def test_many_problems_in_one_pass(tmp_path: Path) -> None:
    text = _edit("factor: 1.5", "factor: -1.5")
    text = text.replace("losses_per_day: 0.01}", "losses_per_day: 0.01, day: 3}")
    text = text.replace("  warmup_days: 20", "  warmup_day: 20")
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert len(info.value.issues) == 3


def test_valid_timeline_loads_and_evaluate_ignores_it(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(VALID, encoding="utf-8")
    sc = load_scenario(path)
    assert [d.day for d in sc.deliveries] == [90, 30]
    assert sc.deliveries[1].hours_per_day == 10
    assert sc.deliveries[0].hours_per_day == 20  # the fleet's
    assert sc.attrition[1].count == 1 and sc.attrition[0].losses_per_day == 0.01
    assert sc.simulation.warmup_days == 20 and sc.simulation.cannibalisation
    assert sc.items[0].weibull_shape == 2.5
    assert {s.id: s.repair_channels for s in sc.sites} == {"HUB": None, "WEST": 2}
    plain = tmp_path / "plain.yaml"
    plain.write_text(GOOD, encoding="utf-8")
    ev1 = RUNNER.invoke(cli_main.app, ["evaluate", str(path), "--json"])
    ev2 = RUNNER.invoke(cli_main.app, ["evaluate", str(plain), "--json"])
    assert ev1.exit_code == 0 and ev2.exit_code == 0
    # The same numbers; repair_channels adds only the load of WEST's shop.
    doc1, doc2 = json.loads(ev1.stdout), json.loads(ev2.stdout)
    assert [r["site"] for r in doc1.pop("repair_shops")] == ["WEST"]
    assert doc1 == doc2


def test_deliveries_from_a_csv_file(tmp_path: Path) -> None:
    (tmp_path / "deliveries.csv").write_text(
        "day,system,site,count,stock\n90,SAMX,WEST,2,TX:2;TX-PSU:1\n100,SAMX,WEST,1,\n"
        "110,SAMX,WEST,1,TX\n",
        encoding="utf-8",
    )
    path = tmp_path / "ok.yaml"
    path.write_text(GOOD + "deliveries: {file: deliveries.csv}\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert [str(i) for i in info.value.issues] == [
        "deliveries.csv row 4: stock: must read 'ITEM:QTY;ITEM:QTY' (e.g. 'TX:2;RX:1'): got "
        "'TX'"
    ]
    (tmp_path / "deliveries.csv").write_text(
        "day,system,site,count,stock\n90,SAMX,WEST,2,TX:2;TX-PSU:1\n100,SAMX,WEST,1,\n",
        encoding="utf-8",
    )
    sc = load_scenario(path)
    assert [(s.item, s.qty) for s in sc.deliveries[0].stock] == [("TX", 2), ("TX-PSU", 1)]
    assert sc.deliveries[1].stock == ()


def test_simulate_cli_with_timeline(tmp_path: Path) -> None:
    """The scenario's warm-up applies unless --warmup is given; the document gains
    the time-phased levels."""
    path = tmp_path / "ok.yaml"
    path.write_text(VALID, encoding="utf-8")
    out = RUNNER.invoke(cli_main.app, ["simulate", str(path), "--json", "--reps", "3",
                                       "--days", "200"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["warmup_days"] == 20
    hub = next(f for f in doc["fleets"] if f["site"] == "HUB")
    assert hub["count"] == 0 and hub["delivered"] == 1
    assert hub["series"][10]["present"] == 0 and hub["series"][30]["present"] == 1
    out = RUNNER.invoke(cli_main.app, ["simulate", str(path), "--json", "--reps", "3",
                                       "--days", "200", "--warmup", "0"])
    assert json.loads(out.stdout)["warmup_days"] == 0


def test_scenario_warmup_longer_than_the_run(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(VALID, encoding="utf-8")
    out = RUNNER.invoke(cli_main.app, ["simulate", str(path), "--json", "--reps", "2",
                                       "--days", "15"])
    assert out.exit_code == 2 and out.stdout == ""
    assert out.stderr.strip() == (  # (a blank line from the closed progress bar)
        "error: ok.yaml: simulation.warmup_days must be less than the days simulated (15): "
        "got 20 (or give --warmup)"
    )
