"""Repair-shop load worked by hand: arrivals λ, offered load λ·T and utilisation λ·T/c.

Each number below is written down from the scenario (rates × fractions × days), not
read back from the code.
"""

from __future__ import annotations

from math import factorial
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sustain import evaluate
from sustain.readiness.shops import OVERLOAD_UTILISATION, peak_load, repair_shops
from sustain.scenario import scenario_from_dict
from sustain.scenario.compile import compile_scenario

#: 20 systems × 10 hours a day / 100 hours MTBF = 2 failures a day.
FAILURES_PER_DAY = 2.0


def two_sites(**extra: Any) -> dict[str, Any]:
    """A depot D over a base B; an LRU (25 % repaired at B in 4 days, the rest at D in
    7 days, 20 % of D's arrivals condemned) and its SRU (in half of the LRU's repairs;
    half of them repaired where they arise in 2 days, the rest at D in 3 days)."""
    doc: dict[str, Any] = {
        "sites": [{"id": "D", "repair_channels": 3},
                  {"id": "B", "parent": "D", "order_ship_days": 2, "repair_channels": 2}],
        "systems": [{"id": "S"}],
        "fleets": [{"system": "S", "site": "B", "count": 20, "hours_per_day": 10}],
        "items": [
            {"id": "LRU", "mtbf_hours": 100, "installed_in": [{"system": "S", "qty": 1}],
             "base_repair_fraction": 0.25, "base_repair_days": 4, "depot_repair_days": 7,
             "condemnation_fraction": 0.2, "procurement_days": 30},
            {"id": "SRU", "parent": "LRU", "replace_fraction": 0.5,
             "base_repair_fraction": 0.5, "base_repair_days": 2, "depot_repair_days": 3},
        ],
    }
    doc.update(extra)
    return doc


def test_two_echelons_with_a_sub_item_by_hand() -> None:
    """B: LRU 2 × 0.25 = 0.5 a day × 4 days; SRU 0.5 × 0.5 = 0.25 a day arising, half
    repaired there × 2 days.  D: LRU 1.5 a day × 0.8 kept = 1.2 × 7 days; SRU
    1.2 × 0.5 = 0.6 from D's repairs + 0.125 sent up from B, × 3 days."""
    ev = evaluate(scenario_from_dict(two_sites()))
    shops = ev.repair_shops
    assert shops is not None
    assert shops.site_ids == ("D", "B")
    assert shops.channels.tolist() == [3, 2]
    lam_b = 2 * 0.25 + 0.25 * 0.5
    load_b = 2 * 0.25 * 4 + 0.25 * 0.5 * 2
    lam_d = 1.5 * 0.8 + (0.6 + 0.125)
    load_d = 1.5 * 0.8 * 7 + (0.6 + 0.125) * 3
    assert_allclose(shops.arrivals_per_day, [lam_d, lam_b], rtol=1e-12)
    assert_allclose(shops.offered_load, [load_d, load_b], rtol=1e-12)
    assert_allclose(shops.utilisation, [load_d / 3, load_b / 2], rtol=1e-12)
    assert shops.overloaded.tolist() == [0, 1]  # 3.5 and 1.125
    rows = ev.to_dict()["repair_shops"]
    assert [r["site"] for r in rows] == ["D", "B"]
    assert rows[0]["fleets"] == [{"system": "S", "site": "B"}]  # the base's fleet reaches D
    assert all(np.isfinite(r[k]) for r in rows
               for k in ("arrivals_per_day", "offered_load", "utilisation"))


@pytest.mark.parametrize(("channels", "overloaded"), [(10, True), (11, False), (1, True)])
def test_one_site_mdc_threshold(channels: int, overloaded: bool) -> None:
    """M/D/c at one root: λ = 2 a day, T = 4.5 days, a = 9 channels' worth of work;
    ρ = 9 / c: 0.9 at c = 10 (reported), 0.82 at c = 11 (not), 9 at c = 1."""
    doc = two_sites()
    doc["sites"] = [{"id": "D", "repair_channels": channels}]
    doc["fleets"][0]["site"] = "D"
    doc["items"] = [{"id": "X", "mtbf_hours": 100, "installed_in": [{"system": "S"}],
                     "depot_repair_days": 4.5}]
    shops = evaluate(scenario_from_dict(doc)).repair_shops
    assert shops is not None
    assert_allclose(shops.offered_load, [FAILURES_PER_DAY * 4.5], rtol=1e-12)
    assert_allclose(shops.utilisation, [9.0 / channels], rtol=1e-12)
    assert (shops.overloaded.size == 1) is overloaded
    assert (9.0 / channels >= OVERLOAD_UTILISATION) is overloaded


def test_no_channels_no_shops() -> None:
    doc = two_sites()
    for s in doc["sites"]:
        del s["repair_channels"]
    ev = evaluate(scenario_from_dict(doc))
    assert ev.repair_shops is None
    assert "repair_shops" not in ev.to_dict()


def test_peak_follows_deliveries_and_tempo() -> None:
    """10 more systems on day 50 (×1.5 load), tempo ×2 at B on days [100, 200): the peak
    is 3 × the day-0 load, from day 100; a window after the horizon is not seen."""
    sc = scenario_from_dict(two_sites(
        deliveries=[{"day": 50, "system": "S", "site": "B", "count": 10}],
        tempo=[{"from_day": 100, "to_day": 200, "factor": 2, "site": "B"},
               {"from_day": 400, "to_day": 500, "factor": 5}],
    ))
    a = compile_scenario(sc)
    shops = repair_shops(a, {"D": 3, "B": 2})
    peak = peak_load(sc, a, shops, days=365)
    assert_allclose(peak.offered_load, 3 * shops.offered_load, rtol=1e-12)
    assert peak.day.tolist() == [100.0, 100.0]
    early = peak_load(sc, a, shops, days=80)
    assert_allclose(early.offered_load, 1.5 * shops.offered_load, rtol=1e-12)
    assert early.day.tolist() == [50.0, 50.0]


def test_the_threshold_note_holds_for_mmc() -> None:
    """The note at OVERLOAD_UTILISATION: M/M/c with c ≤ 10 at ρ = 0.9 has 67 to 90 % of
    repairs waiting and a mean queue of 6 to 8 jobs (Erlang C, computed here)."""
    rho = OVERLOAD_UTILISATION
    for c in range(1, 11):
        a = rho * c
        tail = a**c / factorial(c) / (1 - rho)
        wait = tail / (sum(a**k / factorial(k) for k in range(c)) + tail)
        assert 0.66 <= wait <= 0.9 + 1e-12
        assert 6 <= wait * rho / (1 - rho) <= 8.1 + 1e-9
