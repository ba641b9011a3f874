"""The engine on extreme inputs: tiny and huge rates, zero demand, huge fleets and stocks.

pytest turns every warning into an error, so these also check that no overflow,
underflow or division warning escapes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import stats

from sustain import evaluate
from sustain.scenario import scenario_from_dict


def one_site(count: int, mtbf: float, stock: int, days: float = 10.0) -> dict[str, Any]:
    return {
        "sites": [{"id": "D"}],
        "systems": [{"id": "S"}, {"id": "IDLE"}],
        "fleets": [
            {"system": "S", "site": "D", "count": count, "hours_per_day": 24},
            {"system": "IDLE", "site": "D", "count": 0, "hours_per_day": 24},
        ],
        "items": [
            {"id": "X", "mtbf_hours": mtbf, "installed_in": [{"system": "S"}],
             "depot_repair_days": days},
            {"id": "Z", "mtbf_hours": 100, "installed_in": [{"system": "IDLE"}],
             "depot_repair_days": days},
        ],
        "stock": [{"item": "X", "site": "D", "qty": stock}] if stock else [],
    }


def poisson_ebo(mean: float, s: int) -> float:
    """E[(X − s)⁺] = Σ_{x>s} (x − s) p(x), summed term by term (no cancellation)."""
    x = np.arange(s + 1, int(s + mean + 60 * np.sqrt(mean) + 200))
    return float(np.sum((x - s) * np.exp(stats.poisson.logpmf(x, mean))))


@pytest.mark.parametrize(
    ("count", "mtbf", "stock"),
    [
        (1, 1e9, 0),  # mean 2.4e-7 (the longest MTBF accepted)
        (1, 1e9, 1),
        (1, 240.0, 0),  # mean 1
        (1, 240.0, 3),
        (100_000, 2.4e3, 10_000),  # mean 1e4, stock 1e4
        (100_000, 2.4e3, 9_000),
        (1_000_000, 24e3, 12_000),  # huge fleet, mean 1e4
    ],
)
def test_single_site_matches_closed_form(count: int, mtbf: float, stock: int) -> None:
    ev = evaluate(scenario_from_dict(one_site(count, mtbf, stock)), method="metric")
    mean = count * 24 / mtbf * 10
    assert ev.pipes.mean[0, 0] == pytest.approx(mean, rel=1e-12)
    assert ev.pipes.ebo[0, 0] == pytest.approx(poisson_ebo(mean, stock), rel=1e-6, abs=1e-300)
    f = int(np.flatnonzero(ev.arrays.fleet_count > 0)[0])
    for arr in (ev.pipes.ebo, ev.pipes.vbo, ev.pipes.fill_rate, ev.availability[f : f + 1]):
        assert np.all(np.isfinite(arr))
    assert 0 <= ev.availability[f] <= 1


def test_zero_demand_item() -> None:
    ev = evaluate(scenario_from_dict(one_site(2, 500.0, 1)))
    z = ev.arrays.item_ids.index("Z")
    assert ev.pipes.ebo[z, 0] == 0 and ev.pipes.vbo[z, 0] == 0
    assert ev.pipes.fill_rate[z, 0] == 1
    # The idle fleet has no systems: its availability is undefined and reported as null.
    idle = ev.arrays.system_ids.index("IDLE")
    f = int(np.flatnonzero(ev.arrays.fleet_system == idle)[0])
    assert np.isnan(ev.availability[f])
    assert ev.fleets_dict()[f]["availability"] is None
