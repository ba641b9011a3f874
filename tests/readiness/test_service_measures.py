"""Fill rate and mean waiting time (readiness/service.py): closed forms, invariants, the
simulator as referee."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sustain.readiness.evaluate import evaluate_arrays
from sustain.readiness.metric import Method
from sustain.scenario import scenario_from_dict
from sustain.scenario.compile import compile_scenario
from sustain.simulate import simulate
from tests.simulate.helpers import ci, single_site


def _poisson_fill_and_ebo(mean: float, s: int) -> tuple[float, float]:
    """P(X ≤ s − 1) and E[(X − s)⁺] for X ~ Poisson(mean), summed term by term."""
    pmf = [math.exp(-mean)]
    for x in range(1, 120):
        pmf.append(pmf[-1] * mean / x)
    fill = math.fsum(pmf[:s])
    ebo = math.fsum((x - s) * p for x, p in enumerate(pmf) if x > s)
    return fill, ebo


def test_single_item_single_site_closed_form() -> None:
    """One item, one site (Palm: pipeline Poisson with mean λ·T): fill rate P(X ≤ s − 1),
    wait EBO/λ; the fleet's and the site's measures are the item's."""
    n, mtbf, repair = 10, 480.0, 12.0
    lam = n * 24.0 / mtbf  # demands per day
    for stock in (0, 1, 3, 7):
        a = single_site(n=n, mtbf_hours=mtbf, repair_days=repair, stock=stock)
        sm = evaluate_arrays(a, method=Method.METRIC).service()
        fill, ebo = _poisson_fill_and_ebo(lam * repair, stock)
        np.testing.assert_allclose(sm.fleet_fill_rate, [fill], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(sm.site_fill_rate, [fill], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(sm.fleet_mean_wait_days, [ebo / lam], rtol=1e-10)
        np.testing.assert_allclose(sm.site_mean_wait_days, [ebo / lam], rtol=1e-10)
        np.testing.assert_allclose(sm.site_demand_per_day, [lam], rtol=1e-12)


TWO = {
    "sites": [{"id": "D"}, {"id": "B", "parent": "D", "order_ship_days": 2}],
    "systems": [{"id": "K"}, {"id": "J"}],
    "fleets": [{"system": "K", "site": "B", "count": 4, "hours_per_day": 12},
               {"system": "J", "site": "B", "count": 2, "hours_per_day": 6},
               {"system": "K", "site": "D", "count": 0, "hours_per_day": 12}],
    "items": [
        {"id": "A", "unit_cost": 10, "mtbf_hours": 500, "depot_repair_days": 20,
         "installed_in": [{"system": "K", "qty": 2}, {"system": "J", "qty": 1}]},
        {"id": "C", "unit_cost": 10, "mtbf_hours": 900, "depot_repair_days": 10,
         "installed_in": [{"system": "K", "qty": 1}]},
    ],
    "stock": [{"item": "A", "site": "B", "qty": 2}, {"item": "C", "site": "B", "qty": 1},
              {"item": "A", "site": "D", "qty": 1}],
}


def test_aggregates_by_hand() -> None:
    """Two fleets share a base: each fleet's measure weights the items by its own
    failures (Z·λ), the site's by every request; the depot's requests are the base's
    resupply orders; a fleet of zero systems has none (NaN)."""
    a = compile_scenario(scenario_from_dict(TWO))
    ev = evaluate_arrays(a, method=Method.VARI_METRIC)
    sm = ev.service()
    i_a, i_c = a.item_ids.index("A"), a.item_ids.index("C")
    b, d = a.site_ids.index("B"), a.site_ids.index("D")
    fill, ebo, m = ev.pipes.fill_rate, ev.pipes.ebo, ev.flows.demand
    lam_a, lam_c = 1 / 500, 1 / 900
    fleets = {(a.system_ids[k], a.site_ids[s]): f for f, (k, s) in enumerate(
        zip(a.fleet_system.tolist(), a.fleet_site.tolist(), strict=True))}
    k_b, j_b, k_d = fleets["K", "B"], fleets["J", "B"], fleets["K", "D"]
    w_a, w_c = 2 * lam_a, 1 * lam_c  # system K: 2 of A, 1 of C
    assert math.isclose(sm.fleet_fill_rate[k_b],
                        (w_a * fill[i_a, b] + w_c * fill[i_c, b]) / (w_a + w_c), rel_tol=1e-12)
    assert math.isclose(sm.fleet_mean_wait_days[k_b],
                        (w_a * ebo[i_a, b] / m[i_a, b] + w_c * ebo[i_c, b] / m[i_c, b])
                        / (w_a + w_c), rel_tol=1e-12)
    assert math.isclose(sm.fleet_fill_rate[j_b], fill[i_a, b], rel_tol=1e-12)  # J: A only
    assert math.isclose(sm.fleet_mean_wait_days[j_b], ebo[i_a, b] / m[i_a, b], rel_tol=1e-12)
    assert np.isnan(sm.fleet_fill_rate[k_d]) and np.isnan(sm.fleet_mean_wait_days[k_d])
    # Demand at B: A from K (4 systems × 2 × 12 h) and J (2 × 1 × 6 h); C from K.
    m_a = (4 * 2 * 12 + 2 * 6) * lam_a
    m_c = 4 * 12 * lam_c
    assert math.isclose(sm.site_demand_per_day[b], m_a + m_c, rel_tol=1e-12)
    assert math.isclose(sm.site_fill_rate[b],
                        (m_a * fill[i_a, b] + m_c * fill[i_c, b]) / (m_a + m_c), rel_tol=1e-12)
    assert math.isclose(sm.site_mean_wait_days[b], (ebo[i_a, b] + ebo[i_c, b]) / (m_a + m_c),
                        rel_tol=1e-12)
    # The depot's requests are B's resupply orders (no repair at B): the same rates.
    assert math.isclose(sm.site_demand_per_day[d], m_a + m_c, rel_tol=1e-12)
    doc = ev.to_dict()
    assert [r["site"] for r in doc["sites"]] == list(a.site_ids)
    assert doc["fleets"][k_d]["fill_rate"] is None


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=4, max_size=4), st.integers(0, 3),
       st.integers(0, 1), st.sampled_from(list(Method)[:2]))
