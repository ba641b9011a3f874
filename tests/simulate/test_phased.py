"""Time-phased keys against closed forms and hand-worked cases.

Reference values come from renewal theory, the Erlang loss formula, the Poisson
law and the machine-repair birth-death chain (tests/simulate/helpers.py), never
from the simulator's own output.  Tolerances are 99 % confidence intervals across
replications (fixed seeds); deterministic cases use (near-)fixed lifetimes
(``weibull_shape: 50``: a coefficient of variation of 2.5 %).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from sustain.scenario import scenario_from_dict
from sustain.simulate import simulate
from tests.simulate.helpers import ci, machine_repair

LEVEL = 0.99
NEVER = 1e9  # an MTBF (hours) that never fails within the horizon


def one_site(
    *, n: int, mtbf: float = NEVER, repair: float = 10.0, stock: int = 0,
    hours: float = 24.0, shape: float | None = None, **extra: Any,
) -> dict[str, Any]:
    """One root site S, ``n`` systems K with one unit of item X (depot repair)."""
    item: dict[str, Any] = {"id": "X", "mtbf_hours": mtbf, "installed_in": [{"system": "K"}],
                            "depot_repair_days": repair}
    if shape is not None:
        item["weibull_shape"] = shape
    d: dict[str, Any] = {
        "sites": [{"id": "S"}], "systems": [{"id": "K"}],
        "fleets": [{"system": "K", "site": "S", "count": n, "hours_per_day": hours}],
        "items": [item],
        "stock": [{"item": "X", "site": "S", "qty": stock}] if stock else [],
    }
    d.update(extra)
    return d


# ---- the general kernel reproduces the steady-state closed forms ------------------

@pytest.mark.parametrize(("delays", "stock", "channels"), [
    ("deterministic", 0, None), ("exponential", 2, None), ("exponential", 1, 2),
])
def test_phased_kernel_machine_repair(delays: str, stock: int, channels: int | None) -> None:
    """Cannibalisation with one unit per system never finds a donor (a down system
    lacks exactly the failed item), so this runs the time-phased kernel on the
    machine-repair model: the finite-source law (ample or ``c`` servers) holds."""
    n, mtbf, repair = 5, 1000.0, 10.0
    sc = scenario_from_dict(one_site(n=n, mtbf=mtbf, repair=repair, stock=stock))
    res = simulate(sc, days=12_000, replications=20, seed=11, warmup_days=200, delays=delays,
                   cannibalisation=True,
                   repair_channels={"S": channels} if channels else None)
    assert res.phased is not None
    p = machine_repair(n, 24.0 / mtbf, 1.0 / repair, stock, channels=channels)
    k = np.arange(p.size)
    m, h = ci(res.availability[:, 0], LEVEL)
    assert abs(m - (1.0 - float(p @ np.maximum(k - stock, 0)) / n)) <= h, (m, h)
    m, h = ci(res.in_repair[:, 0], LEVEL)
    assert abs(m - float(p @ k)) <= h, (m, h)


# ---- Weibull lifetimes ---------------------------------------------------------------

@pytest.mark.parametrize("shape", [1.0, 0.6, 2.5, 8.0])
def test_weibull_alternating_renewal(shape: float) -> None:
    """No spares, one unit per system: each system alternates a life (mean MTBF in
    operating hours, here m = MTBF / 24 days) and a repair of R days.  Renewal-reward
    (Ross 1996, *Stochastic Processes*, thm 3.6.1): availability m / (m + R) and
    failures per system and day 1 / (m + R), whatever the life's distribution."""
    n, mtbf, repair, days, warm = 6, 480.0, 15.0, 6_000, 300
    sc = scenario_from_dict(one_site(n=n, mtbf=mtbf, repair=repair, shape=shape))
    res = simulate(sc, days=days, replications=20, seed=4, warmup_days=warm,
                   cannibalisation=True)  # the time-phased kernel, also for shape 1
    m_days = mtbf / 24.0
    m, h = ci(res.availability[:, 0], LEVEL)
    assert abs(m - m_days / (m_days + repair)) <= h, (m, h)
    assert res.demands_reps is not None
    rate = res.demands_reps[:, 0, 0] / (n * (days - warm))
    m, h = ci(rate, LEVEL)
    assert abs(m - 1.0 / (m_days + repair)) <= h, (m, h)


