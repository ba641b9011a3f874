"""The worked example of ``sustain next`` (examples/coalition-next.yaml)."""

from __future__ import annotations

import re

import pytest

import sustain
from sustain.deliver import Measure, choose
from tests.conftest import EXAMPLES

EXAMPLE = EXAMPLES / "coalition-next.yaml"


def test_it_is_the_air_defence_example_with_offers_and_values() -> None:
    base = sustain.load_scenario(EXAMPLES / "coalition-air-defence.yaml")
    sc = sustain.load_scenario(EXAMPLE)
    for key in ("sites", "systems", "fleets", "items", "stock", "deliveries", "tempo",
                "attrition", "battle_damage"):
        assert getattr(sc, key) == getattr(base, key), key
    assert {o.kind for o in sc.offers} == {"systems", "spares", "consumable"}
    assert sc.value_per_system_day("SAMX") > sc.value_per_system_day("IFV")


def test_its_consumables_are_the_munitions_example_with_the_fleets_usage() -> None:
    # The munitions example's section, plus the SAMX batteries' own interceptor (held
    # by the partner only) and what the fleets fire.
    base = sustain.load_scenario(EXAMPLES / "coalition-munitions.yaml").stockpile
    plan = sustain.load_scenario(EXAMPLE).stockpile
    assert base is not None and plan is not None
    for key in ("start_month", "months", "demand", "tempo", "donors", "pledges"):
        assert getattr(plan, key) == getattr(base, key), key
    assert plan.consumables[:2] == base.consumables
    assert [c.id for c in plan.consumables[2:]] == ["SAMX-MSL"]
    assert dict(plan.partner_stock) == dict(base.partner_stock) | {"SAMX-MSL": 80}
    assert {(u.consumable, u.system) for u in plan.usage} == {("SAMX-MSL", "SAMX"),
                                                              ("SHELL155", "HOW155")}


def test_interceptors_for_batteries_that_have_none_beat_spares_for_them() -> None:
    # The partner's 80 SAMX interceptors are all fired within the horizon: spares that
    # bring more batteries up only fire them sooner (no gain), while each interceptor
    # offered is 1/0.2 = 5 battery-days able to fire, worth 50 each.
    sc = sustain.load_scenario(EXAMPLE)
    m = Measure(sc, days=730, step=56)
    ids = [o.id for o in m.offers]
    zero = [0] * len(ids)
    base = m(zero).total

    def gain(offer: str, units: int = 1) -> float:
        qty = list(zero)
        qty[ids.index(offer)] = units
        return m(qty).total - base

    assert abs(gain("TX-EAST-US")) < 1e-6 * base
    assert abs(gain("RXEX-NL")) < 1e-6 * base
    # One a month in 2024: the horizon of 730 days ends a day before 2024 does, so the
    # December one counts 30/31 (to the change of availability within that month).
    assert gain("MSL-DE") == pytest.approx((11 + 30 / 31) * 5 * 50, rel=1e-4)
    assert not m.in_horizon(m.offers[ids.index("INT-US")])  # no fleet here fires AD-INT


def test_every_offer_and_value_figure_is_marked_assumed() -> None:
    text = EXAMPLE.read_text()
    tail = text[text.index("\noffers:"):]
    rows = [line for line in tail.splitlines()
            if re.search(r"\d", line) and not line.lstrip().startswith("#")]
    assert rows
    unmarked = [line for line in rows if "# assumed" not in line]
    assert not unmarked, unmarked


def test_a_short_run_picks_in_order_and_never_the_late_offer() -> None:
    sc = sustain.load_scenario(EXAMPLE)
    plan = choose(Measure(sc, days=120, step=60), budget=3e6)
    assert plan.picks and plan.spent <= 3e6
    ratios = [p.gain_per_cost for p in plan.picks]
    assert ratios == sorted(ratios, reverse=True)
    assert all(p.offer.id != "LATE-ANT" for p in plan.picks)
