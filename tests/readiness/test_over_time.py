"""Readiness over time against hand computations, the steady model and the simulator.

* One site: Palm's theorem for nonstationary Poisson demand (Crawford 1981) by
  numerical integration of the piecewise-constant failure rate (``scipy.integrate.quad``),
  Poisson backorders from ``scipy.stats`` and Sherbrooke's product formula.
* No time-phased keys: every day equals :func:`sustain.evaluate`.
* A delivery that doubles a fleet: the closed-form ramp of the pipeline.
* Two echelons and a sub-item: the time-phased simulator under the analytic
  assumptions (failures while down, no repair channels).
"""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import integrate, stats
from typer.testing import CliRunner

import sustain
from sustain.cli.main import app
from sustain.errors import SustainError
from sustain.readiness.backorders import backorder_moments
from sustain.readiness.over_time import _along, _moments_by_day, in_battle_repair, report_days
from sustain.scenario import scenario_from_dict
from tests.conftest import EXAMPLES

EXAMPLE = EXAMPLES / "coalition-air-defence.yaml"
RUNNER = CliRunner()

# ----------------------------------------------------------------- one site, by hand

HOURS, N0 = 12.0, 10


def one_site(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "sites": [{"id": "BASE"}],
        "systems": [{"id": "S"}],
        "fleets": [{"system": "S", "site": "BASE", "count": N0, "hours_per_day": HOURS}],
        "items": [
            {"id": "A", "mtbf_hours": 500, "installed_in": [{"system": "S", "qty": 2}],
             "depot_repair_days": 30},
            {"id": "B", "mtbf_hours": 900, "installed_in": [{"system": "S", "qty": 1}],
             "depot_repair_days": 12, "condemnation_fraction": 0.25, "procurement_days": 45},
        ],
        "stock": [{"item": "A", "site": "BASE", "qty": 4}, {"item": "B", "site": "BASE", "qty": 1}],
    }
    doc.update(extra)
    return doc


PHASED = {
    "deliveries": [{"day": 40, "system": "S", "site": "BASE", "count": 5}],
    "tempo": [{"from_day": 60, "to_day": 95, "factor": 1.5}],
    "attrition": [{"system": "S", "site": "BASE", "day": 120, "count": 3}],
}
CUTS = [40.0, 60.0, 95.0, 120.0]


def systems(u: float) -> float:
    """Systems present on day u (day-0 state before day 0)."""
    return N0 + (5 if u >= 40 else 0) - (3 if u >= 120 else 0)


def failures(u: float, mtbf: float, qty: int) -> float:
    """Failures per day of an item on day u."""
    tempo = 1.5 if 60 <= u < 95 else 1.0
    return qty * systems(u) * HOURS * tempo / mtbf


def in_delay(rate: Any, t: float, delay: float, exponential: bool) -> float:
    """Palm's theorem, nonstationary: units in a delay at t, by numerical integration."""
    points = [c for c in CUTS if c < t]
    if not exponential:
        lo = t - delay
        inside = [c for c in points if c > lo]
        return float(integrate.quad(rate, lo, t, points=inside or None, limit=200,
                                    epsabs=1e-13, epsrel=1e-13)[0])
    before = rate(0.0) * delay * np.exp(-t / delay)  # constant rate before day 0
    if t == 0:
        return float(before)
    after = integrate.quad(lambda u: rate(u) * np.exp(-(t - u) / delay), 0.0, t,
                           points=points or None, limit=200, epsabs=1e-13, epsrel=1e-13)[0]
    return float(before + after)


def poisson_ebo(mean: float, stock: int) -> float:
    x = np.arange(stock)
    return float(mean - stock + np.sum((stock - x) * stats.poisson.pmf(x, mean)))