def test_weibull_shape_one_matches_the_steady_state_kernel() -> None:
    """Shape 1 in the time-phased kernel and the steady-state kernel (exponential by
    construction) agree on availability and mean backorders within combined CIs."""
    d = one_site(n=4, mtbf=700.0, repair=12.0, stock=1)
    d["items"].append({"id": "Y", "mtbf_hours": 900.0, "installed_in": [{"system": "K"}],
                       "depot_repair_days": 8.0, "weibull_shape": 1})
    sc = scenario_from_dict(d)
    kw: dict[str, Any] = dict(days=8_000, replications=20, seed=8, warmup_days=200)
    plain = simulate(sc, **kw)
    assert plain.phased is None  # shape 1 everywhere: the steady-state kernel
    phased = simulate(sc, cannibalisation=False, **kw)
    d2 = copy.deepcopy(d)
    d2["tempo"] = [{"from_day": 0, "to_day": 9_000, "factor": 1.0}]  # forces the other kernel
    phased = simulate(scenario_from_dict(d2), **kw)
    assert phased.phased is not None
    m1, h1 = ci(plain.availability[:, 0], LEVEL)
    m2, h2 = ci(phased.availability[:, 0], LEVEL)
    assert abs(m1 - m2) <= h1 + h2
    for i in range(2):
        m1, h1 = ci(plain.backorders_reps[:, i, 0], LEVEL)
        m2, h2 = ci(phased.backorders_reps[:, i, 0], LEVEL)
        assert abs(m1 - m2) <= h1 + h2


def test_units_age_in_operating_hours() -> None:
    """Near-fixed lives (shape 50) of 240 operating hours at 24 h/day: the unit fails
    at day ~10; at tempo 2 from day 0 at day ~5; stood down (factor 0) on days
    [2, 7) at day ~15."""
    for tempo, fails in ((None, 10), ([{"from_day": 0, "to_day": 100, "factor": 2}], 5),
                         ([{"from_day": 2, "to_day": 7, "factor": 0}], 15)):
        d = one_site(n=1, mtbf=240.0, repair=3650, shape=50)
        if tempo:
            d["tempo"] = tempo
        res = simulate(scenario_from_dict(d), days=30, replications=4, seed=1)
        assert res.phased is not None
        up = res.phased.series_up[:, :, 0]
        assert np.all(up[:, fails - 1] == 1) and np.all(up[:, fails + 1] == 0), (tempo, up)


@pytest.mark.parametrize("fwd", [False, True])
def test_down_systems_do_not_age_their_units(fwd: bool) -> None:
    """One system: A lives ~10 days, B ~15 days (shape 50); A is repaired in 20 days
    with no spare, so the system is down on days 10-30.  Realistic default: B does not
    age meanwhile and fails at day ~35 (10 + 5 days after the return of A).  With
    ``failures_while_down`` B keeps ageing, fails at day ~15 and is back at day ~35."""
    d = _two_items()
    d["fleets"][0]["count"] = 1
    d["stock"] = []
    d["items"][0]["depot_repair_days"] = 20
    d["items"][1]["depot_repair_days"] = 20
    res = simulate(scenario_from_dict(d), days=45, replications=4, seed=3,
                   failures_while_down=fwd)
    assert res.phased is not None
    up = res.phased.series_up[:, :, 0]
    want = {5: 1, 12: 0, 31: 0 if fwd else 1, 34: 0 if fwd else 1, 36: 1 if fwd else 0}
    for day, n in want.items():
        assert np.all(up[:, day] == n), (day, up[:, day])


# ---- deliveries ------------------------------------------------------------------

