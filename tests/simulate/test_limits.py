"""Bounded time and memory: settings checked, work estimated and refused, streams that
stop when their fleet is gone, delivered spares by the row.

Closed forms as in test_phased.py (Poisson survivors, the Erlang loss formula) at 99 %.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from scipy import stats
from typer.testing import CliRunner

import sustain
from sustain.cli.main import app
from sustain.errors import SustainError
from sustain.scenario import scenario_from_dict
from sustain.scenario.compile import compile_scenario
from sustain.simulate import simulate
from sustain.simulate.model import build_model
from sustain.simulate.phased import build_phased
from tests.simulate.helpers import ci, single_site
from tests.simulate.test_phased import one_site

LEVEL = 0.99


# ---- settings --------------------------------------------------------------------

@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        (dict(replications=99999999999999999999), "replications must be at most 1,000,000"),
        (dict(replications=2.5), "replications must be a whole number >= 1"),
        (dict(replications=True), "replications must be a whole number >= 1"),
        (dict(replications=float("nan")), "replications must be a whole number >= 1"),
        (dict(workers=10_000), "workers must be at most 1,024"),
        (dict(days=float("nan")), "days must be a positive number"),
        (dict(days=float("inf")), "days must be a positive number"),
        (dict(days=1e300), "days must be at most 1,000,000"),
        (dict(days="100"), "days must be a number"),
        (dict(warmup_days=float("nan")), "warmup_days must be >= 0 and less than days"),
        (dict(warmup_days=-1), "warmup_days must be >= 0 and less than days"),
        (dict(max_events=0), "max_events must be a positive number"),
        (dict(max_memory=float("nan")), "max_memory must be a positive number"),
        (dict(repair_channels={"S": 1e30}), r"repair_channels\['S'\] must be at most 1,000,000"),
        (dict(repair_channels={"S": float("nan")}), "must be a whole number >= 1"),
        (dict(stock=np.full((1, 1), 1e30)), "stock: quantities must be at most"),
    ],
)
def test_settings_out_of_range(kw: dict[str, Any], needle: str) -> None:
    """Every setting is checked by the engine itself, with one message naming it."""
    a = single_site(n=2, mtbf_hours=500.0, repair_days=5.0)
    with pytest.raises(SustainError, match=needle):
        simulate(a, **{**dict(days=100, replications=2, seed=1), **kw})


# ---- work estimated first --------------------------------------------------------

def test_runaway_events_refused_naming_the_input() -> None:
    """An item failing a million times a day for 730 days × 200 replications: refused at
    once, the message giving the events asked, the item (its row in the file) and site,
    the days, the replications and the limit."""
    d = one_site(n=10, mtbf=0.024)  # 1,000 failures per system and day
    sc = scenario_from_dict(d)
    with pytest.raises(SustainError) as err:
        simulate(sc, days=730, replications=200, seed=1)
    msg = str(err.value)
    assert msg.startswith("simulate: about 2.9e+09 events asked (items[0] 'X' fails 1e+04 "
                          "times a day at S × 730 days × 200 replications); the limit is "
                          "2e+09 events (max_events)"), msg
    # The same run fits a larger budget; and a small budget refuses a small run.
    short = simulate(sc, days=7, replications=2, seed=1)
    assert short.events > 0
    with pytest.raises(SustainError, match="the limit is 1e\\+04 events"):
        simulate(sc, days=7, replications=2, seed=1, max_events=1e4)


def test_estimate_is_on_the_high_side() -> None:
    """The estimate bounds the events processed, within a small factor (two echelons,
    sub-items, the realistic default), so a budget refuses nothing that fits it."""
    from tests.simulate.test_crosscheck import two_echelon

    a = two_echelon(np.random.default_rng(4), n_items=3, subs=True)
    res = simulate(a, days=2000, replications=4, seed=0)
    with pytest.raises(SustainError, match="events asked"):
        simulate(a, days=2000, replications=4, seed=0, max_events=res.events)
    assert simulate(a, days=2000, replications=4, seed=0,
                    max_events=3 * res.events).events == res.events


def test_memory_refused_naming_the_input() -> None:
    """Ten million systems, or results of a million replications: refused before any
    array is built (the model of ten million systems would itself take gigabytes), the
    message naming what drives it."""
    a = single_site(n=10_000_000, mtbf_hours=1e9, repair_days=5.0)
    with pytest.raises(SustainError, match=r"GiB of memory asked \(10,000,000 systems × 1 "
                       r"installed positions and units\); the limit is 2 GiB \(max_memory\)"):
        simulate(a, days=10, replications=1, seed=1)
    small = single_site(n=2, mtbf_hours=500.0, repair_days=5.0)
    with pytest.raises(SustainError, match=r"\(1,000,000 replications × 1,001 series days × "
                       r"1 fleets\)"):
        simulate(small, days=5000, replications=1_000_000, seed=1)


def test_hand_built_fleet_count_checked() -> None:
    a = single_site(n=2, mtbf_hours=500.0, repair_days=5.0)
    with pytest.raises(SustainError, match="fleet counts must be whole numbers >= 0"):
        simulate(replace(a, fleet_count=np.array([np.nan])), days=10, replications=1, seed=1)


# ---- event streams of an empty fleet ---------------------------------------------

def test_losses_and_damage_of_an_empty_fleet_stop() -> None:
    """A million losses and a million damaged systems a day: the fleet is gone at once
    and the run ends with a few events instead of 1.2e8."""
    d = one_site(n=10, attrition=[{"system": "K", "site": "S", "losses_per_day": 1e6}],
                 battle_damage=[{"system": "K", "site": "S", "damaged_per_day": 1e6,
                                 "repair_days": 10}])
    res = simulate(scenario_from_dict(d), days=60, replications=2, seed=1, max_events=1e12)
    assert res.events < 100
    doc = res.to_dict()["fleets"][0]
    assert doc["lost_mean"] == 10


def test_losses_restart_with_a_delivery() -> None:
    """Losses at r a day empty 5 systems; 5 more delivered on day 100 face the same
    Poisson process again: present at day t > 100 is E max(5 − K, 0), K ~ Poisson(r (t −
    100)) (the stream stopped while the fleet was empty, restarted at the delivery)."""
    r = 0.05
    d = one_site(n=5, attrition=[{"system": "K", "site": "S", "day": 10, "count": 5},
                                 {"system": "K", "site": "S", "losses_per_day": r}],
                 deliveries=[{"day": 100, "system": "K", "site": "S", "count": 5}])
    res = simulate(scenario_from_dict(d), days=200, replications=400, seed=4)
    assert res.phased is not None
    k = np.arange(6)
    for t in (50, 130, 180):
        exact = 0.0 if t < 100 else float(stats.poisson.pmf(k, r * (t - 100)) @ (5 - k))
        m, h = ci(res.phased.series_present[:, t, 0], LEVEL)
        assert abs(m - exact) <= max(h, 1e-12), (t, m, h, exact)


@pytest.mark.parametrize("delays", ["deterministic", "exponential"])
def test_battle_damage_when_every_system_is_hit(delays: str) -> None:
    """Two systems, offered load a = 4: both are in repair 62 % of the time (the damage
    stream waits then, and starts afresh when one is back).  The Erlang loss system
    still holds: availability 1 − a (1 − B(2, a)) / 2, B(2, 4) = 8/13."""
    n, dmg, repair = 2, 0.4, 10.0
    d = one_site(n=n, battle_damage=[{"system": "K", "site": "S", "damaged_per_day": dmg,
                                      "repair_days": repair}])
    res = simulate(scenario_from_dict(d), days=4_000, replications=24, seed=5,
                   warmup_days=100, delays=delays)
    a = dmg * repair
    b = (a * a / 2) / (1 + a + a * a / 2)
    m, h = ci(res.availability[:, 0], LEVEL)
    assert abs(m - (1.0 - a * (1.0 - b) / n)) <= h, (m, h)


# ---- deliveries: by the row, not by the unit --------------------------------------

def test_delivery_after_the_last_day_numbers_no_systems() -> None:
    """A million systems delivered after the run: no system is numbered for them (the
    run's arrays are those of the day-0 fleet), and they are not counted as delivered;
    a delivery on the last day is."""
    d = one_site(n=3, mtbf=500.0,
                 deliveries=[{"day": 400, "system": "K", "site": "S", "count": 1_000_000}])
    sc = scenario_from_dict(d)
    a = compile_scenario(sc)
    m = build_model(a, a.stock)
    p = build_phased(sc, a, m.fleet_qty, m.sys_fleet, m.sys_site, cannibalisation=False,
                     days=300)
    assert len(p.sys_fleet) == 3
    doc = simulate(sc, days=300, replications=2, seed=1).to_dict()["fleets"][0]
    assert doc["delivered"] == 0 and doc["present_mean"] == pytest.approx(3)
    doc = simulate(sc, days=400, replications=2, seed=1).to_dict()["fleets"][0]
    assert doc["delivered"] == 1_000_000


def test_a_billion_delivered_spares_fill_the_waiting_system() -> None:
    """A billion spares delivered on day 50 (the loop moves them by the row): the
    system waiting since day ~10 is up from day 50, as with one spare."""
    d = one_site(n=1, mtbf=240.0, repair=3650, shape=50)
    d["deliveries"] = [{"day": 50, "system": "K", "site": "S", "count": 0,
                        "stock": [{"item": "X", "qty": 1_000_000_000}]}]
    one = copy.deepcopy(d)
    one["deliveries"][0]["stock"][0]["qty"] = 1
    res = simulate(scenario_from_dict(d), days=58, replications=3, seed=2)
    ref = simulate(scenario_from_dict(one), days=58, replications=3, seed=2)
    assert res.phased is not None and ref.phased is not None
    up = res.phased.series_up[:, :, 0]
    assert np.all(up[:, 20] == 0) and np.all(up[:, 55] == 1)
    np.testing.assert_array_equal(up, ref.phased.series_up[:, :, 0])


def test_public_verb_takes_the_limits() -> None:
    """``sustain.simulate`` (the cross-check layer) passes the limits through."""
    a = single_site(n=2, mtbf_hours=500.0, repair_days=5.0)
    with pytest.raises(SustainError, match="max_events"):
        sustain.simulate(a, days=1000, replications=2, seed=1, max_events=10)


@pytest.mark.parametrize("where", ["B", "D"])
def test_delivered_spares_fill_hundreds_of_backorders_at_once(where: str) -> None:
    """100 systems with 5 units each (lives ~10 days, shape 50; no repair in time), so
    500 backorders wait at the base (and 500 orders at the depot) when a delivery of
    spares at the base (or the depot, 2 days' shipping) fills them all in one event,
    far beyond the loop's room for one ordinary event: every system is up again."""
    d = {
        "sites": [{"id": "D"}, {"id": "B", "parent": "D", "order_ship_days": 2}],
        "systems": [{"id": "K"}],
        "fleets": [{"system": "K", "site": "B", "count": 100, "hours_per_day": 24}],
        "items": [{"id": "X", "mtbf_hours": 240, "weibull_shape": 50,
                   "installed_in": [{"system": "K", "qty": 5}], "depot_repair_days": 1e3}],
        "deliveries": [{"day": 50, "system": "K", "site": where, "count": 0,
                        "stock": [{"item": "X", "qty": 1_000_000}]}],
    }
    res = simulate(scenario_from_dict(d), days=56, replications=2, seed=3,
                   failures_while_down=True)
    assert res.phased is not None
    up = res.phased.series_up[:, :, 0]
    assert np.all(up[:, 45] == 0) and np.all(up[:, 55] == 100), up[:, 44:]


# ---- honest outputs ----------------------------------------------------------------

def _strict_json(doc: dict[str, Any]) -> dict[str, Any]:
    """The document through JSON with NaN and infinities refused (as JSON.parse would)."""
    return json.loads(json.dumps(doc, allow_nan=False))


@pytest.mark.parametrize("attrition", [
    {"system": "K", "site": "S", "day": 0, "count": 3},
    {"system": "K", "site": "S", "losses_per_day": 1e6},
])
def test_fleet_destroyed_on_day_zero_has_no_availability(attrition: dict[str, Any]) -> None:
    """Three systems lost on day 0 (given, or at a million a day, within seconds): no
    system-day present, so no availability (null, and its interval), not "fully
    available"; the fleet's levels are still reported, and nothing is NaN."""
    d = one_site(n=3, mtbf=500.0, attrition=[attrition])
    d["systems"].append({"id": "L"})
    d["fleets"].append({"system": "L", "site": "S", "count": 2, "hours_per_day": 10})
    sc = scenario_from_dict(d)
    res = sustain.simulate(sc, days=100, replications=3, seed=1, compare=True)
    doc = _strict_json(res.to_dict())
    gone, other = doc["fleets"]
    assert (gone["availability"], gone["availability_ci95"]) == (None, None)
    assert gone["lost_mean"] == 3 and gone["present_mean"] < 1e-6
    assert [p["mean"] for p in gone["series"][1:]] == [None] * 100
    assert other["availability"] is not None
    for method in ("vari-metric", "metric"):
        row = doc["analytic"][method]["fleets"][0]
        assert (row["difference"], row["inside_ci95"]) == (None, None)
        assert row["availability"] is not None  # the day-0 fleet, analytically


def test_cli_table_with_a_fleet_never_present(tmp_path: Path) -> None:
    """The console table shows n/a for a fleet with no availability (time-phased)."""
    d = one_site(n=3, mtbf=500.0, attrition=[{"system": "K", "site": "S", "day": 0,
                                              "count": 3}])
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(d))
    r = CliRunner().invoke(app, ["simulate", str(path), "--days", "30", "--reps", "2"])
    assert r.exit_code == 0, r.output
    assert "n/a" in r.stdout


def test_availability_ci_of_two_replications_stays_a_share() -> None:
    """With two replications the t interval's half-width is 12.7 standard errors, so
    the raw interval reaches past [0, 1] whenever the two runs differ; the reported
    interval is cut to [0, 1] (as the series' bands are) and still holds the mean."""
    a = single_site(n=2, mtbf_hours=200.0, repair_days=5.0)
    res = simulate(a, days=20, replications=2, seed=3)
    reps = res.availability[:, 0]
    # The raw interval, mean ± t(0.975, 1) · |x1 − x2| / 2, reaches below 0 or above 1.
    half = stats.t.ppf(0.975, 1) * abs(reps[0] - reps[1]) / 2
    assert reps.mean() - half < 0.0 or reps.mean() + half > 1.0
    fleet = res.to_dict()["fleets"][0]
    lo, hi = fleet["availability_ci95"]
    assert 0.0 <= lo <= fleet["availability"] <= hi <= 1.0


def test_replications_of_an_idle_scenario_count_against_the_budget() -> None:
    """Each replication costs about a millisecond even when nothing fails, so a
    million replications of 30 days of two systems failing every 1,000 hours (24 h a
    day: 2 · 24 / 1000 · 30 = 1.44 failures, each with its repair: 2.9 events) took
    about twenty minutes under a budget that counted events only.  Each replication
    now counts 2,000 events besides: 2,002.9 · 10⁶ > 2·10⁹, refused at once."""
    a = single_site(n=2, mtbf_hours=1000.0, repair_days=5.0)
    with pytest.raises(SustainError) as err:
        simulate(a, days=30, replications=1_000_000, seed=1)
    assert str(err.value).startswith(
        "simulate: about 2e+09 events asked (1,000,000 replications, each counted as "
        "2,000 events for its own work besides about 2.9 events in 30 days); the limit "
        "is 2e+09 events (max_events): lower the replications (--reps)"), str(err.value)
    # A run of ordinary size is untouched.
    assert simulate(a, days=30, replications=50, seed=1).replications == 50


def test_cannibalisation_counts_its_donor_search() -> None:
    """Found by fuzzing: with cannibalisation each failure searches the site's systems
    for a donor, so 36,501 systems delivered on day 20 took 22 s a replication within a
    budget that counted only events. The search is counted (0.1 event per system
    scanned): about 580 failures a day on average (systems present × 24 h / 1,200 h)
    × 36,509 systems × 0.1 × 100 days ≈ 2.1e8 per replication."""
    d = one_site(n=6, mtbf=1_200.0, deliveries=[
        {"day": 20, "system": "K", "site": "S", "count": 36_501}])
    sc = scenario_from_dict(d)
    with pytest.raises(SustainError, match=r"cannibalisation at S: each of .* failures a day "
                                           r"searches its 36,509 systems for a donor"):
        simulate(sc, days=100, replications=1, seed=1, cannibalisation=True, max_events=1e8)
    # Without cannibalisation the same run asks for events only, well within 1e8.
    from sustain.scenario.timeline import with_delivered_fleets
    from sustain.simulate.budget import events_asked

    a = compile_scenario(with_delivered_fleets(sc))
    m = build_model(a, a.stock)
    for cannibal, low, high in ((False, 1e5, 1e7), (True, 2e8, 4e8)):
        p = build_phased(sc, a, m.fleet_qty, m.sys_fleet, m.sys_site,
                         cannibalisation=cannibal, days=100)
        assert low < events_asked(m, p, a, sc, 100).amount < high