@pytest.mark.parametrize("exponential", [False, True])
@pytest.mark.parametrize("method", ["vari-metric", "metric"])
def test_one_site_matches_nonstationary_palm(exponential: bool, method: str) -> None:
    sc = scenario_from_dict(one_site(**PHASED))
    ot = sustain.evaluate_over_time(sc, days=200, step=5, method=method, exponential=exponential)
    a = ot.arrays
    i_a, i_b = a.item_ids.index("A"), a.item_ids.index("B")
    for n, t in enumerate(ot.days.tolist()):
        pipe_a = in_delay(lambda u: failures(u, 500, 2), t, 30, exponential)
        pipe_b = in_delay(lambda u: 0.75 * failures(u, 900, 1), t, 12, exponential) + in_delay(
            lambda u: 0.25 * failures(u, 900, 1), t, 45, exponential
        )
        assert_allclose(ot.pipeline_mean[[i_a, i_b], 0, n], [pipe_a, pipe_b], rtol=1e-9)
        assert_allclose(ot.demand_per_day[[i_a, i_b], 0, n],
                        [failures(t, 500, 2), failures(t, 900, 1)], rtol=1e-12)
        ebo_a, ebo_b = poisson_ebo(pipe_a, 4), poisson_ebo(pipe_b, 1)
        assert_allclose(ot.ebo[[i_a, i_b], 0, n], [ebo_a, ebo_b], rtol=1e-9)
        n_sys = systems(t)
        avail = (1 - ebo_a / (2 * n_sys)) ** 2 * (1 - ebo_b / n_sys)
        assert ot.present[0, n] == n_sys
        assert_allclose(ot.availability[0, n], avail, rtol=1e-9)


# ------------------------------------------------------------- flat = steady state


def flat_example() -> sustain.Scenario:
    sc = sustain.load_scenario(EXAMPLE)
    # Over time the analytics do not model lateral resupply: compare without the link.
    return replace(sc, deliveries=(), tempo=(), attrition=(), battle_damage=(), laterals=())


@pytest.mark.parametrize("exponential", [False, True])
@pytest.mark.parametrize("method", ["vari-metric", "metric"])
def test_no_time_phased_keys_is_the_steady_state(method: str, exponential: bool) -> None:
    sc = flat_example()
    ev = sustain.evaluate(sc, method=method)
    # A tempo row of factor 1 cuts the time axis without changing anything.
    cut = replace(sc, tempo=(sustain.scenario.model.TempoChange(from_day=30, to_day=50,
                                                                factor=1.0),))
    for scenario in (sc, cut):
        ot = sustain.evaluate_over_time(scenario, days=100, step=9, method=method,
                                        exponential=exponential)
        assert ot.days.tolist() == [0, 9, 18, 27, 36, 45, 54, 63, 72, 81, 90, 99, 100]
        for got, want in (
            (ot.availability, ev.availability[:, None]),
            (ot.pipeline_mean, ev.pipes.mean[:, :, None]),
            (ot.pipeline_var, ev.pipes.var[:, :, None]),
            (ot.ebo, ev.pipes.ebo[:, :, None]),
            (ot.vbo, ev.pipes.vbo[:, :, None]),
            (ot.fill_rate, ev.pipes.fill_rate[:, :, None]),
            (ot.demand_per_day, ev.flows.demand[:, :, None]),
            (ot.present, ev.arrays.fleet_count[:, None]),
        ):
            assert_allclose(got, np.broadcast_to(want, got.shape), rtol=1e-12, atol=1e-12)
        doc = ot.to_dict()
        steady = ev.to_dict()
        assert [(f["system"], f["site"]) for f in doc["fleets"]] == [
            (f["system"], f["site"]) for f in steady["fleets"]
        ]
        assert [(r["item"], r["site"]) for r in doc["items"]] == [
            (r["item"], r["site"]) for r in steady["items"]
        ]


