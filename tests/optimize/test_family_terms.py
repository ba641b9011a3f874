"""The optimiser's fleet terms are the readiness engine's product formula.

``readiness.metric.position_shortfall`` is the one definition of a fleet's share of an
item's backorders per installed position; the optimiser's terms ``Z log(1 − x)`` summed
over a fleet's top-level items must give ``fleet_availability`` of an independent
evaluation, on scenarios with shared items, several bases and sub-items.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import numpy as np
import pytest
from benchmarks.evaluate import build
from hypothesis import given, settings
from hypothesis import strategies as st

from sustain.optimize import family
from sustain.optimize.decompose import scale_goal
from sustain.optimize.family import (
    Family,
    FamilyTerms,
    _whole,
    families_of,
    fleet_terms,
    log_factor,
    serving_families,
    whole_sum,
)
from sustain.readiness.evaluate import evaluate_arrays
from sustain.scenario import scenario_from_dict
from sustain.scenario.compile import compile_scenario
from tests.optimize.test_targets import two_bases


@pytest.mark.parametrize("method", ["metric", "vari-metric"])
def test_family_terms_sum_to_the_engines_fleet_availability(method: str) -> None:
    a = compile_scenario(scenario_from_dict(two_bases()))
    rng = np.random.default_rng(4)
    for _ in range(5):
        stock = rng.integers(0, 3, a.stock.shape).astype(float)
        ev = evaluate_arrays(a.with_stock(stock), method=method)
        fleets = np.arange(a.fleet_system.size)
        log_a = np.zeros(fleets.size)
        for fam in families_of(a):
            rows = np.array([fam.top])
            log_a += fleet_terms(a, ev.flows, ev.pipes.ebo, rows, np.arange(a.n_items), fleets)[0]
        np.testing.assert_allclose(np.exp(log_a), ev.availability, rtol=1e-12)


def test_log_factor_is_log1p_inside_and_linear_past_the_edge() -> None:
    x = np.array([0.0, 0.25, 0.5, 1 - 1e-6])
    np.testing.assert_allclose(log_factor(x), np.log1p(-x), rtol=1e-15)
    edge = 1 - 1e-9
    past = np.array([1.0, 1.5, 3.0])
    slope = -1 / 1e-9
    np.testing.assert_allclose(log_factor(past), np.log1p(-edge) + slope * (past - edge),
                               rtol=1e-12)
    assert np.all(np.diff(log_factor(np.linspace(0, 3, 50))) < 0)  # decreasing throughout


@pytest.mark.parametrize("at_once", [512, 3])
def test_fleet_sums_are_fsum_of_the_current_terms_after_changes(
    at_once: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each fleet's sum, kept exactly and updated by the terms that change, is the
    correctly rounded sum of the current terms (``math.fsum``), bit for bit, through
    terms of very different sizes, repeated changes and a term set back; with few
    changes between sums (updated one by one) and with many (written at once)."""
    monkeypatch.setattr(family, "FLUSH_AT_ONCE", at_once)
    rng = np.random.default_rng(11)
    n_fleets = 4
    fams = [Family(top=n, rows=np.array([n]),
                   fleets=np.flatnonzero(rng.random(n_fleets) < 0.7)) for n in range(60)]
    terms = FamilyTerms(fams, n_fleets)

    def expected(f: int) -> float:
        return math.fsum(float(terms.current[n][list(fam.fleets).index(f)])
                         for n, fam in enumerate(fams) if f in fam.fleets)

    for step in range(300):
        n = int(rng.integers(len(fams)))
        size = 10.0 ** rng.integers(-20, 3, fams[n].fleets.size)
        value = -rng.random(fams[n].fleets.size) * size
        if step % 7 == 0:
            value = np.zeros(fams[n].fleets.size)  # set back to nothing
        terms.assign(n, value)
        if step % 5 == 0:
            for f in range(n_fleets):
                assert terms.fleet_sum(f) == expected(f)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), max_size=300))
def test_whole_sum_is_the_exact_sum_of_the_doubles(values: list[float]) -> None:
    """The grouped exact sum equals the sum of every value's exact integer (and so
    rounds to ``math.fsum``), subnormals, zeros, signs and the largest doubles included."""
    x = np.array(values, dtype=np.float64)
    got = whole_sum(x)
    assert got == sum(_whole(v) for v in values)
    assert got == sum(Fraction(v) for v in values) * 2**1074


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_serving_families_and_sample_goals_match_the_families_fleets(seed: int) -> None:
    """The vectorised family selections agree with each family's own fleets (from
    :func:`families_of`): items in several system types, sub-items, fleets with no
    systems, any set of fleets."""
    rng = np.random.default_rng(seed)
    n_items, n_systems, n_bases = 40, 4, 3
    a = build(n_items, n_bases, n_systems=n_systems, seed=seed % 100)
    qty = (rng.random((n_items, n_systems)) < 0.3) * rng.integers(1, 3, (n_items, n_systems))
    parent = np.full(n_items, -1, dtype=np.int64)
    subs = np.flatnonzero(rng.random(n_items) < 0.3)
    subs = subs[subs > 0]
    parent[subs] = rng.integers(0, subs, subs.size)  # an earlier item (a tree)
    a = dataclasses.replace(
        a, qty_per_system=qty.astype(np.float64), item_parent=parent,
        fleet_count=np.where(rng.random(a.fleet_count.size) < 0.2, 0.0, a.fleet_count))
    fams = families_of(a)
    wanted = rng.random(a.fleet_system.size) < 0.4
    expected = [n for n, f in enumerate(fams) if f.fleets.size and wanted[f.fleets].any()]
    assert serving_families(a, wanted).tolist() == expected
    every = np.arange(len(fams))
    sample = every[rng.random(every.size) < 0.5]
    goal = np.log(rng.uniform(0.5, 0.99, a.fleet_system.size))

    def count(ids: np.ndarray) -> np.ndarray:
        return np.bincount(np.concatenate([fams[n].fleets for n in ids] + [np.zeros(0, int)]),
                           minlength=a.fleet_system.size).astype(float)

    share = count(sample) / np.maximum(count(every), 1)
    np.testing.assert_array_equal(scale_goal(a, every, sample, goal),
                                  goal * np.where(share > 0, share, np.nan))