def test_deliveries_raise_the_count_on_their_day() -> None:
    """No failures: systems present step up exactly at the delivery days, in every
    replication; a fleet created by a delivery counts from its first day."""
    d = one_site(n=3)
    d["sites"] += [{"id": "E", "parent": "S"}, {"id": "F", "parent": "S"}]
    d["deliveries"] = [
        {"day": 90, "system": "K", "site": "S", "count": 6},
        {"day": 40, "system": "K", "site": "E", "count": 2, "hours_per_day": 12},
        {"day": 10, "system": "K", "site": "F", "count": 0, "stock": [{"item": "X", "qty": 3}]},
    ]
    res = simulate(scenario_from_dict(d), days=200, replications=3, seed=1)
    ph = res.phased
    assert ph is not None
    fleets = [(res.arrays.system_ids[k], res.arrays.site_ids[s])
              for k, s in zip(res.arrays.fleet_system, res.arrays.fleet_site, strict=True)]
    f_s, f_e = fleets.index(("K", "S")), fleets.index(("K", "E"))
    days = res.series_days
    want_s = np.where(days < 90, 3.0, 9.0)
    want_e = np.where(days < 40, 0.0, 2.0)
    for r in range(3):
        np.testing.assert_array_equal(ph.series_present[r, :, f_s], want_s)
        np.testing.assert_array_equal(ph.series_up[r, :, f_e], want_e)
    doc = res.to_dict()
    e = doc["fleets"][f_e]
    assert e["count"] == 0 and e["delivered"] == 2 and e["availability"] == 1.0
    assert e["series"][39]["mean"] is None and e["series"][40]["mean"] == 1.0
    # Time-average systems present: 3 for 90 days, then 9 for 110 days.
    assert doc["fleets"][f_s]["present_mean"] == pytest.approx((3 * 90 + 9 * 110) / 200)
    # Spares alone create no fleet, and are reported where they are held.
    assert len(fleets) == 2
    assert {"item": "X", "site": "F", "backorders_mean": 0.0, "fill_rate": None} in doc["items"]


def test_delivered_stock_fills_a_waiting_system() -> None:
    """A unit lasting ~10 days (shape 50) fails, no spare and no repair in time: the
    system is down until spares delivered on day 50 replace it, then fails ~10 days
    later again."""
    d = one_site(n=1, mtbf=240.0, repair=3650, shape=50)
    d["deliveries"] = [{"day": 50, "system": "K", "site": "S", "count": 0,
                        "stock": [{"item": "X", "qty": 1}]}]
    res = simulate(scenario_from_dict(d), days=80, replications=5, seed=2)
    assert res.phased is not None
    up = res.phased.series_up[:, :, 0]
    days = res.series_days
    for when, want in ((5, 1), (20, 0), (49, 0), (55, 1), (59, 1), (65, 0)):
        assert np.all(up[:, days == when] == want), (when, up[:, days == when])


# ---- attrition ------------------------------------------------------------------

def test_attrition_rate_survivors() -> None:
    """``losses_per_day`` r: a Poisson process of losses, void once the fleet is gone,
    so survivors at day t are max(N − K, 0) with K ~ Poisson(r t)."""
    n, r = 20, 0.08
    d = one_site(n=n, attrition=[{"system": "K", "site": "S", "losses_per_day": r}])
    res = simulate(scenario_from_dict(d), days=200, replications=300, seed=2)
    assert res.phased is not None
    for t in (50, 150, 200):
        k = np.arange(n + 1)
        exact = float(stats.poisson.pmf(k, r * t) @ (n - k))
        surv = res.phased.series_present[:, int(t), 0]
        m, h = ci(surv, LEVEL)
        assert abs(m - exact) <= h, (t, m, h, exact)


def test_attrition_on_given_days() -> None:
    d = one_site(n=5, attrition=[{"system": "K", "site": "S", "day": 120, "count": 2},
                                 {"system": "K", "site": "S", "day": 150, "count": 9}])
    res = simulate(scenario_from_dict(d), days=200, replications=2, seed=5)
    assert res.phased is not None
    pres = res.phased.series_present[:, :, 0]
    days = res.series_days
    assert np.all(pres[:, days < 120] == 5)
    assert np.all(pres[:, (days > 120) & (days < 150)] == 3)
    assert np.all(pres[:, days > 150] == 0)
    doc = res.to_dict()["fleets"][0]
    assert doc["lost_mean"] == 5
    # Availability: share of system-days present that are up (all of them: no failures).
    assert doc["availability"] == 1.0


