"""``simulate --stock plan.csv``: the plan reader of ``sustain.scenario.stock_plan``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sustain.cli.main import app
from sustain.errors import SustainError
from sustain.scenario import load_scenario
from sustain.scenario.stock_plan import read_stock_plan
from tests.cli.test_evaluate_cli import SMALL

RUNNER = CliRunner()


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def test_reads_qty_and_adds_up_repeated_rows(tmp_path: Path) -> None:
    plan = tmp_path / "plan.csv"
    plan.write_text("item,site,held,buy,qty,unit_cost,cost\n"
                    "TX,WEST,1,1,2,1.00,1.00\nPSU,EAST,0,3,3,1.00,3.00\nTX,WEST,0,1,1,1,1\n")
    assert read_stock_plan(plan) == {("TX", "WEST"): 3, ("PSU", "EAST"): 3}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("item,site\nTX,WEST\n", "{p}: missing column qty (expected the plan written by "
         "`sustain optimize -o plan.csv`: item,site,qty,…)"),
        ("item,site,qty\nTX,WEST,nan\n", "{p} row 2: qty must be a whole number >= 0: got 'nan'"),
        ("item,site,qty\nTX,WEST,inf\n", "{p} row 2: qty must be a whole number >= 0: got 'inf'"),
        ("item,site,qty\nTX,WEST,-1\n", "{p} row 2: qty must be a whole number >= 0: got '-1'"),
        ("item,site,qty\nTX,WEST,1.5\n",
         "{p} row 2: qty must be a whole number >= 0: got '1.5'"),
        ("item,site,qty\nTX,WEST,abc\n", "{p} row 2: qty must be a number: got 'abc'"),
        ("item,site,qty\nTX,WEST," + "9" * 40 + "\n",
         "{p} row 2: qty must be at most 1,000,000,000 for one item at one site: got "
         "'999999999999999999999999…'"),
        ("item,site,qty\nTX,WEST,600000000\nTX,WEST,600000000\n",
         "{p} row 3: qty must be at most 1,000,000,000 for one item at one site: got "
         "'600000000' (adding up to 1,200,000,000 with earlier rows)"),
        ("item,site,qty\n,WEST,1\n", "{p} row 2: item is empty"),
        ("item,site,qty\nTXX,WEST,1\n",
         "{p} row 2: item: 'TXX' is not an item of the scenario (did you mean 'TX'?)"),
        ("item,site,qty\nTX,WST,1\n",
         "{p} row 2: site: 'WST' is not a site of the scenario (did you mean 'WEST'?)"),
    ],
)
def test_bad_plans(small: Path, text: str, message: str) -> None:
    plan = small.parent / "plan.csv"
    plan.write_text(text)
    with pytest.raises(SustainError) as info:
        read_stock_plan(plan, load_scenario(small))
    assert str(info.value) == message.format(p=plan)


def test_not_a_text_file(tmp_path: Path) -> None:
    plan = tmp_path / "plan.csv"
    plan.write_bytes(b"item,site,qty\n\xff\xfe\n")
    with pytest.raises(SustainError) as info:
        read_stock_plan(plan)
    assert str(info.value) == (
        f"{plan}: not a text file (UTF-8 expected): invalid start byte at byte 14"
    )


@pytest.mark.parametrize("kind", ["folder", "fifo", "missing"])
def test_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    """A FIFO is reported, never waited on; a folder is named as one."""
    path = tmp_path / "plan"
    if kind == "folder":
        path.mkdir()
        expected = f"{path}: is a directory, not a stock plan file (CSV)"
    elif kind == "fifo":
        os.mkfifo(path)
        expected = f"{path}: is a named pipe (FIFO), not a stock plan file (CSV)"
    else:
        expected = f"{path}: cannot read the stock plan: No such file or directory"
    with pytest.raises(SustainError) as info:
        read_stock_plan(path)
    assert str(info.value) == expected


def test_through_the_cli(small: Path) -> None:
    plan = small.parent / "plan.csv"
    plan.write_text("item,site,qty\nTX,NORTH,1\n")
    result = RUNNER.invoke(app, ["simulate", str(small), "--days", "10", "--reps", "1",
                                 "--stock", str(plan)])
    assert result.exit_code == 2
    assert result.stderr == f"error: {plan} row 2: site: 'NORTH' is not a site of the scenario\n"
    assert result.stdout == ""
