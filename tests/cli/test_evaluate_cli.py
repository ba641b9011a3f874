"""``sustain evaluate``: the JSON contract, methods, report file, exit codes."""

from __future__ import annotations

import csv
import inspect
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

import sustain
from sustain.cli.main import app
from tests.conftest import EXAMPLES

RUNNER = CliRunner()
EXAMPLE = EXAMPLES / "coalition-air-defence.yaml"

SMALL = """
sites:
  - {id: HUB}
  - {id: WEST, parent: HUB, order_ship_days: 4}
  - {id: EAST, parent: HUB, order_ship_days: 6}
systems:
  - {id: SAMX}
fleets:
  - {system: SAMX, site: WEST, count: 2, hours_per_day: 20}
  - {system: SAMX, site: EAST, count: 3, hours_per_day: 16}
items:
  - {id: TX, unit_cost: 1200000, mtbf_hours: 1500, installed_in: [{system: SAMX, qty: 1}],
     base_repair_fraction: 0.2, base_repair_days: 3, depot_repair_days: 25}
  - {id: PSU, unit_cost: 90000, mtbf_hours: 800, installed_in: [{system: SAMX, qty: 2}],
     depot_repair_days: 12}
stock:
  - {item: TX, site: WEST, qty: 1}
  - {item: TX, site: HUB, qty: 2}
  - {item: PSU, site: EAST, qty: 1}
"""


def run(*args: str | Path) -> Any:
    result = RUNNER.invoke(app, [str(a) for a in args])
    return result


def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def test_json_follows_the_contract(tmp_path: Path) -> None:
    result = run("evaluate", small(tmp_path), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) >= {"fleets", "items", "stock_cost"}
    for f in doc["fleets"]:
        assert set(f) >= {"system", "site", "count", "availability", "expected_available"}
        assert 0 <= f["availability"] <= 1
        assert f["expected_available"] == pytest.approx(f["count"] * f["availability"])
    keys = {"item", "site", "stock", "demand_per_day", "pipeline_mean", "pipeline_var",
            "ebo", "fill_rate"}
    for row in doc["items"]:
        assert set(row) >= keys
    rows = {(r["item"], r["site"]) for r in doc["items"]}
    # Every item is demanded at both bases and at the depot (PSU's depot sees NRTS flow).
    assert rows == {(i, s) for i in ("TX", "PSU") for s in ("HUB", "WEST", "EAST")}
    assert doc["stock_cost"] == pytest.approx(3 * 1_200_000 + 90_000)
    # Demand per day is derived from MTBF: qty * count * hours / mtbf.
    west = next(r for r in doc["items"] if (r["item"], r["site"]) == ("PSU", "WEST"))
    assert west["demand_per_day"] == pytest.approx(2 * 2 * 20 / 800)


@pytest.mark.parametrize("method", ["metric", "vari-metric", "exact"])
def test_methods(tmp_path: Path, method: str) -> None:
    result = run("evaluate", small(tmp_path), "--json", "--method", method)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["method"] == method
    if method == "exact":
        errors = doc["approximation"]
        assert set(errors) == {"metric", "vari-metric"}
        # VARI-METRIC is closer to the exact model than METRIC on total backorders.
        assert abs(errors["vari-metric"]["total_ebo_error"]) <= abs(
            errors["metric"]["total_ebo_error"]
        )


def test_exact_prints_the_approximation_error(tmp_path: Path) -> None:
    result = run("evaluate", small(tmp_path), "--method", "exact")
    assert result.exit_code == 0, result.output
    assert "Approximation error" in result.stdout


def test_exact_refuses_three_echelons_with_a_clear_message() -> None:
    result = run("evaluate", EXAMPLE, "--method", "exact")
    assert result.exit_code == 2
    assert "two echelons" in result.stderr
    assert "Traceback" not in result.output


def test_report_file(tmp_path: Path) -> None:
    report = tmp_path / "out.md"
    result = run("evaluate", small(tmp_path), "-o", report, "--quiet")
    assert result.exit_code == 0, result.output
    text = report.read_text()
    assert text.startswith("# Readiness report")
    assert "| SAMX | WEST | 2 |" in text


