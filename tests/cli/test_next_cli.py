"""``sustain next``: the JSON contract, outputs, exit codes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sustain.cli.main import app

RUNNER = CliRunner()

SCENARIO = """
sites: [{id: HUB}, {id: EAST, parent: HUB, order_ship_days: 3}]
systems: [{id: HOW155}, {id: SAMX}]
fleets:
  - {system: HOW155, site: EAST, count: 4, hours_per_day: 6}
  - {system: SAMX, site: EAST, count: 2, hours_per_day: 16}
items:
  - {id: FCC, mtbf_hours: 800, installed_in: [{system: HOW155}, {system: SAMX}],
     depot_repair_days: 40}
  - {id: RADAR, mtbf_hours: 1500, installed_in: [{system: SAMX}], depot_repair_days: 60}
stock: [{item: FCC, site: EAST, qty: 1}]
offers:
  - {id: HOW-DE, donor: DE, kind: systems, system: HOW155, site: EAST, max: 2,
     unit_cost: 4.0e6, from_day: 60}
  - {id: FCC-US, donor: US, kind: spares, item: FCC, site: EAST, max: 3, unit_cost: 2.0e5}
  - {id: RAD-FR, donor: FR, kind: spares, item: RADAR, site: HUB, max: 2, unit_cost: 1.0e6,
     from_day: 30}
value:
  - {system: SAMX, per_system_day: 50}
"""


def run(*args: str | Path) -> object:
    return RUNNER.invoke(app, [str(a) for a in args])


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "next.yaml"
    path.write_text(SCENARIO)
    return path


def test_json_follows_the_contract(scenario: Path) -> None:
    result = run("next", scenario, "--budget", "3e6", "--days", "180", "--step", "15", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert list(doc) == ["measure", "days", "budget", "spent", "value_before", "value_after",
                         "picks", "frontier", "fleets"]
    assert doc["measure"] == "mission-capable system-days" and doc["days"] == 180
    assert 0 < doc["spent"] <= 3e6
    assert doc["value_after"] > doc["value_before"]
    for p in doc["picks"]:
        assert list(p) == ["offer", "kind", "qty", "cost", "value_gain", "gain_per_cost"]
        assert p["gain_per_cost"] == pytest.approx(p["value_gain"] / p["cost"])
    assert doc["frontier"][0] == {"cost": 0.0, "value": doc["value_before"]}
    assert {(f["system"], f["site"]) for f in doc["fleets"]} == {("HOW155", "EAST"),
                                                                 ("SAMX", "EAST")}


def test_table_and_outputs(scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "picks.csv"
    result = run("next", scenario, "--budget", "1e7", "--days", "180", "--step", "15",
                 "-o", out)
    assert result.exit_code == 0, result.output
    assert "systems available for" in result.stdout
    assert "of them in the local search." in result.stdout  # 7 units: it runs
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert rows and rows[0]["order"] == "1" and rows[0]["reason"]
    md = tmp_path / "picks.md"
    assert run("next", scenario, "--budget", "1e7", "--days", "90", "-q", "-o", md).exit_code == 0
    assert md.read_text().startswith("# What to deliver next")


def test_workbook_and_page(scenario: Path, tmp_path: Path) -> None:
    """-o .xlsx holds the picks (numbers as numbers) and the fleets; -o .html the frontier."""
    openpyxl = pytest.importorskip("openpyxl")
    pytest.importorskip("plotly")
    book, page, doc = tmp_path / "picks.xlsx", tmp_path / "picks.html", tmp_path / "p.json"
    result = run("next", scenario, "--budget", "1e7", "--days", "90", "--step", "15", "-q",
                 "-o", book, "-o", page, "-o", doc)
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == ["picks", "fleets"]
    picks = json.loads(doc.read_text())["picks"]
    assert wb["picks"].max_row == len(picks) + 1
    if picks:
        assert wb["picks"].cell(row=2, column=6).value == pytest.approx(picks[0]["cost"])
    html = page.read_text()
    assert "Best measure for each budget" in html and "Plotly.newPlot" in html


@pytest.mark.parametrize(("args", "message"), [
    (["--budget", "-1"], "--budget -1.0: must be an amount of money >= 0"),
    (["--budget", "1e6", "--days", "0"], "--days 0: must be a whole number from 1"),
    (["--budget", "1e6", "--step", "0"], "--step 0: must be a whole number >= 1"),
    (["--budget", "1e6", "-o", "x.txt"], "unknown output type '.txt'"),
])
def test_bad_options_exit_2(scenario: Path, args: list[str], message: str) -> None:
    result = run("next", scenario, *args)
    assert result.exit_code == 2
    assert message in result.output


def test_no_offers_and_bad_offers_exit_2(tmp_path: Path) -> None:
    plain = tmp_path / "plain.yaml"
    plain.write_text(SCENARIO.split("offers:")[0])
    result = run("next", plain, "--budget", "1e6")
    assert result.exit_code == 2 and "has no offers" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(SCENARIO.replace("item: RADAR, site: HUB", "item: RADR, site: HUB"))
    result = run("next", bad, "--budget", "1e6")
    assert result.exit_code == 2
    assert "'RADR' is not an item id (did you mean 'RADAR'?)" in result.output
    assert "Traceback" not in result.output


CONSUMABLES = """
stockpile:
  start_month: 2025-01
  months: 6
  consumables: [{id: MSL}]
  usage: [{consumable: MSL, system: SAMX, per_system_day: 0.5}]
  partner_stock: {MSL: 20}
  donors: [{id: US, lead_months: 1, stock: {MSL: 10}}]
"""


def _with_offer(start: str) -> str:
    """The scenario with an offer of interceptors (MSL) by US."""
    offer = ("  - {id: MSL-US, donor: US, kind: consumable, consumable: MSL, per_month: 4,\n"
             f"     unit_cost: 1.0e5, {start}}}\n")
    return SCENARIO.replace("value:", offer + "value:")


def test_consumable_picks_carry_units_a_month(tmp_path: Path) -> None:
    path = tmp_path / "msl.yaml"
    path.write_text(_with_offer("from_month: 2025-02") + CONSUMABLES)
    result = run("next", path, "--budget", "1e6", "--days", "181", "--step", "15", "--json")
    assert result.exit_code == 0, result.output
    picks = [p for p in json.loads(result.stdout)["picks"] if p["kind"] == "consumable"]
    # Two batteries fire about 30 a month against 20 held and 10 the donor can send:
    # every interceptor offered is 2 battery-days worth 50, far above any spare here.
    assert picks and picks[0]["offer"] == "MSL-US"
    assert list(picks[0]) == ["offer", "kind", "qty", "cost", "value_gain", "gain_per_cost",
                              "months", "from_month"]
    # US ships from 2025-02 with a month's lead: the last to arrive by June leaves in May.
    assert picks[0]["months"] == 4 and picks[0]["from_month"] == "2025-02"
    assert picks[0]["cost"] == pytest.approx(picks[0]["qty"] * 1.0e5 * 4)


def test_an_overcommitted_donor_exits_3(tmp_path: Path) -> None:
    path = tmp_path / "over.yaml"
    path.write_text(_with_offer("from_month: 2025-01") + CONSUMABLES
                    + "  pledges: [{donor: US, consumable: MSL, month: 2025-01, qty: 50}]\n")
    result = run("next", path, "--budget", "1e6", "--days", "90")
    assert result.exit_code == 3, result.output
    assert "US" in result.output and "Traceback" not in result.output
