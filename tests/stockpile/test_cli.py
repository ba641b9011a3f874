"""``sustain stockpile``: the JSON contract, the worked example, plots, fleet-driven
demand and exit codes (0 ok, 2 bad input, 3 no plan possible)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

import sustain
from sustain.cli.main import app
from sustain.stockpile.solve import HighsSolver, LPProblem, LPSolution, Status
from tests.conftest import EXAMPLES
from tests.scenario.test_bad_input import GOOD

RUNNER = CliRunner()
EXAMPLE = EXAMPLES / "coalition-munitions.yaml"


def run(*args: str | Path) -> Any:
    return RUNNER.invoke(app, ["stockpile", *(str(a) for a in args)])


@pytest.fixture(scope="module")
def example_doc() -> dict[str, Any]:
    result = run(EXAMPLE, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_follows_the_contract(example_doc: dict[str, Any]) -> None:
    doc = example_doc
    assert set(doc) >= {"status", "months", "total_shortfall", "consumables", "donors",
                        "capacity_value"}
    assert doc["status"] == "optimal"
    months = doc["months"]
    assert len(months) == 36 and months[0] == "2023-01" and months[-1] == "2025-12"
    for c in doc["consumables"]:
        assert set(c) >= {"id", "demand", "arrivals", "used", "shortfall", "partner_stock"}
        for key in ("demand", "arrivals", "used", "shortfall", "partner_stock"):
            assert len(c[key]) == 36
        assert doc["total_shortfall"][c["id"]] == pytest.approx(sum(c["shortfall"]))
    for r in doc["donors"]:
        assert set(r) >= {"donor", "consumable", "stock", "floor", "made", "surge", "sent",
                          "floor_breach"}
        assert isinstance(r["floor"], int | float)
        for key in ("stock", "made", "surge", "sent", "floor_breach"):
            assert len(r[key]) == 36
    for v in doc["capacity_value"]:
        assert set(v) == {"donor", "consumable", "month", "shortfall_avoided_per_unit"}
        assert v["month"] in months and v["shortfall_avoided_per_unit"] != 0


def test_worked_example_against_hand_arithmetic(example_doc: dict[str, Any]) -> None:
    """Numbers worked from the example file, not from the planner.

    Demand (coalition-munitions-demand.csv): SHELL155 150,000 × 5 + 200,000 × 5 +
    150,000 × 7 + 180,000 × 19 = 6,220,000; AD-INT 60 × 14 + 110 × 10 + 90 × 12 = 3,020.

    EU SHELL155: start 900,000, own use 15,000, made 25,000 (2023-01..06), 40,000
    (2023-07..2024-02), 83,000 (2024-03..), pledged 45,000 a month 2023-04..2024-03.
    Sending only the pledges: 930,000 by 2023-03, −35,000 a month to 825,000 in 2023-06,
    −20,000 a month to 665,000 in 2024-02, then 688,000 in 2024-03.  Under the 700,000
    floor by 15,000, 35,000 and 12,000 in 2024-01..03: 62,000 unit-months, forced.
    At the pledged rate (540,000 over 15 months = 36,000 a month) the stock falls
    26,000 a month to 744,000 in 2023-06 and 11,000 a month after: 700,000 in 2023-10
    (not below), 689,000 in 2023-11.
    """
    doc = example_doc
    demand = {c["id"]: sum(c["demand"]) for c in doc["consumables"]}
    assert demand == {"SHELL155": 6_220_000, "AD-INT": 3_020}
    eu = next(r for r in doc["donors"] if (r["donor"], r["consumable"]) == ("EU", "SHELL155"))
    assert eu["floor_breach"][doc["months"].index("2024-01"):][:3] == [15_000, 35_000, 12_000]
    assert sum(eu["floor_breach"]) == 62_000
    assert doc["objective"]["floor_breach"] == 62_000
    assert eu["pledge_rate_per_month"] == 36_000
    assert eu["breach_month_at_pledge_rate"] == "2023-11"
    assert any(n.startswith("EU is below its SHELL155 floor (700,000) in 2024-01 to 2024-03")
               for n in doc["notes"])
    # Surge is bought only from the months it exists (US: 2024-07 on).
    us = next(r for r in doc["donors"] if (r["donor"], r["consumable"]) == ("US", "SHELL155"))
    assert sum(us["surge"][: doc["months"].index("2024-07")]) == 0


def test_tables_on_the_console() -> None:
    result = run(EXAMPLE, "--no-monthly")
    assert result.exit_code == 0, result.output
    for text in ("consumables, 2023-01 to 2025-12", "Donors: stock against floor",
                 "Where one more unit of committed production pays",
                 "EU is below its SHELL155 floor"):
        assert text in result.stdout
    monthly = run(EXAMPLE)
    assert "SHELL155: partner, month by month (demand)" in monthly.stdout


def test_plot_is_written(tmp_path: Path) -> None:
    plot = tmp_path / "stocks.png"
    result = run(EXAMPLE, "--plot", plot, "--quiet")
    assert result.exit_code == 0, result.output
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stocks.png"]  # no temporary left


def test_bad_plot_suffix_writes_nothing(tmp_path: Path) -> None:
    result = run(EXAMPLE, "--plot", tmp_path / "stocks.txt")
    assert result.exit_code == 2
    bad = tmp_path / "stocks.txt"
    assert result.stderr == f"error: --plot {bad}: use a .png, .svg or .pdf file\n"
    assert list(tmp_path.iterdir()) == []


INFEASIBLE = {
    "stockpile": {
        "start_month": "2024-01", "months": 3, "consumables": [{"id": "R"}],
        "demand": [{"consumable": "R", "from": "2024-01", "per_month": 5}],
        "donors": [{"id": "A", "stock": {"R": 100},
                    "production": [{"consumable": "R", "from": "2024-01", "per_month": 10}]}],
        "pledges": [{"donor": "A", "consumable": "R", "month": "2024-02", "qty": 200}],
    }
}


def test_infeasible_plan_exits_3_in_words_and_keeps_the_old_plot(tmp_path: Path) -> None:
    path = tmp_path / "over.yaml"
    path.write_text(yaml.safe_dump(INFEASIBLE), encoding="utf-8")
    plot = tmp_path / "stocks.png"
    plot.write_bytes(b"yesterday's plot")
    result = run(path, "--json", "--plot", plot)
    assert result.exit_code == 3, result.output
    assert result.stdout == ""
    assert result.stderr == (
        f"{path}: no stockpile plan is possible (1 problem; constraints: donor_balance, "
        "stock >= 0, sent >= pledged):\n"
        "  donor 'A' cannot meet its R commitments in 2024-02: by then its pledges (200) "
        "exceed its starting stock, production and surge capacity (120) by 80; reduce or move "
        "the pledges, or add production\n"
    )
    assert plot.read_bytes() == b"yesterday's plot"


def test_tiny_priority_plans_like_any_other(tmp_path: Path,
                                            example_doc: dict[str, Any]) -> None:
    """The example with the interceptors' priority at 1e-12 (accepted: priorities are
    > 0) is planned, exit 0, not "no plan … meets every constraint" (exit 3).
    Consumables never compete, so a priority changes no plan's shortfall, breach or
    surge cost (the timing of shipments can differ between plans equal on every term)."""
    doc = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    with open(EXAMPLES / "coalition-munitions-demand.csv", encoding="utf-8") as f:
        doc["stockpile"]["demand"] = [
            {"consumable": r["consumable"], "from": r["from"], "per_month": float(r["per_month"])}
            for r in csv.DictReader(f)
        ]
    doc["stockpile"]["consumables"][1]["priority"] = 1e-12
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    result = run(path, "--json")
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert got["total_shortfall"] == example_doc["total_shortfall"]
    assert [c["shortfall"] for c in got["consumables"]] == [
        c["shortfall"] for c in example_doc["consumables"]]
    assert [r["floor_breach"] for r in got["donors"]] == [
        r["floor_breach"] for r in example_doc["donors"]]
    assert got["objective"]["surge_cost"] == example_doc["objective"]["surge_cost"]


def test_numerical_trouble_exits_2_and_says_so(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A solver that stops in error (as HiGHS does on numbers it cannot resolve): one
    message that says it is numerical and names the magnitudes, exit 2, no plot."""

    def fail(self: HighsSolver, problem: LPProblem) -> LPSolution:
        return LPSolution(status=Status.ERROR, x=np.full(problem.c.size, np.nan),
                          objective=np.nan, eq_duals=np.zeros(0),
                          message="(HiGHS Status 4: Solve error)")

    monkeypatch.setattr(HighsSolver, "__call__", fail)
    plot = tmp_path / "stocks.png"
    result = run(EXAMPLE, "--json", "--plot", plot)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "error: stockpile: numerical trouble: the solver could not finish the plan of "
        "SHELL155 (floor_breach stage: (HiGHS Status 4: Solve error)), although a plan "
        "exists. The inputs of SHELL155 span quantities from 6e+03 (own_use_per_month of "
        "'SHELL155' of donor 'US') to 1.5e+06 (stock of 'SHELL155' of donor 'US'), a ratio "
        "of 2.5e+02. That is within what the solver handles: please report this scenario "
        "as a bug.\n"
    )
    assert not plot.exists()


