"""``--stock FILE`` with ``--stock-mode overlay|replace|add`` on evaluate, optimize and
simulate, and plans compared side by side (``evaluate --stock A --stock B``).

The expected stock of each mode is written out by hand as a scenario file and evaluated
(or simulated) the ordinary way; the optimiser's plan is checked against the
availability the optimiser itself reports.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from sustain.cli.main import app
from sustain.errors import SustainError
from sustain.scenario import load_scenario
from sustain.scenario.stock_plan import StockMode, apply_stock_plan, load_stock_plan
from tests.cli.test_evaluate_cli import EXAMPLE, SMALL

RUNNER = CliRunner()

#: SMALL with a second system (HOW at EAST only) and a sub-item of TX.
MIXED = """
sites:
  - {id: HUB}
  - {id: WEST, parent: HUB, order_ship_days: 4}
  - {id: EAST, parent: HUB, order_ship_days: 6}
systems: [{id: SAMX}, {id: HOW}]
fleets:
  - {system: SAMX, site: WEST, count: 2, hours_per_day: 20}
  - {system: HOW, site: EAST, count: 3, hours_per_day: 10}
items:
  - {id: TX, unit_cost: 1000, mtbf_hours: 1500, installed_in: [{system: SAMX, qty: 1}],
     depot_repair_days: 25}
  - {id: TX-PSU, unit_cost: 10, parent: TX, replace_fraction: 0.5, depot_repair_days: 10}
  - {id: SHOCK, unit_cost: 50, mtbf_hours: 700, installed_in: [{system: HOW, qty: 2}],
     depot_repair_days: 12}
stock:
  - {item: SHOCK, site: HUB, qty: 1}
