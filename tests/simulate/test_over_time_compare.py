"""The simulator's band around the analytic readiness over time
(:func:`sustain.crosscheck.over_time_comparison`, ``evaluate --over-time --compare``).

One item, one unit per system, one site, no channel limits, failures while down: the
systems down are exactly the backorders, so the expected share up is
``1 − EBO(t) / N(t)`` with EBO from Palm's theorem for nonstationary demand, which the
analytic model computes exactly — but for one difference: a system waiting for the
part has no unit in that position to fail, so the simulator's demand is lower by the
share of systems down.  With hundreds of systems and 1 to 3 % of them down that share
moves the expected share up by less than 0.002, inside the band's half-width (about
0.003 with 40 replications).  The analytic series must then lie inside the
simulator's 95 % band on most days; without the lead-in it would not (the simulator
starts with empty pipelines: every system up).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import sustain
from sustain.cli.main import app
from sustain.crosscheck import (
    analytic_assumptions,
    lead_in_days,
    losses_drawn,
    over_time_comparison,
)
from sustain.scenario import scenario_from_dict

RUNNER = CliRunner()


def exact_case(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "sites": [{"id": "BASE", "repair_channels": 1}],  # left out under the assumptions
        "systems": [{"id": "S"}],
        "fleets": [{"system": "S", "site": "BASE", "count": 400, "hours_per_day": 20}],
        "items": [{"id": "A", "mtbf_hours": 8000, "installed_in": [{"system": "S", "qty": 1}],
                   "depot_repair_days": 30}],
        "stock": [{"item": "A", "site": "BASE", "qty": 30}],
        "deliveries": [{"day": 40, "system": "S", "site": "BASE", "count": 200,
                        "stock": [{"item": "A", "qty": 15}]}],
        "tempo": [{"from_day": 70, "to_day": 100, "factor": 1.2}],
    }
    doc.update(extra)
    return doc


def test_lead_in_covers_the_delay_chain() -> None:
    sc = scenario_from_dict(exact_case())
    assert lead_in_days(sc) == 45  # 1.5 × the 30-day repair
    assert lead_in_days(sc, "exponential") == 150  # 5 mean delays
    two = scenario_from_dict(exact_case(
        sites=[{"id": "D"}, {"id": "BASE", "parent": "D", "order_ship_days": 10}],
        battle_damage=[{"system": "S", "site": "BASE", "damaged_per_day": 0.01,
                        "repair_days": 20}]))
    assert lead_in_days(two) == 1.5 * (30 + 10 + 20)


def test_the_exact_case_lies_inside_the_band() -> None:
    sc = scenario_from_dict(exact_case())
    ot = sustain.evaluate_over_time(sc, days=120, step=10)
    sim = over_time_comparison(sc, ot, replications=40, seed=3)
    assert sim["lead_in_days"] == 45 and sim["replications"] == 40
    (fleet,) = sim["fleets"]
    assert [p["day"] for p in fleet["series"]] == ot.days.tolist()
    assert [p["simulator_day"] for p in fleet["series"]] == (45 + ot.days).tolist()
    lo, mean, hi = (np.array([p[k] for p in fleet["series"]]) for k in ("lo", "mean", "hi"))
    assert np.all(lo <= mean) and np.all(mean <= hi)
    av = ot.availability[0]
    assert fleet["inside_ci95_share"] == np.mean((lo <= av) & (av <= hi))
    assert fleet["inside_ci95_share"] >= 0.75
    # Without the lead-in the simulator starts with every system up: outside the band.
    cold = over_time_comparison(sc, ot, replications=40, seed=3, lead_in=0)
    assert cold["fleets"][0]["series"][0]["lo"] > av[0]


def lossy(**extra: Any) -> dict[str, Any]:
    """600 systems, about 1.5 lost a day, and 5 more on day 50."""
    return exact_case(**{
        "fleets": [{"system": "S", "site": "BASE", "count": 600, "hours_per_day": 20}],
        "deliveries": [], "tempo": [],
        "attrition": [{"system": "S", "site": "BASE", "losses_per_day": 1.5},
                      {"system": "S", "site": "BASE", "day": 50, "count": 5}],
        **extra})


def test_losses_at_a_rate_are_a_poisson_process_after_the_lead_in() -> None:
    """The rate's losses of one replication: Poisson(r · days) of them, uniform on
    (lead_in, lead_in + days]; the dated loss is not among them (it is shifted)."""
    sc = scenario_from_dict(lossy())
    rng = np.random.default_rng(5)
    paths = [losses_drawn(sc, 45, 120, rng) for _ in range(600)]
    counts = np.array([len(p) for p in paths])
    assert abs(counts.mean() - 180) < 4 * np.sqrt(180 / 600)
    assert abs(counts.var() / 180 - 1) < 0.25  # Poisson: variance = mean
    days = np.concatenate([[r.day for r in p] for p in paths])
    assert days.min() > 45 and days.max() <= 165
    assert abs(days.mean() - 105) < 4 * 120 / np.sqrt(12 * days.size)
    assert all(r.count == 1 and r.losses_per_day is None for r in paths[0])
    shifted = analytic_assumptions(sc, 45)
    assert [(r.day, r.count) for r in shifted.attrition] == [(95, 5)]


def test_losses_at_a_rate_lower_the_simulated_demand_from_day_0_on() -> None:
    """With about 180 of 600 systems lost in 120 days the simulated share up climbs
    well above the same run without losses, from the same start (the losses begin
    after the lead-in)."""
    sc = scenario_from_dict(lossy())
    ot = sustain.evaluate_over_time(sc, days=120, step=20)
    with_losses = over_time_comparison(sc, ot, replications=30, seed=11)
    assert with_losses == over_time_comparison(sc, ot, replications=30, seed=11)
    none = over_time_comparison(scenario_from_dict(lossy(attrition=[])), ot,
                                replications=30, seed=11)
    first, last = (
        [f["fleets"][0]["series"][n] for f in (with_losses, none)] for n in (0, -1))
    assert first[0]["lo"] <= first[1]["hi"] and first[1]["lo"] <= first[0]["hi"]
    assert last[0]["lo"] > last[1]["hi"] + 0.005


def test_cli_compare_json_and_terminal(tmp_path: Path) -> None:
    path = tmp_path / "exact.json"
    path.write_text(json.dumps(exact_case()))
    args = ["evaluate", str(path), "--over-time", "--days", "60", "--step", "20",
            "--compare", "--replications", "10", "--seed", "4"]
    result = RUNNER.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    sim = doc["simulated"]
    assert {k: sim[k] for k in ("replications", "seed", "lead_in_days", "delays",
                                "failures_while_down")} == {
        "replications": 10, "seed": 4, "lead_in_days": 45, "delays": "deterministic",
        "failures_while_down": True}
    (fleet,) = sim["fleets"]
    assert set(fleet) == {"system", "site", "inside_ci95_share", "series"}
    assert [set(p) for p in fleet["series"]] == [
        {"day", "simulator_day", "mean", "lo", "hi"}] * 4
    result = RUNNER.invoke(app, [*args, "--plot", str(tmp_path / "c.png")])
    assert result.exit_code == 0, result.output
    assert "days inside simulator's 95 % band" in result.stdout
    assert f"{100 * fleet['inside_ci95_share']:.1f} %" in result.stdout
    assert (tmp_path / "c.png").stat().st_size > 0


@pytest.mark.parametrize("delays", ["deterministic", "exponential"])
def test_delays_follow_the_analytic_model(delays: str) -> None:
    sc = scenario_from_dict(exact_case(deliveries=[], tempo=[]))
    ot = sustain.evaluate_over_time(sc, days=20, step=10, exponential=delays == "exponential")
    sim = over_time_comparison(sc, ot, replications=4, seed=1)
    assert sim["delays"] == delays