# ---- battle damage ----------------------------------------------------------------

@pytest.mark.parametrize("delays", ["deterministic", "exponential"])
def test_battle_damage_erlang_loss(delays: str) -> None:
    """Damage at D per day on the fleet, each hitting a system not already in repair,
    repaired whole in R days, no other failures: the systems in repair form an
    Erlang loss system M/G/N/N with offered load a = D R (insensitive to the repair
    law; Erlang 1917, Sevastyanov 1957), so availability is 1 − a (1 − B(N, a)) / N."""
    n, dmg, repair = 8, 0.2, 15.0
    d = one_site(n=n, battle_damage=[{"system": "K", "site": "S", "damaged_per_day": dmg,
                                      "repair_days": repair}])
    res = simulate(scenario_from_dict(d), days=6_000, replications=20, seed=12,
                   warmup_days=100, delays=delays)
    a = dmg * repair
    b = 1.0
    for k in range(1, n + 1):  # Erlang B recursion
        b = a * b / (k + a * b)
    exact = 1.0 - a * (1.0 - b) / n
    m, h = ci(res.availability[:, 0], LEVEL)
    assert abs(m - exact) <= h, (m, h, exact)
    assert res.phased is not None
    m, h = ci(res.phased.damaged_mean[:, 0], LEVEL)
    assert abs(m - a * (1.0 - b)) <= h


# ---- tempo -----------------------------------------------------------------------

@pytest.mark.parametrize("factor", [1.0, 2.0])
def test_tempo_multiplies_demand_in_its_window(factor: float) -> None:
    """Positions never empty (ample stock) and failures counted only over the window
    [300, 600): demand is Poisson at N · hours · factor / MTBF per day."""
    n, mtbf, hours = 10, 500.0, 10.0
    d = one_site(n=n, mtbf=mtbf, hours=hours, stock=10_000,
                 tempo=[{"from_day": 300, "to_day": 600, "factor": factor, "system": "K"},
                        {"from_day": 0, "to_day": 900, "factor": 5.0, "site": "S",
                         "system": "OTHER"}],
                 systems=[{"id": "K"}, {"id": "OTHER"}])
    res = simulate(scenario_from_dict(d), days=600, replications=40, seed=3,
                   warmup_days=300)
    assert res.demands_reps is not None
    m, h = ci(res.demands_reps[:, 0, 0], LEVEL)
    exact = n * hours * factor / mtbf * 300
    assert abs(m - exact) <= h, (m, h, exact)


# ---- repair capacity, warm-up -----------------------------------------------------

def test_repair_channels_key_equals_the_api_option() -> None:
    d = one_site(n=6, mtbf=800.0, repair=9.0, stock=1)
    by_api = simulate(scenario_from_dict(d), days=2_000, replications=4, seed=6,
                      repair_channels={"S": 2})
    d["sites"][0]["repair_channels"] = 2
    by_key = simulate(scenario_from_dict(d), days=2_000, replications=4, seed=6)
    assert by_key.to_dict() == by_api.to_dict()
    plain = simulate(scenario_from_dict(d), days=2_000, replications=4, seed=6,
                     repair_channels={"S": 50})  # the option wins over the key
    assert plain.to_dict() != by_key.to_dict()


def test_warmup_key_and_option() -> None:
    d = one_site(n=2, mtbf=800.0, simulation={"warmup_days": 30})
    sc = scenario_from_dict(d)
    assert simulate(sc, days=100, replications=2, seed=1).warmup_days == 30
    assert simulate(sc, days=100, replications=2, seed=1, warmup_days=0).warmup_days == 0


# ---- cannibalisation --------------------------------------------------------------

def _two_items(**extra: Any) -> dict[str, Any]:
    """Two systems with one A (~10 days of life) and one B (~15 days), one spare A,
    no repair within the run (lives nearly fixed: shape 50)."""
    return {
        "sites": [{"id": "S"}], "systems": [{"id": "K"}],
        "fleets": [{"system": "K", "site": "S", "count": 2, "hours_per_day": 24}],
        "items": [
            {"id": "A", "mtbf_hours": 240, "installed_in": [{"system": "K"}],
             "depot_repair_days": 3650, "weibull_shape": 50},
            {"id": "B", "mtbf_hours": 360, "installed_in": [{"system": "K"}],
             "depot_repair_days": 3650, "weibull_shape": 50},
        ],
        "stock": [{"item": "A", "site": "S", "qty": 1}],
        **extra,
    }


