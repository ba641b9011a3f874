"""``--fill-rate``, ``--max-wait`` and ``--measures`` on the command line."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sustain.cli.main import app
from tests.cli.test_evaluate_cli import SMALL

RUNNER = CliRunner()


def run(*args: str | Path) -> Any:
    return RUNNER.invoke(app, [str(a) for a in args])


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def test_evaluate_json_has_the_measures(small: Path) -> None:
    doc = json.loads(run("evaluate", small, "--json").stdout)
    assert all(0 <= f["fill_rate"] <= 1 and f["mean_wait_days"] > 0 for f in doc["fleets"])
    assert [s["site"] for s in doc["sites"]] == ["HUB", "EAST", "WEST"]


def test_evaluate_measures_columns_only_when_asked(small: Path) -> None:
    plain = run("evaluate", small).stdout
    asked = run("evaluate", small, "--measures").stdout
    assert "fill rate" not in plain.split("Most expected")[0]
    assert "mean wait (days)" in asked and "Sites: requests on their stock" in asked
    result = run("evaluate", small, "--measures", "--over-time")
    assert result.exit_code == 2
    assert "--measures is for the stock held alone" in result.stderr


def test_optimize_mixed_targets(small: Path, tmp_path: Path) -> None:
    """Availability, a site's fill rate and a fleet's wait in one run: every target met
    in the JSON document; the curve CSV has a column per measure with a target."""
    curve = tmp_path / "curve.csv"
    result = run("optimize", small, "--target", "SAMX@WEST=0.9", "--fill-rate", "EAST=0.8",
                 "--max-wait", "SAMX@WEST=1.5", "--json", "--curve", curve)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    west = next(f for f in doc["fleets"] if f["site"] == "WEST")
    east = next(s for s in doc["sites"] if s["site"] == "EAST")
    assert west["availability"] >= 0.9 - 1e-9
    assert west["mean_wait_days"] <= 1.5 + 1e-9
    assert east["fill_rate"] >= 0.8 - 1e-9
    assert {t["measure"] for t in doc["service_targets"]} == {
        "availability", "fill_rate", "mean_wait_days"}
    header = next(csv.reader(curve.read_text().splitlines()))
    assert header[-2:] == ["fill_rate:EAST", "mean_wait_days:SAMX@WEST"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fill-rate", "85"], "error: --fill-rate '85': give a fraction (0.9), not a "
                                "percentage\n"),
        (["--fill-rate", "1"], "error: --fill-rate '1': must be a fraction above 0 and below "
                               "1, like 0.9 (a fill rate of 1 needs unlimited stock)\n"),
        (["--max-wait", "EAST=soon"], "error: --max-wait 'EAST=soon': expected a number like "
                                      "3, or SITE=3, SYSTEM=3, SYSTEM@SITE=2.5\n"),
        (["--max-wait", "0"], "error: --max-wait '0': must be a number of days above 0\n"),
        (["--max-wait", "WESTT=2"], "error: max_wait WESTT: no such fleet or site (did you "
                                    "mean 'WEST'?)\n"),
        (["--fill-rate", "0.8", "--over-time"], "error: --fill-rate and --max-wait are not "
                                                "available with --over-time: give --target\n"),
    ],
)
def test_bad_service_options(small: Path, args: list[str], message: str) -> None:
    result = run("optimize", small, *args)
    assert result.exit_code == 2
    # A fleet name is checked once the run starts: the progress line leaves a blank line.
    assert result.stderr.lstrip("\n") == message


def test_unreachable_is_exit_3(small: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.csv"
    result = run("optimize", small, "--fill-rate", "0.9", "--budget", "1", "-o", plan)
    assert result.exit_code == 3
    assert result.stderr.lstrip("\n").startswith("error: the budget 1 is the cause")
    assert not plan.exists()
