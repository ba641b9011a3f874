"""The worked example of ``sustain next`` (examples/coalition-next.yaml)."""

from __future__ import annotations

import re

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
    assert {o.kind for o in sc.offers} == {"systems", "spares"}
    assert sc.value_per_system_day("SAMX") > sc.value_per_system_day("IFV")


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