@pytest.mark.parametrize(("cannibalise", "up_at_17"), [(False, 0), (True, 1)])
def test_cannibalisation_hand_worked(cannibalise: bool, up_at_17: int) -> None:
    """Day ~10: both A fail; system 1 takes the spare, system 2 is down missing A (and
    stops wearing its B).  Day ~15: system 1's B fails, no spare.  Without
    cannibalisation two systems are down (one missing A, one missing B); with it,
    system 1 takes system 2's B: one system down missing both."""
    sc = scenario_from_dict(_two_items(simulation={"cannibalisation": cannibalise}))
    res = simulate(sc, days=19, replications=5, seed=9)
    assert res.phased is not None
    up = res.phased.series_up[:, :, 0]
    assert np.all(up[:, 5] == 2)
    assert np.all(up[:, 12] == 1)
    assert np.all(up[:, 17] == up_at_17)


def test_cannibalisation_does_not_lower_availability() -> None:
    """Two echelons, three items, spares short: consolidating holes keeps more
    systems up (same seeds; the gain is larger than the paired 99 % CI)."""
    d: dict[str, Any] = {
        "sites": [{"id": "D"}, {"id": "B", "parent": "D", "order_ship_days": 2}],
        "systems": [{"id": "K"}],
        "fleets": [{"system": "K", "site": "B", "count": 6, "hours_per_day": 20}],
        "items": [
            {"id": f"I{k}", "mtbf_hours": 400 + 150 * k, "installed_in": [{"system": "K"}],
             "depot_repair_days": 20, "base_repair_fraction": 0.3, "base_repair_days": 4}
            for k in range(3)
        ],
        "stock": [{"item": "I0", "site": "B", "qty": 1}, {"item": "I1", "site": "D", "qty": 1}],
    }
    sc = scenario_from_dict(d)
    kw: dict[str, Any] = dict(days=5_000, replications=16, seed=17, warmup_days=200)
    off = simulate(sc, cannibalisation=False, **kw)
    on = simulate(sc, cannibalisation=True, **kw)
    assert off.phased is None and on.phased is not None
    gain = on.availability[:, 0] - off.availability[:, 0]
    m, h = ci(gain, LEVEL)
    assert m - h > 0, (m, h)


# ---- reproducibility and the document ---------------------------------------------

def test_phased_runs_repeat_with_workers() -> None:
    d = one_site(n=4, mtbf=500.0, stock=1, shape=2.0,
                 attrition=[{"system": "K", "site": "S", "losses_per_day": 0.01}],
                 battle_damage=[{"system": "K", "site": "S", "damaged_per_day": 0.02,
                                 "repair_days": 10}])
    sc = scenario_from_dict(d)
    one = simulate(sc, days=300, replications=6, seed=3).to_dict()
    two = simulate(sc, days=300, replications=6, seed=3, workers=2).to_dict()
    assert one == two
    f = one["fleets"][0]
    assert {"delivered", "present_mean", "up_mean", "battle_repair_mean", "lost_mean"} <= set(f)
    assert {"day", "mean", "lo", "hi", "up", "present", "battle_repair", "lost"} == set(
        f["series"][0]
    )
    assert all(math.isfinite(p["present"]) for p in f["series"])


def test_phased_runs_repeat_on_dask() -> None:
    """A Dask LocalCluster gives the same document as one process."""
    distributed = pytest.importorskip("dask.distributed")
    d = one_site(n=3, mtbf=400.0, stock=1, shape=1.5,
                 deliveries=[{"day": 50, "system": "K", "site": "S", "count": 2}],
                 simulation={"cannibalisation": True})
    sc = scenario_from_dict(d)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                 dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        by_dask = simulate(sc, days=200, replications=4, seed=7, dask_address=client)
    assert by_dask.to_dict() == simulate(sc, days=200, replications=4, seed=7).to_dict()
