"""Mixed service targets (optimize/service.py): closed forms, brute force, options."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from benchmarks.service_cases import run_case

from sustain.errors import SustainError
from sustain.optimize.api import TargetUnreachable, optimize_arrays
from sustain.readiness.evaluate import evaluate_arrays
from sustain.readiness.metric import Method
from sustain.scenario import scenario_from_dict
from sustain.scenario.compile import compile_scenario
from tests.simulate.helpers import single_site


def _poisson(mean: float, n: int = 150) -> list[float]:
    pmf = [math.exp(-mean)]
    for x in range(1, n):
        pmf.append(pmf[-1] * mean / x)
    return pmf


@pytest.mark.parametrize("goal", [0.5, 0.8, 0.95, 0.99])
def test_fill_rate_single_item_closed_form(goal: float) -> None:
    """One item at one site, Poisson pipeline of mean 6: the plan holds the least s with
    P(X ≤ s − 1) ≥ goal (a fill rate rises with stock, so that s is the optimum)."""
    n, mtbf, repair = 10, 480.0, 12.0
    pmf = _poisson(n * 24.0 / mtbf * repair)
    want = next(s for s in range(100) if math.fsum(pmf[:s]) >= goal)
    a = single_site(n=n, mtbf_hours=mtbf, repair_days=repair)
    opt = optimize_arrays(a, fill_rate=goal, method=Method.METRIC)
    assert opt.stock[0, 0] == want
    assert opt.purchase_cost == want  # unit cost 1


@pytest.mark.parametrize("days", [0.05, 0.5, 2.0])
def test_wait_single_item_closed_form(days: float) -> None:
    """The least s with EBO(s)/λ ≤ days (EBO summed term by term from the Poisson law)."""
    n, mtbf, repair = 10, 480.0, 12.0
    lam = n * 24.0 / mtbf
    pmf = _poisson(lam * repair)

    def wait(s: int) -> float:
        return math.fsum((x - s) * p for x, p in enumerate(pmf) if x > s) / lam

    want = next(s for s in range(100) if wait(s) <= days)
    a = single_site(n=n, mtbf_hours=mtbf, repair_days=repair)
    opt = optimize_arrays(a, max_wait=days, method=Method.METRIC)
    assert opt.stock[0, 0] == want


def test_brute_force_mixed_targets() -> None:
    """Random small instances (a depot and two bases, or one site with three items; METRIC
    and VARI-METRIC) with random mixed availability, fill-rate and wait targets, per
    fleet and per site: the plan's cost within 2 % of the cheapest stock of the box
    (found by enumerating every stock vector) on at least 95 % of them, never above
    10 %.  ``benchmarks/service_cases.py`` holds the instances and the brute force."""
    cases = [run_case(seed) for seed in range(40)]
    ratios = np.array([c.ratio for c in cases])
    assert np.mean(ratios <= 1.02) >= 0.95, [(c.seed, c.ratio) for c in cases]
    assert ratios.max() <= 1.10
    assert np.all(ratios >= 1 - 1e-9)  # never cheaper than the optimum: the box is exact


TWO_BASES = {
    "sites": [{"id": "D"}, {"id": "EAST", "parent": "D", "order_ship_days": 3},
              {"id": "WEST", "parent": "D", "order_ship_days": 2}],
    "systems": [{"id": "SAMX"}, {"id": "IFV"}],
    "fleets": [{"system": "SAMX", "site": "EAST", "count": 3, "hours_per_day": 20},
               {"system": "IFV", "site": "WEST", "count": 10, "hours_per_day": 8},
               {"system": "IFV", "site": "D", "count": 0, "hours_per_day": 8}],
    "items": [
        {"id": "TX", "unit_cost": 500, "mtbf_hours": 900, "depot_repair_days": 25,
         "installed_in": [{"system": "SAMX", "qty": 1}]},
        {"id": "ENG", "unit_cost": 80, "mtbf_hours": 1500, "depot_repair_days": 15,
         "installed_in": [{"system": "IFV", "qty": 1}, {"system": "SAMX", "qty": 1}]},
    ],
}


def _arrays() -> object:
    return compile_scenario(scenario_from_dict(TWO_BASES))


def test_mixed_plan_meets_every_target_and_curve_rises() -> None:
    """Availability for one fleet, a fill rate at a site and a wait for another fleet in
    one run: the independent evaluation meets each; the curve's points cost more and
    serve better at every step, and its last point is the plan."""
    a = _arrays()
    opt = optimize_arrays(a, target={"SAMX@EAST": 0.9}, fill_rate={"EAST": 0.85},
                          max_wait={"IFV": 1.5}, method=Method.VARI_METRIC)
    ev = evaluate_arrays(a.with_stock(opt.stock), method=Method.VARI_METRIC)
    sm = ev.service()
    f_samx, f_ifv = a.system_ids.index("SAMX"), a.system_ids.index("IFV")
    samx = int(np.flatnonzero(a.fleet_system == f_samx)[0])
    west = a.site_ids.index("WEST")
    ifv = int(np.flatnonzero((a.fleet_system == f_ifv) & (a.fleet_site == west))[0])
    assert ev.availability[samx] >= 0.9 - 1e-9
    assert sm.site_fill_rate[a.site_ids.index("EAST")] >= 0.85 - 1e-9
    assert sm.fleet_mean_wait_days[ifv] <= 1.5 + 1e-9
    curve = opt.curve()
    costs = [p["cost"] for p in curve]
    assert costs == sorted(costs) and costs[-1] == pytest.approx(opt.purchase_cost)
    fills = [p["fill_rate"]["EAST"] for p in curve]
    waits = [p["mean_wait_days"]["IFV@WEST"] for p in curve]
    assert all(y >= x - 1e-12 for x, y in itertools.pairwise(fills))
    assert all(y <= x + 1e-12 for x, y in itertools.pairwise(waits))
    assert fills[-1] == pytest.approx(sm.site_fill_rate[a.site_ids.index("EAST")], rel=1e-9)
    doc = opt.to_dict()
    assert {(t["measure"], t["system"], t["site"]) for t in doc["service_targets"]} == {
        ("availability", "SAMX", "EAST"), ("fill_rate", None, "EAST"),
        ("mean_wait_days", "IFV", "WEST")}


def test_number_means_every_site_with_demand_and_every_fleet() -> None:
    """``fill_rate=0.8`` sets every site with demand (the depot too); ``max_wait=2``
    every fleet."""
    a = _arrays()
    opt = optimize_arrays(a, fill_rate=0.8, max_wait=2.0, method=Method.METRIC)
    targets = opt.to_dict()["service_targets"]
    assert sorted(t["site"] for t in targets if t["measure"] == "fill_rate") == [
        "D", "EAST", "WEST"]
    assert sorted(t["system"] for t in targets if t["measure"] == "mean_wait_days") == [
        "IFV", "SAMX"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fill_rate": 1.0}, "fill_rate for *: must be above 0 and below 1 (a fill rate of 1 "
                             "needs unlimited stock): got 1.0"),
        ({"fill_rate": {"EAST": "high"}}, "fill_rate for EAST: must be a number: got 'high'"),
        ({"max_wait": -1.0}, "max_wait for *: must be a number of days above 0 (a wait of 0 "
                             "needs unlimited stock): got -1.0"),
        ({"max_wait": {"EASTT": 2.0}}, "max_wait EASTT: no such fleet or site (did you mean "
                                       "'EAST'?)"),
        ({"fill_rate": {}}, "fill_rate: no fleet or site given"),
        ({"fill_rate": {"IFV@D": 0.5}}, "fill_rate IFV@D: no demand from fleet IFV@D (no "
                                        "systems, or no item with an mtbf_hours installed)"),
    ],
)
def test_bad_options(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(SustainError) as info:
        optimize_arrays(_arrays(), method=Method.METRIC, **kwargs)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_unreachable_within_stock_limits() -> None:
    """A fill rate the stock limits keep out of reach: TargetUnreachable naming the site,
    the target and the best reached."""
    a = _arrays()
    with pytest.raises(TargetUnreachable) as info:
        optimize_arrays(a, fill_rate={"EAST": 0.99}, method=Method.METRIC,
                        max_stock=np.ones_like(a.stock))
    text = str(info.value)
    assert text.startswith("fill rate of site EAST: target 0.99 cannot be reached; best "
                           "reachable 0.")
    assert text.endswith("(within the stock limits given; loosen max or exclusions)")


def test_budget_too_small() -> None:
    a = _arrays()
    need = optimize_arrays(a, fill_rate={"EAST": 0.9}, method=Method.METRIC).purchase_cost
    assert need > 100
    with pytest.raises(TargetUnreachable) as info:
        optimize_arrays(a, fill_rate={"EAST": 0.9}, budget=100, method=Method.METRIC)
    assert str(info.value).startswith("the budget 100 is the cause: the targets cannot be "
                                      "met within it (the cheapest plan found that meets them "
                                      "costs ")
