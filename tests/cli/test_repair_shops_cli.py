"""Repair shops on the command line: the table, the JSON key, the warning on stderr."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sustain.cli.main import app

RUNNER = CliRunner()
WARNING = (
    "warning: repair shop at D: {c} for {load} channels' worth of work{when} (utilisation "
    "{rho}): the analytic model assumes unlimited repair capacity; expect queues (simulate) "
    "and availability well below the analytic value\n"
)


def scenario(tmp_path: Path, channels: int | None, extra: str = "") -> Path:
    """One root site, 20 systems failing 2 times a day in all, repaired in 4.5 days:
    an offered load of 9 channels' worth of work."""
    key = "" if channels is None else f", repair_channels: {channels}"
    path = tmp_path / "shop.yaml"
    path.write_text(
        f"sites: [{{id: D{key}}}]\n"
        "systems: [{id: S}]\n"
        "fleets: [{system: S, site: D, count: 20, hours_per_day: 10}]\n"
        "items:\n"
        "  - {id: X, mtbf_hours: 100, installed_in: [{system: S}], depot_repair_days: 4.5}\n"
        "stock: [{item: X, site: D, qty: 12}]\n" + extra
    )
    return path


@pytest.mark.parametrize(("channels", "warned"), [(10, True), (11, False), (3, True)])
def test_evaluate_warns_at_utilisation_of_at_least_0_9(
    tmp_path: Path, channels: int, warned: bool
) -> None:
    """ρ = 9 / c: 0.9 at 10 channels warns, 0.82 at 11 does not; stdout stays JSON."""
    r = RUNNER.invoke(app, ["evaluate", str(scenario(tmp_path, channels)), "--json"])
    assert r.exit_code == 0, r.output
    rho = f"{9 / channels:.2f}"
    want = WARNING.format(c=f"{channels} channels", load="9.0", when="", rho=rho)
    assert r.stderr == (want if warned else "")
    doc = json.loads(r.stdout)
    (row,) = doc["repair_shops"]
    assert row["site"] == "D"
    assert row["channels"] == channels
    assert math.isclose(row["offered_load"], 9.0, rel_tol=1e-12)
    assert math.isclose(row["utilisation"], 9.0 / channels, rel_tol=1e-12)
    assert all(math.isfinite(row[k]) for k in ("arrivals_per_day", "offered_load",
                                                 "utilisation"))


def test_evaluate_table_and_report(tmp_path: Path) -> None:
    report = tmp_path / "r.md"
    r = RUNNER.invoke(app, ["evaluate", str(scenario(tmp_path, 3)), "-o", str(report)])
    assert r.exit_code == 0, r.output
    assert "Repair shops" in r.stdout
    assert "warning:" not in r.stdout  # diagnostics on stderr only
    text = report.read_text()
    assert "## Repair shops\n" in text
    assert "| D | 3 | 2.000 | 9.00 | 3.00 |" in text
    assert "- **Overloaded**: repair shop at D: 3 channels for 9.0 channels' worth" in text


def test_evaluate_without_channels_has_no_shops(tmp_path: Path) -> None:
    path = scenario(tmp_path, None)
    report = tmp_path / "r.md"
    r = RUNNER.invoke(app, ["evaluate", str(path), "-o", str(report)])
    assert r.exit_code == 0, r.output
    assert "Repair shops" not in r.stdout
    assert "Repair shops" not in report.read_text()
    r = RUNNER.invoke(app, ["evaluate", str(path), "--json"])
    assert "repair_shops" not in json.loads(r.stdout)
    assert r.stderr == ""


FAST = ["--days", "60", "--reps", "4", "--seed", "3"]


def test_simulate_warns_and_reports(tmp_path: Path) -> None:
    """The JSON block (analytic load, the peak, jobs at the shop), the warning on stderr
    and, with --compare, the note naming the shop behind the gap."""
    path = scenario(tmp_path, 3)
    r = RUNNER.invoke(app, ["simulate", str(path), *FAST, "--quiet", "--json", "--compare"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    (row,) = doc["repair_shops"]
    assert (row["channels"], row["peak_day"]) == (3, 0)
    assert math.isclose(row["peak_offered_load"], 9.0, rel_tol=1e-12)
    assert row["in_repair_mean"] > 3  # a queue: more jobs than channels
    assert 0.9 < row["utilisation_simulated"] <= 1.0  # and the channels always busy
    assert list(doc)[-1] == "analytic"
    lines = r.stderr.splitlines(keepends=True)
    assert lines[0] == WARNING.format(c="3 channels", load="9.0", when="", rho="3.00")
    assert lines[1].startswith("note: S at D: analytic ")
    assert lines[1].endswith("its repairs queue at D (utilisation 3.00), which the analytic "
                             "model does not see\n")
    r = RUNNER.invoke(app, ["simulate", str(path), *FAST])
    assert "Repair shops" in r.stdout


def test_simulate_warns_at_the_peak(tmp_path: Path) -> None:
    """11 channels hold the day-0 load (0.82) but not the tempo ×1.5 from day 20."""
    extra = "tempo: [{from_day: 20, to_day: 40, factor: 1.5}]\n"
    r = RUNNER.invoke(app, ["simulate", str(scenario(tmp_path, 11, extra)), *FAST, "--quiet"])
    assert r.exit_code == 0, r.output
    assert r.stderr == WARNING.format(c="11 channels", load="13.5", when=" from day 20",
                                      rho="1.23")


def test_simulate_without_channels_has_no_shops(tmp_path: Path) -> None:
    path = scenario(tmp_path, None)
    r = RUNNER.invoke(app, ["simulate", str(path), *FAST, "--quiet", "--json"])
    assert r.exit_code == 0, r.output
    assert "repair_shops" not in json.loads(r.stdout)
    assert r.stderr == ""
    r = RUNNER.invoke(app, ["simulate", str(path), *FAST])
    assert "Repair shops" not in r.stdout


def test_optimize_warns_like_evaluate(tmp_path: Path) -> None:
    """A plan bought for unlimited repair capacity: optimize names the overloaded shop
    too (load 9 for 3 channels: ρ = 3), in its JSON document and its report."""
    report = tmp_path / "r.md"
    r = RUNNER.invoke(app, ["optimize", str(scenario(tmp_path, 3)), "-t", "0.9", "--json",
                            "-o", str(report), "--quiet"])
    assert r.exit_code == 0, r.output
    assert r.stderr == WARNING.format(c="3 channels", load="9.0", when="", rho="3.00")
    (row,) = json.loads(r.stdout)["repair_shops"]
    assert math.isclose(row["offered_load"], 9.0, rel_tol=1e-12)
    assert math.isclose(row["utilisation"], 3.0, rel_tol=1e-12)
    assert "## Repair shops" in report.read_text()
