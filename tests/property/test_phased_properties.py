"""Invariants of the time-phased simulator on random small scenarios (Hypothesis).

Conservation per replication and sample day: systems present = day-0 count +
delivered by that day − lost by that day; 0 <= up + in battle-damage repair <= present;
availability in [0, 1].
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sustain.scenario import scenario_from_dict
from sustain.simulate import simulate
from tests.strategies import scenarios

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
DAYS = 120


@st.composite
def timelines(draw: st.DrawFn) -> dict[str, Any]:
    """A random scenario plus random time-phased keys on its fleets."""
    doc = draw(scenarios(max_items=3))
    fleets = [(f["system"], f["site"]) for f in doc["fleets"]]
    items = [i["id"] for i in doc["items"]]
    pick = st.sampled_from(fleets)
    doc["deliveries"] = [
        {"day": draw(st.floats(0, DAYS + 20)), "system": s, "site": b,
         "count": draw(st.integers(0, 3)),
         "stock": [{"item": draw(st.sampled_from(items)), "qty": draw(st.integers(0, 2))}]}
        for s, b in draw(st.lists(pick, max_size=3))
    ]
    doc["tempo"] = [
        {"from_day": (f0 := draw(st.floats(0, DAYS))), "to_day": f0 + draw(st.floats(1, 60)),
         "factor": draw(st.floats(0, 3)), "system": s}
        for s, _ in draw(st.lists(pick, max_size=2))
    ] + [{"from_day": 0, "to_day": 1, "factor": 1.0}]  # at least one key: the phased kernel
    doc["attrition"] = [
        {"system": s, "site": b, "losses_per_day": draw(st.floats(0, 0.05))}
        for s, b in draw(st.lists(pick, max_size=2, unique=True))
    ] + [
        {"system": s, "site": b, "day": draw(st.floats(0, DAYS)),
         "count": draw(st.integers(0, 3))}
        for s, b in draw(st.lists(pick, max_size=2))
    ]
    doc["battle_damage"] = [
        {"system": s, "site": b, "damaged_per_day": draw(st.floats(0, 0.1)),
         "repair_days": draw(st.floats(1, 30))}
        for s, b in draw(st.lists(pick, max_size=2, unique=True))
    ]
    for it in doc["items"]:
        if "installed_in" in it and draw(st.booleans()):
            it["weibull_shape"] = draw(st.floats(0.5, 4))
    doc["simulation"] = {"cannibalisation": draw(st.booleans())}
    return doc


@SETTINGS
@given(timelines(), st.booleans(), st.integers(0, 2**16))
def test_fleet_levels_are_conserved(doc: dict[str, Any], fwd: bool, seed: int) -> None:
    sc = scenario_from_dict(doc)
    res = simulate(sc, days=DAYS, replications=2, seed=seed, failures_while_down=fwd)
    ph = res.phased
    assert ph is not None
    a = res.arrays
    fleet_of = {
        (a.system_ids[k], a.site_ids[s]): f
        for f, (k, s) in enumerate(zip(a.fleet_system, a.fleet_site, strict=True))
    }
    delivered = np.zeros((res.series_days.size, a.fleet_system.size))
    for d in sc.deliveries:
        delivered[res.series_days >= d.day, fleet_of[(d.system, d.site)]] += d.count
    start = a.fleet_count[None, :]
    for r in range(2):
        np.testing.assert_array_equal(
            ph.series_present[r], start + delivered - ph.series_lost[r]
        )
        assert np.all(ph.series_up[r] + ph.series_damaged[r] <= ph.series_present[r])
        assert np.all(ph.series_up[r] >= 0)
    av = res.availability[~np.isnan(res.availability)]
    assert np.all((av >= 0) & (av <= 1 + 1e-12))
