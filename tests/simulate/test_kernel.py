"""The compiled loop where its arrays must grow, and the growth routines.

Both modes of the loop (steady-state and time-phased) start with room for the systems'
clocks plus a few events' worth of events, queue nodes and repair jobs
(``sustain.simulate.kernel_loop._loop``) and grow them between calls of ``_run``;
these runs keep hundreds of each in flight.  Closed forms as in
test_closed_forms.py, at 99 %.
"""

from __future__ import annotations

import numpy as np

from sustain.scenario import scenario_from_dict
from sustain.scenario.compile import ScenarioArrays
from sustain.simulate import simulate
from sustain.simulate.kernel import kernel_arrays
from sustain.simulate.kernel_loop import _grow_heap, _grow_jobs, _grow_pool
from sustain.simulate.model import build_model
from tests.simulate.helpers import ci, machine_repair, single_site

LEVEL = 0.99


def test_many_repairs_and_backorders_in_flight() -> None:
    """300 systems, λR = 2: about 200 units in repair and 200 systems waiting at once
    (the loop starts with room for 378 events and 78 queue nodes).  Availability and
    units in repair follow the finite-source ample-server law."""
    n, lam, repair = 300, 0.1, 20.0
    a = single_site(n=n, mtbf_hours=24.0 / lam, repair_days=repair)
    assert kernel_arrays(build_model(a, a.stock)).burst == 7
    res = simulate(a, days=3_000, replications=16, seed=8, warmup_days=300)
    p = machine_repair(n, lam, 1.0 / repair, 0)
    k = np.arange(p.size)
    m, h = ci(res.availability[:, 0], LEVEL)
    assert abs(m - (1.0 - float(p @ k) / n)) <= h, (m, h)
    m, h = ci(res.in_repair[:, 0], LEVEL)
    assert abs(m - float(p @ k)) <= h, (m, h)
    assert float(p @ k) > 2 * 78  # the premise: the queues did grow


def test_many_repairs_in_flight_time_phased() -> None:
    """The same 300-system case through the time-phased loop (a tempo row of factor 1
    forces it; exponential lives): the same finite-source law."""
    n, lam, repair = 300, 0.1, 20.0
    sc = scenario_from_dict({
        "sites": [{"id": "S"}], "systems": [{"id": "K"}],
        "fleets": [{"system": "K", "site": "S", "count": n, "hours_per_day": 24}],
        "items": [{"id": "X", "mtbf_hours": 24.0 / lam, "installed_in": [{"system": "K"}],
                   "depot_repair_days": repair}],
        "tempo": [{"from_day": 0, "to_day": 5_000, "factor": 1.0}],
    })
    res = simulate(sc, days=3_000, replications=16, seed=8, warmup_days=300)
    assert res.phased is not None
    p = machine_repair(n, lam, 1.0 / repair, 0)
    k = np.arange(p.size)
    m, h = ci(res.availability[:, 0], LEVEL)
    assert abs(m - (1.0 - float(p @ k) / n)) <= h, (m, h)
    m, h = ci(res.in_repair[:, 0], LEVEL)
    assert abs(m - float(p @ k)) <= h, (m, h)


def _parent_and_sub(n: int, lam: float) -> ScenarioArrays:
    """One site; item P (10 d repair) whose every repair replaces sub-item U (5 d
    repair, no spares); one P per system, one spare P."""
    return ScenarioArrays(
        site_ids=("S",), item_ids=("P", "U"), system_ids=("K",),
        site_parent=np.array([-1]), site_depth=np.array([0]), order_ship_days=np.zeros(1),
        item_parent=np.array([-1, 0]), item_level=np.array([0, 1]),
        failures_per_hour=np.array([lam / 24.0, 0.0]), qty_per_system=np.array([[1.0], [0.0]]),
        replace_fraction=np.array([0.0, 1.0]), base_repair_fraction=np.zeros(2),
        base_repair_days=np.zeros(2), depot_repair_days=np.array([10.0, 5.0]),
        condemnation_fraction=np.zeros(2), procurement_days=np.zeros(2),
        unit_cost=np.ones(2), fleet_system=np.array([0]), fleet_site=np.array([0]),
        fleet_count=np.array([float(n)]), fleet_hours_per_day=np.array([24.0]),
        stock=np.array([[1.0], [0.0]]),
    )


def test_many_repair_jobs_waiting_for_sub_items() -> None:
    """300 systems: every P repair first waits 5 d for its sub-item, so P's repairs
    take 15 d (ample servers: the finite-source law with 15 d) and about 75 jobs wait
    at once (the loop starts with 36 job slots).  Repair jobs at the site count from
    the start of their repair time (a job waiting for sub-items is not yet in
    repair), so their mean is the P failure rate (λ · systems up) times 10 d for P
    plus 5 d for U (Little's law)."""
    n, lam = 300, 0.2
    a = _parent_and_sub(n, lam)
    assert kernel_arrays(build_model(a, a.stock)).burst == 10
    res = simulate(a, days=2_000, replications=16, seed=4, warmup_days=200)
    p = machine_repair(n, lam, 1.0 / 15.0, 1)
    k = np.arange(p.size)
    up = n - float(p @ np.maximum(k - 1, 0))
    m, h = ci(res.availability[:, 0], LEVEL)
    assert abs(m - up / n) <= h, (m, h, up / n)
    m, h = ci(res.in_repair[:, 0], LEVEL)
    exact = lam * up * (10.0 + 5.0)
    assert abs(m - exact) <= h, (m, h, exact)
    assert lam * up * 5.0 > 36  # the premise: the job slots did grow


def test_growth_routines_keep_contents_and_link_every_new_slot() -> None:
    """Grown arrays keep their contents; every new node or job slot is on the free list
    exactly once, ahead of the slots that were already free."""
    cnt = np.zeros(10, dtype=np.int64)
    cnt[2] = -1  # empty free lists
    cnt[4] = -1
    nxt, val, dval = _grow_pool(
        (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0)), cnt, 5
    )
    assert (cnt[2], cnt[3]) == (0, 5)
    val[:] = np.arange(5)
    first = cnt[2]
    cnt[2], cnt[3] = nxt[first], cnt[3] - 1  # take one node
    nxt2, val2, _ = _grow_pool((nxt, val, dval), cnt, 3)
    assert np.array_equal(val2[:5], np.arange(5))
    free, x = [], cnt[2]
    while x != -1:
        free.append(int(x))
        x = nxt2[x]
    assert len(free) == cnt[3] == nxt2.size - 1
    assert sorted(free) == [v for v in range(nxt2.size) if v != first]
    jobs = _grow_jobs((np.empty(0, dtype=np.int64), np.empty(0), np.empty(0, dtype=np.int64),
                       np.empty(0, dtype=np.int64)), cnt, 4)
    assert (cnt[4], cnt[5]) == (0, 4) and jobs[3][3] == -1
    ht, hs, hc = _grow_heap((np.array([1.0, 2.0]), np.array([1, 2]), np.array([7, 8])), 5)
    assert ht.size >= 5 and list(ht[:2]) == [1.0, 2.0] and list(hc[:2]) == [7, 8]
    assert list(hs[:2]) == [1, 2]
