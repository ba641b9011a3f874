"""``sustain simulate``: the JSON contract, stock plans, plots, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sustain.cli.main import app
from tests.conftest import EXAMPLES

RUNNER = CliRunner()
EXAMPLE = EXAMPLES / "coalition-air-defence.yaml"
FAST = ["--days", "120", "--reps", "3", "--seed", "7", "--quiet"]


def _json(args: list[str]) -> dict:
    r = RUNNER.invoke(app, ["simulate", str(EXAMPLE), *FAST, "--json", *args])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_json_contract() -> None:
    """The keys of shared/spec/scenario-format.md, with the values asked for."""
    doc = _json(["--warmup", "30"])
    assert {"days", "replications", "seed", "warmup_days", "fleets", "items"} <= set(doc)
    assert (doc["days"], doc["replications"], doc["seed"], doc["warmup_days"]) == (120, 3, 7, 30)
    f = doc["fleets"][0]
    spec = {"system", "site", "count", "availability", "availability_ci95", "series",
            "availability_fmc"}
    # The example has time-phased keys (losses, deliveries): their extras come on top.
    phased = {"delivered", "present_mean", "up_mean", "battle_repair_mean", "lost_mean"}
    assert set(f) == spec | phased
    lo, hi = f["availability_ci95"]
    assert lo <= f["availability"] <= hi
    first = f["series"][0]
    assert {k: first[k] for k in ("day", "mean", "lo", "hi")} == {
        "day": 0, "mean": 1.0, "lo": 1.0, "hi": 1.0}
    assert [p["day"] for p in f["series"]] == list(range(121))
    assert set(doc["items"][0]) == {"item", "site", "backorders_mean", "fill_rate"}
    assert {(r["item"], r["site"]) for r in doc["items"]} >= {("SAMX-ANT", "HUB")}


def test_same_seed_same_document_with_workers() -> None:
    """--workers 2 prints the same document as one process."""
    assert _json([]) == _json(["--workers", "2"])


def test_compare_adds_analytic(tmp_path: Path) -> None:
    """--compare adds both analytic methods per fleet; -o writes the same document."""
    out = tmp_path / "sim.json"
    doc = _json(["--compare", "-o", str(out)])
    assert set(doc["analytic"]) == {"vari-metric", "metric"}
    row = doc["analytic"]["vari-metric"]["fleets"][0]
    assert {"availability", "difference", "inside_ci95"} <= set(row)
    assert json.loads(out.read_text()) == doc


def test_stock_plan_csv(tmp_path: Path) -> None:
    """--stock uses the plan's qty column: it sets the pairs it names (overlay), or with
    --stock-mode replace it is the whole stock."""
    plan = tmp_path / "plan.csv"
    plan.write_text("item,site,held,buy,qty,unit_cost,cost\n"
                    "SAMX-ANT,EAST,0,40,40,1.00,40.00\n")
    doc = _json(["--stock", str(plan)])
    rows = {(r["item"], r["site"]): r for r in doc["items"]}
    assert rows["SAMX-ANT", "EAST"]["backorders_mean"] == 0.0
    assert doc["stock_plan"]["mode"] == "overlay"
    assert (doc["stock_plan"]["kept"], doc["stock_plan"]["new"]) == (76, 1)
    base = _json([])
    assert doc != base
    replaced = _json(["--stock", str(plan), "--stock-mode", "replace"])
    assert replaced["stock_plan"]["dropped"] == 76
    # Every other spare is gone: the hub's radar spares no longer cover its repairs.
    hub = {(r["item"], r["site"]): r for r in replaced["items"]}
    assert hub["SAMX-ANT", "EAST"]["backorders_mean"] == 0.0
    assert replaced["fleets"] != doc["fleets"]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("item,site,held\nTX,HUB,1\n", "missing column qty"),
        ("item,site,qty\nSAMX-ANT,HUB,1.5\n", "row 2: qty must be a whole number >= 0"),
        ("item,site,qty\nSAMX-ANT,HUB,x\n", "row 2: qty must be a number"),
        ("item,site,qty\nNOPE,HUB,1\n", "'NOPE' is not an item"),
    ],
)
def test_bad_stock_plan_exit_2(tmp_path: Path, text: str, needle: str) -> None:
    """A bad plan file: exit 2 and one message naming the file, row or value."""
    plan = tmp_path / "plan.csv"
    plan.write_text(text)
    r = RUNNER.invoke(app, ["simulate", str(EXAMPLE), *FAST, "--stock", str(plan)])
    assert r.exit_code == 2
    assert needle in r.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--days", "0"], "days must be a positive number"),
        (["--warmup", "500"], "warmup_days must be >= 0 and less than days"),
        (["--reps", "0"], "replications must be a whole number >= 1"),
        (["--plot", "x.gif"], "unknown plot type '.gif'"),
    ],
)
def test_bad_options_exit_2(args: list[str], needle: str) -> None:
    """Bad options: exit 2 with a clear message on stderr."""
    r = RUNNER.invoke(app, ["simulate", str(EXAMPLE), *FAST, *args])
    assert r.exit_code == 2, r.output
    assert needle in r.stderr


def test_missing_scenario_exit_2(tmp_path: Path) -> None:
    """A scenario that does not exist: exit 2, the file named."""
    r = RUNNER.invoke(app, ["simulate", str(tmp_path / "nope.yaml"), *FAST])
    assert r.exit_code == 2
    assert "nope.yaml" in r.stderr


def test_plot_written(tmp_path: Path) -> None:
    """--plot writes a PNG and leaves no temporary file beside it."""
    pytest.importorskip("matplotlib")
    png = tmp_path / "availability.png"
    r = RUNNER.invoke(app, ["simulate", str(EXAMPLE), *FAST, "--plot", str(png)])
    assert r.exit_code == 0, r.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["availability.png"]
