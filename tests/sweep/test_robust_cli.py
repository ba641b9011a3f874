"""``sustain optimize --confidence``: the document, the plan CSV, the report, refusals."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import sustain
from sustain.cli.main import app
from sustain.scenario import scenario_from_dict
from tests.sweep.cases import small

RUNNER = CliRunner()
UNCERTAIN = {"mtbf_hours": {"dist": "lognormal", "cv": 0.3}}
FAST = ["--samples", "10", "--check-samples", "20", "--refine-seconds", "0"]


@pytest.fixture()
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump({**small(), "uncertainty": UNCERTAIN}), encoding="utf-8")
    return path


def run(*args: str | Path) -> object:
    return RUNNER.invoke(app, [str(a) for a in args])


def test_document_plan_csv_and_report(scenario: Path, tmp_path: Path) -> None:
    res = run("optimize", scenario, "-t", "0.9", "--confidence", "0.8", *FAST, "--json",
              "-o", tmp_path / "plan.csv", "-o", tmp_path / "r.md", "-o", tmp_path / "r.html")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    rob = doc["robust"]
    assert rob["confidence"] == 0.8 and rob["samples"] == 10 and rob["check_samples"] == 20
    assert rob["required_draws"] == 8
    assert rob["cost_of_robustness"] == pytest.approx(rob["robust_cost"]
                                                      - rob["nominal_cost"])
    assert rob["robust_cost"] == pytest.approx(doc["purchase_cost"])
    for f in rob["fleets"]:
        assert f["p_robust_build"] >= 0.8
        lo, hi = f["p_robust_check_ci"]
        assert lo <= f["p_robust_check"] <= hi
    # The CSV is the robust plan: its purchases are the document's.
    rows = list(csv.DictReader((tmp_path / "plan.csv").read_text().splitlines()))
    cost = sum(float(r["cost"]) for r in rows if float(r["buy"]) > 0)
    assert cost == pytest.approx(rob["robust_cost"])
    md = (tmp_path / "r.md").read_text()
    assert "cost of robustness" in md and "every fleet at once" in md
    assert "<table" in (tmp_path / "r.html").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [(["-t", "0.9", "--confidence", "1"], "--confidence 1: must be above 0 and below 1"),
     (["-t", "0.9", "--confidence", "0"], "--confidence 0: must be above 0 and below 1"),
     (["--confidence", "0.9"], "--confidence needs --target"),
     (["-t", "0.9", "--confidence", "0.9", "--budget", "5"],
      "--budget is not available with --confidence"),
     (["-t", "0.9", "--confidence", "0.9", "--over-time"],
      "--over-time is not available with --confidence"),
     (["-t", "0.9", "--confidence", "0.9", "--redistribute"],
      "--redistribute is not available with --confidence"),
     (["-t", "0.9", "--confidence", "0.9", "--samples", "0"], "--samples 0"),
     (["-t", "0.9", "--samples", "50"], "--samples is for a robust plan: give --confidence"),
     (["-t", "0.9", "--seed", "3"], "--seed is for a robust plan"),
     (["-t", "0.9", "--confidence", "0.9", "--search", "lagrange"],
      "--search is not available with --confidence"),
     (["-t", "0.9", "--confidence", "0.9", "--workers", "0"], "--workers 0")],
)
def test_bad_options_exit_2_with_one_message(scenario: Path, args: list[str],
                                             message: str) -> None:
    res = run("optimize", scenario, *args)
    assert res.exit_code == 2, res.output
    assert message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert "Traceback" not in res.output


def test_without_an_uncertainty_section(tmp_path: Path) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(yaml.safe_dump(small()), encoding="utf-8")
    res = run("optimize", path, "-t", "0.9", "--confidence", "0.9")
    assert res.exit_code == 2
    assert "--confidence needs an uncertainty: section" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_an_unreachable_chance_constraint_exits_3(tmp_path: Path) -> None:
    # Stock limits at the nominal plan: it meets 90 % as given, in few of the draws.
    nominal = sustain.optimize(scenario_from_dict(small()), target=0.9, refine_seconds=0)
    a = nominal.evaluation.arrays
    limits = [{"item": i, "site": s, "max": int(nominal.stock[n, m])}
              for n, i in enumerate(a.item_ids) for m, s in enumerate(a.site_ids)]
    doc = {**small(), "uncertainty": UNCERTAIN, "stock_limits": limits}
    path = tmp_path / "limited.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    res = run("optimize", path, "-t", "0.9", "--confidence", "0.9", *FAST)
    assert res.exit_code == 3, res.output
    assert "draws within the stock limits, 9 needed" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