"""


def run(*args: str | Path) -> Any:
    return RUNNER.invoke(app, [str(a) for a in args])


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def with_stock(tmp_path: Path, name: str, stock: list[tuple[str, str, int]]) -> Path:
    """SMALL with its ``stock`` section replaced by ``stock``, written by hand."""
    doc = yaml.safe_load(SMALL)
    doc["stock"] = [{"item": i, "site": s, "qty": q} for i, s, q in stock]
    return write(tmp_path / name, yaml.safe_dump(doc))


def evaluate_json(*args: str | Path) -> dict[str, Any]:
    r = run("evaluate", *args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return write(tmp_path / "small.yaml", SMALL)


# SMALL holds TX@WEST 1, TX@HUB 2, PSU@EAST 1.  The plan names TX@WEST and PSU@WEST.
PLAN = "item,site,qty\nTX,WEST,3\nPSU,WEST,2\n"
EXPECTED = {
    "overlay": [("TX", "WEST", 3), ("TX", "HUB", 2), ("PSU", "EAST", 1), ("PSU", "WEST", 2)],
    "replace": [("TX", "WEST", 3), ("PSU", "WEST", 2)],
    "add": [("TX", "WEST", 4), ("TX", "HUB", 2), ("PSU", "EAST", 1), ("PSU", "WEST", 2)],
}
MESSAGES = {
    "overlay": "stock: 2 rows from {p} replaced 1 of 3 rows; 2 kept; 1 new",
    "replace": "stock: 2 rows from {p} replaced all 3 rows: 1 set by the file, "
               "2 dropped (now 0); 1 new",
    "add": "stock: 2 rows from {p} added 5 units (column qty) to 1 of 3 rows; 1 new; "
           "2 unchanged",
}


@pytest.mark.parametrize("mode", ["overlay", "replace", "add"])
def test_each_mode_evaluates_like_the_stock_written_by_hand(
    tmp_path: Path, small: Path, mode: str
) -> None:
    plan = write(tmp_path / "plan.csv", PLAN)
    r = run("evaluate", small, "--stock", plan, "--stock-mode", mode, "--json")
    assert r.exit_code == 0, r.output
    assert r.stderr == MESSAGES[mode].format(p=plan) + "\n"
    doc = json.loads(r.stdout)
    by_hand = evaluate_json(with_stock(tmp_path, "hand.yaml", EXPECTED[mode]))
    (got,) = doc["plans"]
    assert got["fleets"] == by_hand["fleets"]
    assert got["items"] == by_hand["items"]
    assert got["stock_cost"] == by_hand["stock_cost"]
    # The top level stays the stock held: the same document as without --stock.
    assert {k: v for k, v in doc.items() if k != "plans"} == evaluate_json(small)
    assert got["message"] == MESSAGES[mode].format(p=plan)
    # Costs by hand: TX 1.2 M, PSU 90 k.
    bought = {"overlay": 2 * 1_200_000 + 2 * 90_000, "replace": 2 * 1_200_000 + 2 * 90_000,
              "add": 3 * 1_200_000 + 2 * 90_000}[mode]
    removed = {"overlay": 0, "replace": 2 * 1_200_000 + 90_000, "add": 0}[mode]
    assert (got["purchase_cost"], got["removed_cost"]) == (bought, removed)


def test_one_row_plan_keeps_the_other_rows_in_simulate(tmp_path: Path, small: Path) -> None:
    """A one-row file changes one row: the simulation equals the scenario with that row
    edited by hand (before, every other row was silently dropped)."""
    plan = write(tmp_path / "one.csv", "item,site,qty\nTX,HUB,3\n")
    fast = ["--days", "60", "--reps", "2", "--seed", "3", "--json"]
    r = run("simulate", small, "--stock", plan, *fast)
    assert r.exit_code == 0, r.output
    assert r.stderr.splitlines()[0] == f"stock: 1 row from {plan} replaced 1 of 3 rows; 2 kept"
    doc = json.loads(r.stdout)
    assert doc.pop("stock_plan")["kept"] == 2
    hand = with_stock(tmp_path, "hand.yaml", [("TX", "WEST", 1), ("TX", "HUB", 3),
                                              ("PSU", "EAST", 1)])
    r = run("simulate", hand, *fast)
    assert r.exit_code == 0, r.output
    assert doc == json.loads(r.stdout)


def _optimised_plan(scenario: Path, plan: Path, *options: str) -> dict[str, Any]:
    r = run("optimize", scenario, *options, "-o", plan, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@pytest.mark.parametrize(
    ("scenario", "options"),
    [("small", ("--target", "0.9")), ("example", ("--budget", "2e6"))],
)
def test_optimiser_plan_reproduces_its_availability(
    tmp_path: Path, small: Path, scenario: str, options: tuple[str, ...]
) -> None:
    """The plan CSV, put back in any mode (add: its buy column on the stock held),
    gives the availability and purchase cost the optimiser reported."""
    path = small if scenario == "small" else EXAMPLE
    plan = tmp_path / "plan.csv"
    opt = _optimised_plan(path, plan, *options)
    for mode in ("overlay", "replace", "add"):
        doc = evaluate_json(path, "--stock", plan, "--stock-mode", mode)
        (got,) = doc["plans"]
        assert got["column"] == ("buy" if mode == "add" else "qty")
        assert [f["availability"] for f in got["fleets"]] == [
            f["availability"] for f in opt["fleets"]]
        assert got["stock_cost"] == pytest.approx(opt["stock_cost"], rel=1e-12)
        assert got["purchase_cost"] == pytest.approx(opt["purchase_cost"], rel=1e-12)
        assert got["removed_cost"] == 0
        assert got["held_differs"] == 0  # the plan's held column is the stock held
    if scenario == "small":
        assert opt["purchase_cost"] > 0  # the check means something: units were bought


def test_optimise_starts_from_the_given_stock(tmp_path: Path, small: Path) -> None:
    """optimize --stock held.csv equals optimize on the scenario holding that stock."""
    held = write(tmp_path / "held.csv", "item,site,qty\nTX,WEST,2\nPSU,WEST,4\n")
    r = run("optimize", small, "--target", "0.95", "--stock", held, "--stock-mode",
            "replace", "--json", "-o", tmp_path / "plan.csv")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc.pop("stock_plan")["dropped"] == 2
    hand = with_stock(tmp_path, "hand.yaml", [("TX", "WEST", 2), ("PSU", "WEST", 4)])
    assert doc == _optimised_plan(hand, tmp_path / "hand.csv", "--target", "0.95")
    with (tmp_path / "plan.csv").open() as fh:
        rows = {(r["item"], r["site"]): int(r["held"]) for r in csv.DictReader(fh)}
    assert {k: v for k, v in rows.items() if v} == {("TX", "WEST"): 2, ("PSU", "WEST"): 4}


def test_plans_side_by_side(tmp_path: Path, small: Path) -> None:
    """Two plans: a column each after the stock held, in the terminal and the report."""
    a = write(tmp_path / "a.csv", "item,site,qty\nTX,EAST,1\n")
    b = write(tmp_path / "b.csv", "item,site,qty\nPSU,WEST,2\nPSU,EAST,2\n")
    report = tmp_path / "report.md"
    r = run("evaluate", small, "--stock", a, "--stock", b, "-o", report)
    assert r.exit_code == 0, r.output
    assert r.stderr.splitlines()[:2] == [
        f"stock: 1 row from {a} replaced 0 of 3 rows; 3 kept; 1 new",
        f"stock: 2 rows from {b} replaced 1 of 3 rows; 2 kept; 1 new",
    ]
    header = next(line for line in r.stdout.splitlines() if "held" in line)
    assert header.index("held") < header.index("a.csv") < header.index("b.csv")
    text = report.read_text()
    assert "## Stock plans" in text
    assert "| system | site | systems | held | a.csv | b.csv |" in text
    # The costs, a row per plan: to buy (EUR) is the fourth column.
    assert "| plan | expected available | stock value (EUR) | to buy (EUR) | removed (EUR) |" \
        in text
    costs = {line.split(" | ")[0][2:]: line.split(" | ")[3] for line in text.splitlines()
             if line.startswith(("| a.csv |", "| b.csv |"))}
    assert costs == {"a.csv": "1,200,000", "b.csv": "270,000"}
    doc = evaluate_json(small, "--stock", a, "--stock", b)
    by_hand = evaluate_json(with_stock(tmp_path, "hand.yaml", [
        ("TX", "WEST", 1), ("TX", "HUB", 2), ("PSU", "EAST", 2), ("PSU", "WEST", 2)]))
    assert doc["plans"][1]["fleets"] == by_hand["fleets"]
    # More spares never lower availability (METRIC family, single indenture).
    for plan in doc["plans"]:
        for held, new in zip(doc["fleets"], plan["fleets"], strict=True):
            assert new["availability"] >= held["availability"]


def test_the_same_name_twice_shows_whole_paths(tmp_path: Path, small: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    a = write(tmp_path / "x" / "plan.csv", "item,site,qty\nTX,EAST,1\n")
    b = write(tmp_path / "y" / "plan.csv", "item,site,qty\nTX,EAST,2\n")
    report = tmp_path / "r.md"
    r = run("evaluate", small, "--stock", a, "--stock", b, "-o", report, "--quiet")
    assert r.exit_code == 0, r.output
    assert f"| held | {a} | {b} |" in report.read_text()


def test_add_mode_says_when_the_plan_was_computed_from_another_stock(
    tmp_path: Path, small: Path
) -> None:
    """The optimiser's plan carries the stock it started from (held): adding its buy
    column to a different stock is done, and said."""
    plan = write(tmp_path / "plan.csv", "item,site,held,buy,qty\nTX,WEST,5,1,6\n")
    doc = evaluate_json(small, "--stock", plan, "--stock-mode", "add")
    (got,) = doc["plans"]
    # SMALL holds TX@WEST 1 (file: 5), TX@HUB 2 and PSU@EAST 1 (file: none).
    assert got["held_differs"] == 3
    assert got["message"] == (
        f"stock: 1 row from {plan} added 1 units (column buy) to 1 of 3 rows; 2 unchanged; "
        "its held column differs from the stock held in 3 rows (first 'TX' at 'WEST'): the "
        "plan was computed from another stock"
    )
    same = write(tmp_path / "same.csv", "item,site,held,buy,qty\nTX,WEST,1,1,2\n"
                 "TX,HUB,2,0,2\nPSU,EAST,1,0,1\n")
    (got,) = evaluate_json(small, "--stock", same, "--stock-mode", "add")["plans"]
    assert got["held_differs"] == 0
    assert "differs" not in got["message"]


def test_add_mode_without_a_buy_column_adds_qty(small: Path, tmp_path: Path) -> None:
    sc = load_scenario(small)
    plan = load_stock_plan(write(tmp_path / "p.csv", "item,site,qty\nTX,HUB,1\n"), sc, "add")
    changed, change = apply_stock_plan(sc, plan, StockMode.ADD)
    assert plan.column == "qty"
    assert {(s.item, s.site): s.qty for s in changed.stock} == {
        ("TX", "WEST"): 1, ("TX", "HUB"): 3, ("PSU", "EAST"): 1}
    assert (change.units_added, change.replaced, change.kept) == (1, 1, 2)
    assert changed.fleets == sc.fleets and changed.items == sc.items


@pytest.mark.parametrize(
    ("text", "mode", "message"),
    [
        ("item,site,qty\nTX,WEST,1\nSHOCK,WEST,1\n", "overlay",
         "{p} row 3: item 'SHOCK' is not used at site 'WEST': no fleet there or below it "
         "has a system that holds it, and the scenario stocks none there"),
        ("item,site,qty\nTX-PSU,EAST,2\n", "replace",
         "{p} row 2: item 'TX-PSU' is not used at site 'EAST': no fleet there or below it "
         "has a system that holds it, and the scenario stocks none there"),
        ("item,site,qty\nTX,NORTH,1\n", "overlay",
         "{p} row 2: site: 'NORTH' is not a site of the scenario"),
        ("item,site,qty\nTX,WEST,-2\n", "overlay",
         "{p} row 2: qty must be a whole number >= 0: got '-2'"),
        ("item,site,held,buy\nTX,WEST,0,-1\n", "add",
         "{p} row 2: buy must be a whole number >= 0: got '-1'"),
        ("item,site,held,buy\nTX,WEST,x,1\n", "add",
         "{p} row 2: held must be a number: got 'x'"),
        ("item,site,held\nTX,WEST,1\n", "add",
         "{p}: missing column qty (expected the plan written by `sustain optimize -o "
         "plan.csv`: item,site,qty,…)"),
        ("item,site,qty\nSHOCK,HUB,1\nSHOCK,HUB,999999999\n", "add",
         "{p} row 2: qty 1,000,000,000 added to the 1 held of 'SHOCK' at 'HUB' makes "
         "1,000,000,001, more than 1,000,000,000"),
    ],
)
@pytest.mark.parametrize("command", ["evaluate", "optimize", "simulate"])
def test_bad_plans_exit_2(
    tmp_path: Path, text: str, mode: str, message: str, command: str
) -> None:
    """One message naming the file and the row, exit 2, nothing on stdout."""
    scenario = write(tmp_path / "mixed.yaml", MIXED)
    plan = write(tmp_path / "plan.csv", text)
    extra = {"evaluate": [], "optimize": ["--target", "0.5"],
             "simulate": ["--days", "5", "--reps", "1"]}[command]
    r = run(command, scenario, *extra, "--stock", plan, "--stock-mode", mode, "--json")
    assert r.exit_code == 2, r.output
    assert r.stderr == f"error: {message.format(p=plan)}\n"
    assert r.stdout == ""


def test_usable_pairs_allow_sub_items_and_upper_sites(tmp_path: Path) -> None:
    """A sub-item is used where its top-level item is; every site above a fleet counts."""
    sc = load_scenario(write(tmp_path / "mixed.yaml", MIXED))
    plan = write(tmp_path / "ok.csv", "item,site,qty\nTX-PSU,WEST,1\nTX-PSU,HUB,1\n"
                 "SHOCK,EAST,1\nSHOCK,HUB,1\nTX,HUB,1\nSHOCK,WEST,0\n")
    for mode in StockMode:
        load_stock_plan(plan, sc, mode)  # no error
    with pytest.raises(SustainError, match="'SHOCK' is not used at site 'WEST'"):
        load_stock_plan(write(tmp_path / "bad.csv", "item,site,qty\nSHOCK,WEST,1\n"), sc)


def test_a_plan_is_never_the_report(tmp_path: Path, small: Path) -> None:
    plan = write(tmp_path / "plan.csv", PLAN)
    r = run("evaluate", small, "--stock", plan, "-o", plan)
    assert r.exit_code == 2
    assert "the" in r.stderr and "stock plan" in r.stderr
    assert plan.read_text() == PLAN


def test_plans_csv_holds_the_plans_side_by_side(tmp_path: Path, small: Path) -> None:
    """With plans, ``-o x.csv`` holds the table that compares them, not the stock held
    alone: each plan's column equals that plan evaluated on its own."""
    a = write(tmp_path / "a.csv", "item,site,qty\nTX,EAST,1\n")
    b = write(tmp_path / "b.csv", "item,site,qty\nPSU,WEST,2\nPSU,EAST,2\n")
    out = tmp_path / "plans.csv"
    r = run("evaluate", small, "--stock", a, "--stock", b, "-o", out, "--quiet")
    assert r.exit_code == 0, r.output
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["system", "site", "systems", "held", "a.csv", "b.csv"]
    held = evaluate_json(small)["fleets"]
    alone = {name: evaluate_json(small, "--stock", plan)["plans"][0]["fleets"]
             for name, plan in (("a.csv", a), ("b.csv", b))}
    for n, row in enumerate(rows):
        assert (row["system"], row["site"]) == (held[n]["system"], held[n]["site"])
        assert float(row["held"]) == held[n]["availability"]
        for name, fleets in alone.items():
            assert float(row[name]) == fleets[n]["availability"]
