"""Rossetti, *Analysis of Inventory Systems*, multi-echelon chapter: the utility transformer.

One depot, four identical bases, one item; METRIC and VARI-METRIC.  Inputs and
published outputs in ``shared/refcases/rossetti-transformer.json`` (year units, 365
days a year).  The scenario is written in Sustain's own terms: one system per base
run 24 h a day with an MTBF that gives 45 failures a year.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from sustain import evaluate
from sustain.scenario import scenario_from_dict
from tests.conftest import load_refcase

CASE = load_refcase("rossetti-transformer.json")
TOL = 5e-4
TOL_DAYS = 5e-3


def transformer(inputs: dict[str, Any]) -> dict[str, Any]:
    n = inputs["n_bases"]
    bases = [f"B{k}" for k in range(1, n + 1)]
    return {
        "name": "Rossetti transformer",
        "sites": [{"id": "DEPOT", "kind": "depot"}]
        + [
            {"id": b, "parent": "DEPOT", "order_ship_days": inputs["order_ship_days"]}
            for b in bases
        ],
        "systems": [{"id": "GRID"}],
        "fleets": [{"system": "GRID", "site": b, "count": 1, "hours_per_day": 24} for b in bases],
        "items": [
            {
                "id": "TRANSFORMER",
                "unit_cost": inputs["unit_cost"],
                "mtbf_hours": 24 * 365 / inputs["base_demand_per_year"],
                "installed_in": [{"system": "GRID", "qty": 1}],
                "base_repair_fraction": inputs["p_base_repair"],
                "base_repair_days": inputs["base_repair_days"],
                "depot_repair_days": inputs["depot_repair_days"],
            }
        ],
        "stock": [{"item": "TRANSFORMER", "site": "DEPOT", "qty": inputs["depot_stock"]}]
        + [{"item": "TRANSFORMER", "site": b, "qty": inputs["base_stock_each"]} for b in bases],
    }


def _results(inputs: dict[str, Any], method: str) -> dict[str, float]:
    ev = evaluate(scenario_from_dict(transformer(inputs)), method=method)
    a, p, fl = ev.arrays, ev.pipes, ev.flows
    d = a.site_ids.index("DEPOT")
    bases = [s for s in range(a.n_sites) if s != d]
    return {
        "depot_demand_per_year": fl.demand[0, d] * 365,
        "depot_pipeline_mean": p.mean[0, d],
        "depot_EBO": p.ebo[0, d],
        "depot_VBO": p.vbo[0, d],
        "depot_delay_days": p.ebo[0, d] / fl.demand[0, d],
        "base_pipeline_mean": p.mean[0, bases[0]],
        "base_pipeline_var": p.var[0, bases[0]],
        "base_EBO": p.ebo[0, bases[0]],
        "total_base_EBO": float(p.ebo[0, bases].sum()),
    }


def test_varimetric_transformer() -> None:
    got = _results(CASE["inputs"], "vari-metric")
    want = CASE["outputs"]
    for key in ("depot_demand_per_year", "depot_pipeline_mean", "depot_EBO", "depot_VBO",
                "base_pipeline_mean"):
        assert got[key] == pytest.approx(want[key], abs=TOL), key
    assert got["depot_delay_days"] == pytest.approx(want["depot_delay_days"], abs=TOL_DAYS)
    assert got["base_pipeline_var"] == pytest.approx(want["base_pipeline_var_varimetric"], abs=TOL)
    assert got["base_EBO"] == pytest.approx(want["base_EBO_varimetric"], abs=TOL)
    assert got["total_base_EBO"] == pytest.approx(want["total_base_EBO_varimetric"], abs=TOL)


def test_metric_transformer() -> None:
    got = _results(CASE["inputs"], "metric")
    want = CASE["outputs"]
    assert got["base_pipeline_mean"] == pytest.approx(want["base_pipeline_mean"], abs=TOL)
    assert got["base_pipeline_var"] == pytest.approx(got["base_pipeline_mean"], rel=1e-12)
    assert got["base_EBO"] == pytest.approx(want["base_EBO_metric"], abs=TOL)
    assert got["total_base_EBO"] == pytest.approx(want["total_base_EBO_metric"], abs=TOL)


@pytest.mark.parametrize("variant", CASE["variants"], ids=lambda v: str(v["change"]))
def test_transformer_variants(variant: dict[str, Any]) -> None:
    got = _results({**CASE["inputs"], **variant["change"]}, "vari-metric")
    for key, value in variant["outputs"].items():
        name = "total_base_EBO" if key == "total_base_EBO_varimetric" else key
        tol = TOL_DAYS if key.endswith("_days") else TOL
        assert got[name] == pytest.approx(value, abs=tol), key
    assert np.isfinite(list(got.values())).all()