def test_json_document_has_the_contract_keys() -> None:
    ot = sustain.evaluate_over_time(sustain.load_scenario(EXAMPLE), days=30, step=7)
    doc = ot.to_dict()
    assert list(doc) == ["method", "days", "fleets", "items"]
    assert doc["days"] == [0, 7, 14, 21, 28, 30]
    assert list(doc["fleets"][0]) == ["system", "site", "series"]
    assert list(doc["fleets"][0]["series"][0]) == [
        "day", "count", "availability", "expected_available"
    ]
    assert list(doc["items"][0]) == ["item", "site", "series"]
    assert list(doc["items"][0]["series"][0]) == [
        "day", "stock", "demand_per_day", "pipeline_mean", "ebo"
    ]


# ---------------------------------------------------------- a delivery doubles a fleet


@pytest.mark.parametrize("exponential", [False, True])
def test_delivery_doubling_the_fleet_ramps_the_pipeline(exponential: bool) -> None:
    doc = one_site(deliveries=[{"day": 100, "system": "S", "site": "BASE", "count": N0}])
    doc["items"] = doc["items"][:1]  # A: delay L = 30
    doc["stock"] = doc["stock"][:1]
    ot = sustain.evaluate_over_time(scenario_from_dict(doc), days=160, step=5,
                                    exponential=exponential)
    t = ot.days.astype(float)
    lam, delay = 2 * N0 * HOURS / 500, 30.0
    after = t >= 100
    assert_allclose(ot.present[0], np.where(after, 2 * N0, N0), rtol=0)
    assert_allclose(ot.demand_per_day[0, 0], np.where(after, 2 * lam, lam), rtol=1e-15)
    since = np.maximum(t - 100, 0)
    if exponential:
        want = lam * delay * np.where(after, 2 - np.exp(-since / delay), 1.0)
    else:
        want = lam * delay + lam * np.minimum(since, delay)  # a linear ramp over L days
    assert_allclose(ot.pipeline_mean[0, 0], want, rtol=1e-12)


def test_delivery_beyond_the_horizon_never_comes() -> None:
    doc = one_site(deliveries=[{"day": 400, "system": "S", "site": "BASE", "count": 7,
                                "stock": [{"item": "A", "qty": 3}]}])
    ot = sustain.evaluate_over_time(scenario_from_dict(doc), days=365, step=30)
    flat = sustain.evaluate_over_time(scenario_from_dict(one_site()), days=365, step=30)
    assert_allclose(ot.availability, flat.availability, rtol=0)
    assert np.all(ot.present == N0)
    assert np.all(ot.stock == flat.stock)


def test_spares_delivered_count_from_their_day() -> None:
    doc = one_site(deliveries=[{"day": 50, "system": "S", "site": "BASE", "count": 0,
                                "stock": [{"item": "A", "qty": 3}]}])
    ot = sustain.evaluate_over_time(scenario_from_dict(doc), days=100, step=10)
    i_a = ot.arrays.item_ids.index("A")
    assert ot.stock[i_a, 0].tolist() == [4] * 5 + [7] * 6
    assert_allclose(ot.ebo[i_a, 0, 5:], poisson_ebo(ot.pipeline_mean[i_a, 0, 5], 7), rtol=1e-9)


def test_battle_damage_takes_systems_out_of_service() -> None:
    """Erlang's loss formula: a (1 − B(N, a)); B(N, a) by its recursion for whole N."""
    for n_sys, load in ((1, 0.5), (4, 1.5), (10, 3.0)):
        b = 1.0
        for k in range(1, n_sys + 1):
            b = load * b / (k + load * b)
        assert_allclose(in_battle_repair(np.array([float(n_sys)]), np.array(load)),
                        load * (1 - b), rtol=1e-12)
    doc = one_site(battle_damage=[{"system": "S", "site": "BASE", "damaged_per_day": 0.1,
                                   "repair_days": 10}])
    ot = sustain.evaluate_over_time(scenario_from_dict(doc), days=14, step=7)
    flat = sustain.evaluate_over_time(scenario_from_dict(one_site()), days=14, step=7)
    down = float(in_battle_repair(np.array([float(N0)]), np.array(1.0))[0])
    operating = N0 - down
    assert_allclose(ot.operating[0], operating, rtol=1e-12)
    # Fewer systems fail: demand falls in proportion; the damaged ones are down.
    assert_allclose(ot.demand_per_day[:, 0], flat.demand_per_day[:, 0] * operating / N0,
                    rtol=1e-12)
    assert np.all(ot.availability < flat.availability)