def test_scenario_without_a_stockpile_section_exits_2() -> None:
    path = EXAMPLES / "coalition-air-defence.yaml"
    result = run(path)
    assert result.exit_code == 2
    assert result.stderr == (f"error: {path}: the scenario has no stockpile section "
                             "(see docs/stockpile.md)\n")
    with pytest.raises(sustain.SustainError, match="no stockpile section"):
        sustain.plan_stockpile(sustain.load_scenario(path))


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = run(tmp_path / "nope.yaml")
    assert result.exit_code == 2
    missing = tmp_path / "nope.yaml"
    assert result.stderr == f"1 problem in the scenario:\n  {missing}: file not found\n"


# GOOD (tests/scenario): 2 SAMX systems at WEST, with items, so the readiness engine
# gives the fleet an availability.  Fleet-driven use of a missile: 0.5 per system-day,
# doubled from 2024-02; an explicit demand of 7 a month as well.
FLEETS = GOOD + """\
stockpile:
  start_month: 2024-01
  months: 2
  consumables: [{id: MSL}]
  demand: [{consumable: MSL, from: 2024-01, per_month: 7}]
  usage: [{consumable: MSL, system: SAMX, per_system_day: 0.5}]
  tempo: [{from: 2024-02, factor: 2}]
"""


def _demand(path: Path, *flags: str) -> tuple[list[float], str]:
    result = run(path, "--json", *flags)
    assert result.exit_code == 0, result.output
    (c,) = json.loads(result.stdout)["consumables"]
    return c["demand"], c["demand_source"]


