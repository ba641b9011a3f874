"""The ``uncertainty:`` section: checked with the rest of the scenario (one message per
problem, with its line), and ``sustain sweep --samples`` on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import sustain
from sustain.cli.main import app
from sustain.scenario.uncertainty import DistKind, Distribution, ItemUncertainty, Uncertainty
from tests.sweep.cases import small

RUNNER = CliRunner()

GOOD = """
uncertainty:
  mtbf_hours: {dist: lognormal, cv: 0.3}
  repair_days: {dist: triangular, low: 0.8, mode: 1, high: 1.5}
  items:
    - {item: C, mtbf_hours: {dist: uniform, low: 0.5, high: 1.2}}
"""

BAD = """
uncertainty:
  mtbf_hour: {dist: lognormal, cv: 0.3}
  repair_days: {dist: triangle, low: 0.8, mode: 1, high: 1.5}
  order_ship_days: {dist: uniform, low: 0, high: 2, mode: 1}
  hours_per_day: {dist: lognormal}
  items:
    - {item: CC, mtbf_hours: {dist: lognormal, cv: 0.5}}
    - {item: A1, mtbf_hours: {dist: lognormal, cv: 0.5}}
    - {item: B, repair_days: {dist: triangular, low: 1, mode: 3, high: 2}}
    - {item: B, mtbf_hours: {dist: lognormal, cv: -1}}
"""


def write(tmp_path: Path, section: str) -> Path:
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(small()) + section, encoding="utf-8")
    return path


def test_the_section_read(tmp_path: Path) -> None:
    sc = sustain.load_scenario(write(tmp_path, GOOD))
    assert sc.uncertainty == Uncertainty(
        mtbf_hours=Distribution(kind=DistKind.LOGNORMAL, cv=0.3),
        repair_days=Distribution(kind=DistKind.TRIANGULAR, low=0.8, mode=1.0, high=1.5),
        items=(ItemUncertainty(item="C", mtbf_hours=Distribution(
            kind=DistKind.UNIFORM, low=0.5, high=1.2)),),
    )


def test_every_problem_once_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, BAD)
    first = len(yaml.safe_dump(small()).splitlines()) + 2  # the line of "uncertainty:"
    with pytest.raises(sustain.ScenarioError) as exc:
        sustain.load_scenario(path)
    lines = str(exc.value).splitlines()
    assert lines[0] == "9 problems in the scenario:"
    at = f"  {path.name} line"
    assert lines[1:] == [
        f"{at} {first + 1}: uncertainty.mtbf_hour: unknown key (did you mean 'mtbf_hours'?)",
        f"{at} {first + 2}: uncertainty.repair_days.dist: must be one of lognormal, "
        "triangular, uniform: got 'triangle' (did you mean 'triangular'?)",
        f"{at} {first + 3}: uncertainty.order_ship_days.mode: unknown key for a uniform "
        "distribution (it takes low, high)",
        f"{at} {first + 3}: uncertainty.order_ship_days.low: a multiplier must be > 0: got 0",
        f"{at} {first + 4}: uncertainty.hours_per_day.cv: required key is missing (a "
        "lognormal distribution takes cv)",
        f"{at} {first + 6}: uncertainty.items[0].item: 'CC' is not an item id (did you mean "
        "'C'?)",
        f"{at} {first + 7}: uncertainty.items[1].mtbf_hours: item 'A1' has no mtbf_hours (a "
        "sub-item fails with its parent's repairs)",
        f"{at} {first + 8}: uncertainty.items[2].repair_days.mode: must be from low (1) to "
        "high (2): got 3",
        f"{at} {first + 9}: uncertainty.items[3].item: 'B' has a row already (items[2])",
    ]


def test_sweep_samples_on_the_command_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    res = RUNNER.invoke(app, ["sweep", str(path), "--samples", "30", "--seed", "4", "-t",
                              "0.8", "--json", "-o", str(tmp_path / "u.csv"), "-o",
                              str(tmp_path / "u.html")])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert (doc["samples"], doc["seed"], doc["design"]) == (30, 4, "latin-hypercube")
    assert [i["name"] for i in doc["inputs"]] == ["mtbf_hours", "repair_days",
                                                  "mtbf_hours of C"]
    assert doc["inputs"][0] == {"name": "mtbf_hours", "covers": "every item with an MTBF "
                                "but C", "dist": "lognormal", "cv": 0.3}
    row = doc["fleets"][0]
    assert list(row) == ["system", "site", "count", "base", "mean", "q05", "q50", "q95",
                         "target", "p_meet"]
    assert row["q05"] <= row["q50"] <= row["q95"] and 0 <= row["p_meet"] <= 1
    assert (tmp_path / "u.csv").read_text().splitlines()[0].startswith("fleet,systems,")
    assert 'data-chart="quantiles"' in (tmp_path / "u.html").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--samples", "10"], "no uncertainty section"),
     (["--samples", "0"], "--samples 0: must be a whole number from 1 to 1,000,000"),
     (["--samples", "10", "--vary", "mtbf=1:2"], "--vary and --select are for a "
      "one-at-a-time sweep")],
)
def test_bad_sampling_options_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    path = write(tmp_path, "")
    res = RUNNER.invoke(app, ["sweep", str(path), *args])
    assert res.exit_code == 2
    assert message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