# ------------------------------------------------------------------------ bad input


def test_report_days() -> None:
    assert report_days(30, 7).tolist() == [0, 7, 14, 21, 28, 30]
    assert report_days(28, 7).tolist() == [0, 7, 14, 21, 28]
    assert report_days(3, 10).tolist() == [0, 3]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"step": 0}, "step must be a whole number of days >= 1: got 0"),
        ({"step": -7}, "step must be a whole number of days >= 1: got -7"),
        ({"days": 0}, "days must be from 1 to 36,500: got 0"),
        ({"days": -1}, "days must be from 1 to 36,500: got -1"),
        ({"days": 7.5}, "days must be a whole number of days: got 7.5"),
        ({"method": "exact"}, "over time the method is vari-metric or metric, not exact"),
    ],
)
def test_api_refuses(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(SustainError, match=f"^{message}$"):
        sustain.evaluate_over_time(scenario_from_dict(one_site()), **kwargs)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--over-time", "--step", "0"], "--step 0: must be a whole number >= 1"),
        (["--over-time", "--step", "-3"], "--step -3: must be a whole number >= 1"),
        (["--over-time", "--days", "0"], "--days 0: must be a whole number from 1 to 36,500"),
        (["--over-time", "--days", "-30"],
         "--days -30: must be a whole number from 1 to 36,500"),
        (["--over-time", "--method", "exact"],
         "--over-time uses --method vari-metric or metric, not exact"),
        (["--exponential"], "--exponential needs --over-time"),
        (["--step", "7"], "--step needs --over-time"),
    ],
)
def test_cli_refuses(tmp_path: Path, args: list[str], message: str) -> None:
    report = tmp_path / "report.md"
    result = RUNNER.invoke(app, ["evaluate", str(EXAMPLE), *args, "-o", str(report)])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {message}\n"
    assert result.stdout == ""
    assert not report.exists()


def test_cli_over_time(tmp_path: Path) -> None:
    report = tmp_path / "report.md"
    result = RUNNER.invoke(app, ["evaluate", str(EXAMPLE), "--over-time", "--days", "60",
                                 "--step", "30", "-o", str(report)])
    assert result.exit_code == 0, result.output
    assert "availability over time" in result.stdout
    text = report.read_text()
    assert "## Readiness over time" in text
    assert "| day 0 | day 30 | day 60 |" in text
    result = RUNNER.invoke(app, ["evaluate", str(EXAMPLE), "--over-time", "--days", "60",
                                 "--exponential", "--method", "metric", "--json"])
    assert result.exit_code == 0, result.output
    import json

    doc = json.loads(result.stdout)
    api = sustain.evaluate_over_time(sustain.load_scenario(EXAMPLE), days=60, method="metric",
                                     exponential=True).to_dict()
    assert doc == api


