"""Invariants of the readiness engine on random small scenarios (Hypothesis)."""

from __future__ import annotations

import copy
import random
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sustain import evaluate
from sustain.readiness.evaluate import evaluate_arrays
from sustain.scenario import scenario_from_dict
from sustain.scenario.compile import compile_scenario
from tests.strategies import scenarios

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@SETTINGS
@given(scenarios(), st.sampled_from(["vari-metric", "metric"]))
def test_availability_is_a_probability(doc: dict[str, Any], method: str) -> None:
    ev = evaluate(scenario_from_dict(doc), method=method)
    assert np.all((ev.availability >= 0) & (ev.availability <= 1))
    for arr in (ev.pipes.mean, ev.pipes.var, ev.pipes.ebo, ev.pipes.vbo, ev.pipes.fill_rate):
        assert np.all(np.isfinite(arr))
    assert np.all(ev.pipes.ebo >= 0) and np.all(ev.pipes.vbo >= -1e-12)
    assert np.all(ev.pipes.fill_rate <= 1 + 1e-12)


@SETTINGS
@given(scenarios(), st.sampled_from(["vari-metric", "metric"]), st.data())
def test_more_stock_never_lowers_availability(
    doc: dict[str, Any], method: str, data: st.DataObject
) -> None:
    a = compile_scenario(scenario_from_dict(doc))
    base = evaluate_arrays(a, method=method)
    i = data.draw(st.integers(0, a.n_items - 1))
    s = data.draw(st.integers(0, a.n_sites - 1))
    more = a.stock.copy()
    more[i, s] += data.draw(st.integers(1, 3))
    after = evaluate_arrays(a.with_stock(more), method=method)
    assert np.all(after.availability >= base.availability - 1e-12)
    assert np.all(after.pipes.ebo.sum(axis=1) <= base.pipes.ebo.sum(axis=1) + 1e-12)


@SETTINGS
@given(scenarios(sub_items=False))
def test_metric_and_varimetric_agree_with_ample_depot_stock(doc: dict[str, Any]) -> None:
    a = compile_scenario(scenario_from_dict(doc))
    stock = a.stock.copy()
    upper = a.site_depth < int(a.site_depth.max())  # every site above the bases
    pipe = evaluate_arrays(a, method="metric").pipes.mean
    stock[:, upper] = np.ceil(pipe + 20 * np.sqrt(pipe) + 50)[:, upper]  # P(short) < 1e-80
    a = a.with_stock(stock)
    vm = evaluate_arrays(a, method="vari-metric")
    m = evaluate_arrays(a, method="metric")
    np.testing.assert_allclose(vm.availability, m.availability, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(vm.pipes.ebo, m.pipes.ebo, rtol=1e-9, atol=1e-12)


@SETTINGS
@given(scenarios(), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_row_order(doc: dict[str, Any], rnd: random.Random) -> None:
    shuffled = copy.deepcopy(doc)
    for key in ("sites", "systems", "fleets", "items", "stock"):
        rnd.shuffle(shuffled[key])
    one = evaluate(scenario_from_dict(doc)).to_dict()
    two = evaluate(scenario_from_dict(shuffled)).to_dict()
    fleets = [sorted(d["fleets"], key=lambda r: (r["system"], r["site"])) for d in (one, two)]
    items = [sorted(d["items"], key=lambda r: (r["item"], r["site"])) for d in (one, two)]
    assert fleets[0] == fleets[1]
    assert items[0] == items[1]
