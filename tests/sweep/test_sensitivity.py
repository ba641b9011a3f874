"""One-at-a-time sensitivity against scenarios edited by hand, evaluated and optimised
by the plain commands' functions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sustain
from sustain.sweep import Selection, SweepError, parse_factor, sensitivity
from sustain.sweep.factors import check_selection, parse_selection
from tests.sweep.cases import edited, load, small


def _availability(sc: sustain.Scenario) -> np.ndarray:
    return np.asarray(sustain.evaluate(sc).availability)


@pytest.mark.parametrize(
    ("factor", "table", "fields"),
    [("mtbf", "items", ["mtbf_hours"]),
     ("repair_days", "items", ["base_repair_days", "depot_repair_days"]),
     ("order_ship_days", "sites", ["order_ship_days"]),
     ("tempo", "fleets", ["hours_per_day"])],
)
def test_each_end_is_the_evaluation_of_the_scenario_edited_by_hand(
    tmp_path: Path, factor: str, table: str, fields: list[str]
) -> None:
    doc = small()
    sc = load(doc, tmp_path)
    res = sensitivity(sc, [f"{factor}=0.7:1.3"])
    for value, got in ((0.7, res.at_low[0]), (1.3, res.at_high[0])):
        by_hand = doc
        for field in fields:
            by_hand = edited(by_hand, table, field, value)
        want = _availability(load(by_hand, tmp_path, "by-hand.yaml"))
        np.testing.assert_array_equal(got, want)
        assert not np.array_equal(want, res.base)  # the factor did change something
    np.testing.assert_array_equal(res.base, _availability(sc))


def test_a_selection_scales_only_what_it_names(tmp_path: Path) -> None:
    """systems=T: the items installed in T (B, and C which S shares); tempo: T's fleet."""
    doc = small()
    sc = load(doc, tmp_path)
    sel = parse_selection(["systems=T"], sc)
    res = sensitivity(sc, ["mtbf=0.5:1", "tempo=1:1.5"], select=sel)
    mtbf = edited(doc, "items", "mtbf_hours", 0.5, lambda r: r["id"] in ("B", "C"))
    tempo = edited(doc, "fleets", "hours_per_day", 1.5, lambda r: r["system"] == "T")
    np.testing.assert_array_equal(res.at_low[0], _availability(load(mtbf, tmp_path, "m.yaml")))
    np.testing.assert_array_equal(res.at_high[1], _availability(load(tempo, tmp_path, "t.yaml")))
    sites = parse_selection(["sites=B2"], sc)
    res = sensitivity(sc, ["order_ship_days=2:2"], select=sites)
    ship = edited(doc, "sites", "order_ship_days", 2, lambda r: r["id"] == "B2")
    np.testing.assert_array_equal(res.at_low[0], _availability(load(ship, tmp_path, "s.yaml")))


def test_a_factor_of_one_is_the_plain_evaluation_exactly(tmp_path: Path) -> None:
    sc = load(small(), tmp_path)
    res = sensitivity(sc, ["mtbf=1:1", "repair_days=1:2", "order_ship_days=1:1", "tempo=1:1"])
    plain = _availability(sc)
    for n in range(4):
        np.testing.assert_array_equal(res.at_low[n], plain)
    np.testing.assert_array_equal(res.base, plain)
    doc = res.to_dict()
    assert doc["measure"] == "availability"
    assert [f["name"] for f in doc["factors"]] == ["mtbf", "repair_days", "order_ship_days",
                                                   "tempo"]
    row = doc["factors"][0]["fleets"][0]
    assert set(row) == {"system", "site", "base", "at_low", "at_high"}
    assert (row["system"], row["site"]) == ("S", "B1")
    assert row["at_low"] == row["base"] == row["at_high"] == plain[0]


def test_the_cost_is_what_optimize_finds_for_the_scenario_edited_by_hand(
    tmp_path: Path
) -> None:
    doc = small()
    sc = load(doc, tmp_path)
    res = sensitivity(sc, ["mtbf=0.8:1.25"], measure="cost", target=0.9)
    worse = load(edited(doc, "items", "mtbf_hours", 0.8), tmp_path, "w.yaml")
    want = sustain.optimize(worse, target=0.9, refine_seconds=0).purchase_cost
    assert res.at_low[0, 0] == want
    assert res.base[0] == sustain.optimize(sc, target=0.9, refine_seconds=0).purchase_cost
    assert res.at_low[0, 0] > res.base[0] > res.at_high[0, 0]
    out = res.to_dict()
    assert out["target"] == 0.9
    assert out["factors"][0]["cost"] == {"base": res.base[0], "at_low": want,
                                         "at_high": res.at_high[0, 0]}


@settings(max_examples=25, deadline=None)
@given(a=st.floats(0.05, 5.0), b=st.floats(0.05, 5.0),
       which=st.sampled_from([None, "items=A", "items=C", "systems=S"]))
def test_worse_mtbf_never_raises_availability(a: float, b: float, which: str | None) -> None:
    sc = sustain.scenario.scenario_from_dict(small())
    low, high = min(a, b), max(a, b)
    sel = parse_selection([which] if which else [], sc)
    res = sensitivity(sc, [f"mtbf={low}:{high}"], select=sel)
    assert np.all(res.at_low[0] <= res.at_high[0] + 1e-12)


@pytest.mark.parametrize(
    ("text", "message"),
    [("mtbf", "expected NAME=LOW:HIGH"),
     ("mtfb=0.8:1.2", "unknown factor 'mtfb' (did you mean 'mtbf'?)"),
     ("mtbf=0:1", "a multiplier must be a finite number above 0: got 0"),
     ("mtbf=0.8", "expected two multipliers LOW:HIGH"),
     ("mtbf=nan:1", "finite number above 0"),
     ("tempo=2:1", "LOW 2 is above HIGH 1")],
)
def test_bad_factors_get_one_message(text: str, message: str) -> None:
    with pytest.raises(SweepError, match=r"^--vary") as exc:
        parse_factor(text)
    assert message in str(exc.value)


def test_bad_selections_get_one_message() -> None:
    sc = sustain.scenario.scenario_from_dict(small())
    with pytest.raises(SweepError, match="'B3' is not one of the scenario's sites"):
        parse_selection(["sites=B3"], sc)
    with pytest.raises(SweepError, match="expected items=ID"):
        parse_selection(["site=B1"], sc)
    with pytest.raises(SweepError, match="does not apply to factor mtbf"):
        check_selection([parse_factor("mtbf=1:2")], Selection(sites=frozenset({"B1"})))
    with pytest.raises(SweepError, match="leaves nothing to scale"):
        sensitivity(sc, ["mtbf=1:2"], select=parse_selection(["items=A1"], sc))
    with pytest.raises(SweepError, match="given twice"):
        sensitivity(sc, ["mtbf=1:2", "mtbf=0.5:1"])
    with pytest.raises(SweepError, match="needs a target"):
        sensitivity(sc, ["mtbf=1:2"], measure="cost")