def _example_stock_cost() -> float:
    """Σ qty × unit_cost read straight from the example's files (not through sustain)."""
    doc = yaml.safe_load(EXAMPLE.read_text())
    with (EXAMPLES / doc["items"]["file"]).open() as fh:
        cost = {row["id"]: float(row["unit_cost"] or 0) for row in csv.DictReader(fh)}
    return sum(cost[s["item"]] * s["qty"] for s in doc["stock"])


def test_worked_example_end_to_end(tmp_path: Path) -> None:
    result = run("evaluate", EXAMPLE, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    systems = {f["system"] for f in doc["fleets"]}
    assert systems == {"SAMX", "HOW155", "IFV"}
    assert doc["stock_cost"] == pytest.approx(_example_stock_cost())
    av = [f["availability"] for f in doc["fleets"]]
    assert all(0 <= a <= 1 for a in av)
    assert len({round(a, 3) for a in av}) > 1  # the example is uneven on purpose


def test_public_api() -> None:
    public = {
        n for n in dir(sustain)
        if not n.startswith("_") and not inspect.ismodule(getattr(sustain, n))
    }
    assert set(sustain.__all__) - {"__version__"} == public
    sc = sustain.load_scenario(EXAMPLE)
    ev = sustain.evaluate(sc, method="metric")
    assert ev.to_dict()["method"] == "metric"


def test_usage_error_exits_2() -> None:
    result = run("evaluate")
    assert result.exit_code == 2
    result = run("evaluate", EXAMPLE, "--method", "bogus")
    assert result.exit_code == 2


HUGE_PIPELINE = """
sites:
  - {id: D}
  - {id: B, parent: D, order_ship_days: 3650}
systems:
  - {id: S}
fleets:
  - {system: S, site: B, count: 1000000, hours_per_day: 24}
items:
  - {id: I, mtbf_hours: 0.01, installed_in: "S:10000", depot_repair_days: 3650, unit_cost: 1}
stock:
  - {item: I, site: B, qty: 1000000000}
"""


def test_exact_refuses_pipelines_too_long_to_convolve(tmp_path: Path) -> None:
    """The corner of the accepted ranges: a depot pipeline of 2.4e13 × 3650 = 8.76e16 units."""
    path = tmp_path / "huge.yaml"
    path.write_text(HUGE_PIPELINE)
    result = run("evaluate", path, "--method", "exact")
    assert result.exit_code == 2
    assert "item I at site D" in result.stderr
    assert "8.76e+16" in result.stderr
    assert "use vari-metric" in result.stderr
    assert "Traceback" not in result.output
    # The approximate methods answer it.
    result = run("evaluate", path, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["fleets"][0]["availability"] == 0.0
    base = next(r for r in doc["items"] if r["site"] == "B")
    assert base["ebo"] == pytest.approx(1.752e17 - 1e9, rel=1e-12)


def test_stock_value_in_the_currency_held_and_after_buying(tmp_path: Path) -> None:
    """The terminal and the report give the stock's value in the scenario's currency;
    after optimize, as the stock held plus the purchases (the JSON's numbers)."""
    path = small(tmp_path)
    currency = sustain.load_scenario(path).currency
    held = json.loads(run("evaluate", path, "--json").stdout)["stock_cost"]
    assert held == 2 * 1200000 + 1200000 + 90000  # TX at WEST and HUB, PSU at EAST
    line = f"Stock held: {held:,.0f} {currency}."
    assert line in run("evaluate", path).stdout
    report = tmp_path / "r.md"
    r = run("optimize", path, "-t", "0.95", "-o", report)
    bought = json.loads(run("optimize", path, "-t", "0.95", "--json").stdout)["purchase_cost"]
    assert bought > 0
    line = (f"Stock after buying: {held + bought:,.0f} {currency} (held {held:,.0f} + "
            f"purchases {bought:,.0f}).")
    assert line in r.stdout
    assert line in report.read_text()