def test_monotone_in_stock(stock: list[int], row: int, col: int, method: Method) -> None:
    """Fill rates lie in [0, 1] and never fall when a unit is added anywhere; mean waits
    never rise (METRIC; VARI-METRIC at the site where the unit is added)."""
    a = compile_scenario(scenario_from_dict(TWO))
    st0 = np.array(stock, dtype=float).reshape(a.n_items, a.n_sites)
    st1 = st0.copy()
    i, s = row % a.n_items, col
    st1[i, s] += 1
    one = evaluate_arrays(a.with_stock(st0), method=method).service()
    two = evaluate_arrays(a.with_stock(st1), method=method).service()
    for x in (one, two):
        for v in (x.fleet_fill_rate, x.site_fill_rate):
            known = v[~np.isnan(v)]
            assert np.all((known >= 0) & (known <= 1))
    sites = slice(None) if method is Method.METRIC else slice(s, s + 1)
    assert np.all(two.site_fill_rate[sites] >= one.site_fill_rate[sites] - 1e-12)
    assert np.all(two.site_mean_wait_days[sites] <= one.site_mean_wait_days[sites] + 1e-12)
    if method is Method.METRIC:
        manned = a.fleet_count > 0
        assert np.all(two.fleet_fill_rate[manned] >= one.fleet_fill_rate[manned] - 1e-12)
        assert np.all(two.fleet_mean_wait_days[manned]
                      <= one.fleet_mean_wait_days[manned] + 1e-12)


def test_simulator_referee_site_measures() -> None:
    """Two items at one site, Palm's theorem exact: the simulated site fill rate
    (Σ demands filled / Σ demands, the demand-weighted mean of the items' simulated fill
    rates) and mean wait (Σ simulated backorders / Σ demand rate, Little's law) inside
    the 99 % CI of the analytic values."""
    n, repair = 2_000, 10.0
    a = single_site(n=n, mtbf_hours=24.0 * n * repair / 1.5, repair_days=repair,
                    stock=2, n_items=2)
    a = a.with_stock(np.array([[2.0], [0.0]]))
    a = type(a)(**{**{f: getattr(a, f) for f in a.__dataclass_fields__ if f != "installations"},
                   "failures_per_hour": np.array([1.5, 0.5]) / (24.0 * n * repair)})
    sm = evaluate_arrays(a, method=Method.METRIC).service()
    res = simulate(a, days=6_000, replications=24, seed=4, warmup_days=50,
                   failures_while_down=True)
    m = np.array([1.5, 0.5]) / repair  # demands per day per item
    fill_reps = (res.fill_rate_reps[:, :, 0] * m).sum(axis=1) / m.sum()
    wait_reps = res.backorders_reps[:, :, 0].sum(axis=1) / m.sum()
    mean, half = ci(fill_reps, 0.99)
    assert abs(mean - sm.site_fill_rate[0]) <= half, (mean, half, sm.site_fill_rate[0])
    mean, half = ci(wait_reps, 0.99)
    assert abs(mean - sm.site_mean_wait_days[0]) <= half, (mean, half, sm.site_mean_wait_days)
