"""``sustain optimize``: targets, budget, outputs, exit codes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sustain.cli.main import app
from sustain.readiness.evaluate import evaluate_arrays
from sustain.scenario import load_scenario
from sustain.scenario.compile import compile_scenario
from tests.cli.test_evaluate_cli import EXAMPLE, SMALL

RUNNER = CliRunner()


def run(*args: str | Path) -> object:
    return RUNNER.invoke(app, [str(a) for a in args])


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def test_target_json(small: Path) -> None:
    result = run("optimize", small, "--target", "0.95", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert all(f["availability"] >= 0.95 for f in doc["fleets"])
    assert doc["curve"][0]["cost"] == 0
    costs = [p["cost"] for p in doc["curve"]]
    assert costs == sorted(costs)
    assert doc["purchase_cost"] == pytest.approx(sum(p["cost"] for p in doc["purchases"]))
    # stock_cost covers everything held after buying: held + purchases.
    assert doc["stock_cost"] == pytest.approx(3 * 1_200_000 + 90_000 + doc["purchase_cost"])


def test_target_for_one_system_and_one_fleet(small: Path) -> None:
    result = run("optimize", small, "--target", "SAMX@WEST=0.97", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["targets"] == [{"system": "SAMX", "site": "WEST", "target": 0.97}]
    west = next(f for f in doc["fleets"] if f["site"] == "WEST")
    assert west["availability"] >= 0.97


def test_budget_is_respected(small: Path) -> None:
    result = run("optimize", small, "--budget", "1000000", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert 0 < doc["purchase_cost"] <= 1_000_000


def test_plan_csv_and_curve_files(small: Path, tmp_path: Path) -> None:
    plan, curve, plot = tmp_path / "buy.csv", tmp_path / "curve.csv", tmp_path / "curve.png"
    assert run("optimize", small, "-t", "0.9", "-o", plan, "--curve", curve, "-q").exit_code == 0
    assert run("optimize", small, "-t", "0.9", "--curve", plot, "-q").exit_code == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = list(csv.DictReader(plan.read_text().splitlines()))
    assert {"item", "site", "held", "buy", "qty", "unit_cost", "cost"} <= set(rows[0])
    for r in rows:
        assert int(r["qty"]) == int(r["held"]) + int(r["buy"])
    # The plan, applied to the scenario, meets the target when evaluated again.
    a = compile_scenario(load_scenario(small))
    stock = a.stock.copy()
    for r in rows:
        stock[a.item_ids.index(r["item"]), a.site_ids.index(r["site"])] = int(r["qty"])
    ev = evaluate_arrays(a.with_stock(stock))
    assert min(ev.availability) >= 0.9
    points = list(csv.DictReader(curve.read_text().splitlines()))
    assert float(points[-1]["availability"]) >= 0.9


def test_unreachable_target_exits_3(small: Path, tmp_path: Path) -> None:
    limited = tmp_path / "limited.yaml"
    limited.write_text(
        small.read_text() + "stock_limits:\n  - {item: TX, max: 0}\n  - {item: PSU, max: 1}\n"
    )
    result = run("optimize", limited, "--target", "0.99")
    assert result.exit_code == 3, result.output
    assert "fleet SAMX at WEST: target 0.99 cannot be reached; best reachable" in result.stderr
    assert "Traceback" not in result.output


def test_target_with_a_budget(small: Path, tmp_path: Path) -> None:
    """Enough money: the plan of the target alone, within the budget (exit 0).  Too
    little: exit 3, the budget named as the cause, nothing on stdout, no file written
    (as for any unreachable target)."""
    alone = json.loads(run("optimize", small, "-t", "0.95", "--json").stdout)
    need = alone["purchase_cost"]
    result = run("optimize", small, "-t", "0.95", "-b", str(need), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["budget"] == need and doc["purchase_cost"] == pytest.approx(need)
    assert doc["purchases"] == alone["purchases"]
    plan = tmp_path / "plan.csv"
    result = run("optimize", small, "-t", "0.95", "-b", str(need - 1), "--json", "-o", plan)
    assert result.exit_code == 3, result.output
    assert result.stderr.strip().startswith(f"error: the budget {need - 1:,.0f} is the cause: the "
                                    "targets cannot be met within it (the cheapest plan "
                                    f"found that meets them costs {need:,.0f}); within the "
                                    "budget the best plan (cost ")
    assert "fleet SAMX at WEST " in result.stderr and "(target 0.95" in result.stderr
    assert "stock limits" not in result.stderr
    assert result.stdout == "" and not plan.exists()


def test_worked_example_budget_is_named_not_stock_limits() -> None:
    """``-t 0.9 -b 1e6`` on the worked example (which has no stock limits) blamed "the
    stock limits given"; the budget is the cause."""
    result = run("optimize", EXAMPLE, "-t", "0.9", "-b", "1e6", "-q")
    assert result.exit_code == 3, result.output
    assert result.stderr.strip().startswith("error: the budget 1,000,000 is the cause")
    assert "stock limits" not in result.stderr
    for fleet in ("SAMX at EAST", "HOW155 at NORTH", "IFV at SOUTH"):
        assert f"fleet {fleet} " in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "abc"], "--target 'abc': expected a number"),
        (["--target", "90"], "give a fraction (0.9), not a percentage"),
        (["--target", "NOPE=0.9"], "target NOPE: no such fleet"),
        ([], "give --target (e.g. --target 0.9) or --budget"),
        (["--target", "0.9", "-o", "x.txt"], "unknown output type '.txt'"),
        (["--target", "0.9", "--method", "exact"], "optimize uses --method vari-metric"),
    ],
)
def test_usage_errors_exit_2(small: Path, args: list[str], message: str) -> None:
    result = run("optimize", small, *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stdout == ""


def test_stock_limits_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    limits = "stock_limits:\n  - {item: TXX, max: 1}\n  - {item: TX, min: 3, max: 1}\n"
    path.write_text(SMALL + limits)
    result = run("optimize", path, "--target", "0.9")
    assert result.exit_code == 2
    assert "stock_limits[0].item: 'TXX' is not an item id (did you mean 'TX'?)" in result.stderr
    assert "stock_limits[1].max: must be >= min (3): got 1" in result.stderr