def test_cli_over_time_with_a_stock_plan(tmp_path: Path) -> None:
    """One --stock plan is evaluated over time as if the scenario held it; two are refused."""
    import json

    plan = tmp_path / "plan.csv"
    plan.write_text("item,site,qty\nSAMX-TX,EAST,3\n")
    result = RUNNER.invoke(app, ["evaluate", str(EXAMPLE), "--over-time", "--days", "30",
                                 "--stock", str(plan), "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    sc = sustain.load_scenario(EXAMPLE)
    rows = [r for r in sc.stock if (r.item, r.site) != ("SAMX-TX", "EAST")]
    held = type(sc.stock[0])(item="SAMX-TX", site="EAST", qty=3)
    by_hand = dataclasses.replace(sc, stock=(*rows, held))
    assert json.loads(result.stdout) == sustain.evaluate_over_time(by_hand, days=30).to_dict()
    result = RUNNER.invoke(app, ["evaluate", str(EXAMPLE), "--over-time", "--stock", str(plan),
                                 "--stock", str(plan)])
    assert result.exit_code == 2
    assert result.stderr == "error: --over-time takes one --stock plan at most\n"


# ------------------------------------------------- echelons read at their lags


def three_echelons() -> dict[str, Any]:
    """HUB → DEPOT (3 days) → bases B1 (2 days) and B2 (4 days): the hub is read at
    lags 3, 5 and 7, the depot at 2 and 4.  No repair below the hub, so every
    non-root site orders all its demand up."""
    return {
        "sites": [{"id": "HUB"}, {"id": "DEPOT", "parent": "HUB", "order_ship_days": 3},
                  {"id": "B1", "parent": "DEPOT", "order_ship_days": 2},
                  {"id": "B2", "parent": "DEPOT", "order_ship_days": 4}],
        "systems": [{"id": "S"}],
        "fleets": [{"system": "S", "site": "B1", "count": 20, "hours_per_day": 20},
                   {"system": "S", "site": "B2", "count": 12, "hours_per_day": 16}],
        "items": [{"id": "LRU", "mtbf_hours": 800, "installed_in": [{"system": "S", "qty": 1}],
                   "depot_repair_days": 25}],
        "stock": [{"item": "LRU", "site": "HUB", "qty": 4},
                  {"item": "LRU", "site": "DEPOT", "qty": 2},
                  {"item": "LRU", "site": "B1", "qty": 1}],
        "deliveries": [{"day": 30, "system": "S", "site": "B2", "count": 12}],
        "tempo": [{"from_day": 60, "to_day": 90, "factor": 1.5}],
    }


@pytest.mark.parametrize("method", ["vari-metric", "metric"])
def test_each_site_reads_its_parent_at_its_lag(method: str) -> None:
    """Away from events a site's pipeline is ``d·O + f·EBO_parent(t − O)`` (its own
    orders in transit plus its share ``f = d / d_parent`` of the parent's backorders
    ``O`` days before): the parent's EBO as reported on day ``t − O``."""
    ot = sustain.evaluate_over_time(scenario_from_dict(three_echelons()), days=120, step=1,
                                    method=method)
    site = {s: n for n, s in enumerate(ot.arrays.site_ids)}
    mean, ebo, dem = ot.pipeline_mean[0], ot.ebo[0], ot.demand_per_day[0]
    checked = 0
    for child, parent, lag in (("B1", "DEPOT", 2), ("B2", "DEPOT", 4), ("DEPOT", "HUB", 3)):
        c, p = site[child], site[parent]
        for t in ot.days.tolist():
            if t < 8 or any(t - 8 <= e <= t for e in (30, 60, 90)):
                continue  # demand not constant over the lags before t
            f = dem[c, t] / dem[p, t]
            assert_allclose(mean[c, t], dem[c, t] * lag + f * ebo[p, t - lag], rtol=1e-12)
            checked += 1
    assert checked > 150
    assert np.ptp(ebo[site["HUB"]]) > 0.1  # the hub's backorders do change over time


def test_moments_of_repeated_days_are_each_days_own() -> None:
    """Runs of equal cells along the days share one evaluation: the same numbers,
    to the bit, as every cell evaluated on its own."""
    rng = np.random.default_rng(3)
    shape = (7, 3, 40)
    # Few distinct values, so that neighbouring days are often equal in some of the three.
    mean = rng.choice([0.0, 0.4, 2.5, 9.0], size=shape)
    var = mean * rng.choice([1.0, 1.7], size=shape)
    stock = rng.choice([0.0, 1.0, 3.0], size=shape)
    for v in (var, mean):  # VARI-METRIC, and METRIC (the variance is the mean)
        got = _moments_by_day(mean, v, stock)
        want = backorder_moments(mean, v, stock)
        for g, w in ((got.ebo, want.ebo), (got.vbo, want.vbo), (got.fill_rate, want.fill_rate)):
            assert g.shape == shape
            assert np.array_equal(g, w)


def test_along_is_indexing_the_last_axis() -> None:
    x = np.arange(2 * 3 * 5, dtype=np.float64).reshape(2, 3, 5)
    for j in ([0, 0, 1, 4, 4, 4], [3], [2, 0, 0, 4, 1]):
        assert np.array_equal(_along(x, np.array(j)), x[:, :, j])


# ----------------------------------------------------------------- vs the simulator


def two_echelons(shift: float) -> dict[str, Any]:
    """Depot and two bases, an LRU with a sub-item and a condemned item; 10× fleets
    with 10× MTBF (the same demand, holes spread over many systems: the analytic
    assumption that down systems keep failing holds better).  A delivery doubles B2
    on day 60 (with spares), tempo doubles on days [120, 180)."""
    return {
        "sites": [{"id": "DEPOT"}, {"id": "B1", "parent": "DEPOT", "order_ship_days": 5},
                  {"id": "B2", "parent": "DEPOT", "order_ship_days": 8}],
        "systems": [{"id": "S"}],
        "fleets": [{"system": "S", "site": "B1", "count": 200, "hours_per_day": 20},
                   {"system": "S", "site": "B2", "count": 150, "hours_per_day": 16}],
        "items": [
            {"id": "LRU", "mtbf_hours": 20000, "installed_in": [{"system": "S", "qty": 1}],
             "base_repair_fraction": 0.3, "base_repair_days": 4, "depot_repair_days": 20},
            {"id": "SRU", "parent": "LRU", "replace_fraction": 0.5, "depot_repair_days": 15},
            {"id": "PSU", "mtbf_hours": 10000, "installed_in": [{"system": "S", "qty": 2}],
             "depot_repair_days": 10, "condemnation_fraction": 0.1, "procurement_days": 40},
        ],
        "stock": [{"item": "LRU", "site": "DEPOT", "qty": 3},
                  {"item": "LRU", "site": "B1", "qty": 2},
                  {"item": "LRU", "site": "B2", "qty": 1},
                  {"item": "SRU", "site": "DEPOT", "qty": 1},
                  {"item": "PSU", "site": "B1", "qty": 2},
                  {"item": "PSU", "site": "B2", "qty": 2},
                  {"item": "PSU", "site": "DEPOT", "qty": 2}],
        "deliveries": [{"day": 60 + shift, "system": "S", "site": "B2", "count": 150,
                        "stock": [{"item": "PSU", "qty": 2}]}],
        "tempo": [{"from_day": 120 + shift, "to_day": 180 + shift, "factor": 2.0}],
    }


#: The simulator starts with empty pipelines: its events come this many days later,
#: and its day WARMUP + t is compared with the analytic day t (steady before day 0).
WARMUP = 150
#: Largest gap allowed between the analytic availability and the simulated mean on any
#: reported day (docs/method.md, "Readiness over time": measured 0.011 at most).
SIM_GAP = 0.02


@pytest.mark.parametrize("delays", ["deterministic", "exponential"])
def test_two_echelons_against_the_simulator(delays: str) -> None:
    ot = sustain.evaluate_over_time(scenario_from_dict(two_echelons(0)), days=240, step=10,
                                    exponential=delays == "exponential")
    sim = sustain.simulate(scenario_from_dict(two_echelons(WARMUP)), days=WARMUP + 240,
                           replications=200, seed=5, failures_while_down=True, delays=delays)
    at = {float(d): n for n, d in enumerate(sim.series_days)}
    share_up = sim.series[:, [at[WARMUP + float(d)] for d in ot.days], :]  # reps × days × fleets
    mean = share_up.mean(axis=0).T
    gap = ot.availability - mean
    assert np.max(np.abs(gap)) < SIM_GAP
    # The surge is seen by both: availability falls by 8 to 10 points and recovers.
    surge = ot.days.tolist().index(170)
    assert_allclose(ot.availability[:, surge] - ot.availability[:, 0],
                    mean[:, surge] - mean[:, 0], atol=SIM_GAP)