def test_demand_from_fleets(tmp_path: Path) -> None:
    """2 systems × 0.5 a day × 31 days = 31 in January; × 29 days × tempo 2 = 58 in
    February 2024 (a leap year); scaled by the fleet's availability from the readiness
    engine unless --no-availability; explicit demand (7) without --usage-from-fleets."""
    path = tmp_path / "fleets.yaml"
    path.write_text(FLEETS, encoding="utf-8")
    assert _demand(path) == ([7, 7], "demand")
    assert _demand(path, "--usage-from-fleets", "--no-availability") == ([31, 58], "usage")
    availability = sustain.evaluate(sustain.load_scenario(path)).to_dict()["fleets"][0][
        "availability"]
    assert 0 < availability < 1
    demand, source = _demand(path, "--usage-from-fleets")
    assert source == "usage × availability"
    assert demand == pytest.approx([31 * availability, 58 * availability], rel=1e-12)
    # Usage is the only source: it is used without the flag, every system counted.
    path.write_text(FLEETS.replace(
        "  demand: [{consumable: MSL, from: 2024-01, per_month: 7}]\n", ""), encoding="utf-8")
    assert _demand(path) == ([31, 58], "usage")


def test_fleets_without_items_count_every_system(tmp_path: Path) -> None:
    text = FLEETS[FLEETS.index("fleets:"):FLEETS.index("items:")]
    doc = ("sites: [{id: WEST}]\nsystems: [{id: SAMX}]\n" + text
           + FLEETS[FLEETS.index("stockpile:"):])
    path = tmp_path / "fleets.yaml"
    path.write_text(doc, encoding="utf-8")
    result = run(path, "--json", "--usage-from-fleets")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["consumables"][0]["demand"] == [31, 58]
    assert out["notes"][0].startswith("availability not applied: the scenario has no items")
