"""Demand flows up a site tree (``readiness/metric.demand_flows``): each parent's demand is
its own failures not repaired below plus what its children send up, on trees with many
parents and uneven numbers of children (a tree copied along a time axis has thousands),
in any order of the sites."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from sustain.readiness.metric import demand_flows
from sustain.scenario import scenario_from_dict
from sustain.scenario.compile import compile_scenario


def tree(seed: int) -> dict[str, Any]:
    """A depot, 1–3 regional depots and up to 40 bases under them (some under the depot
    itself), listed in a random order; a top-level item with a sub-item."""
    rng = np.random.default_rng(seed)
    n_mid = int(rng.integers(1, 4))
    sites: list[dict[str, Any]] = [{"id": f"M{m}", "parent": "D", "order_ship_days": 3}
                                   for m in range(n_mid)]
    bases = [f"B{b}" for b in range(int(rng.integers(1, 41)))]
    sites += [{"id": b, "parent": "D" if rng.random() < 0.2 else f"M{rng.integers(n_mid)}",
               "order_ship_days": 2} for b in bases]
    sites = [{"id": "D"}] + [sites[i] for i in rng.permutation(len(sites))]
    return {
        "sites": sites, "systems": [{"id": "S"}],
        "fleets": [{"system": "S", "site": b, "count": int(rng.integers(1, 9)),
                    "hours_per_day": float(rng.uniform(1, 20))} for b in bases],
        "items": [{"id": "P", "unit_cost": 1, "mtbf_hours": 300, "installed_in": "S:2",
                   "depot_repair_days": 20, "base_repair_fraction": 0.3,
                   "base_repair_days": 4},
                  {"id": "C", "unit_cost": 1, "parent": "P", "replace_fraction": 0.5,
                   "depot_repair_days": 20, "base_repair_fraction": 0.2,
                   "base_repair_days": 3}],
    }


@pytest.mark.parametrize("seed", range(12))
def test_each_parent_gets_what_its_children_send(seed: int) -> None:
    a = compile_scenario(scenario_from_dict(tree(seed)))
    f = demand_flows(a)
    for p in range(a.n_sites):
        children = np.flatnonzero(a.site_parent == p)
        for i in range(a.n_items):
            sent = math.fsum(f.up[i, children].tolist())
            assert f.demand[i, p] == pytest.approx(f.local[i, p] + sent, rel=1e-14, abs=0.0)
            if a.site_parent[p] >= 0:  # what a site does not repair goes up
                assert f.up[i, p] == pytest.approx(f.demand[i, p] - f.repairs[i, p],
                                                   rel=1e-14, abs=1e-300)
    # Nothing is lost on the way up: the roots see every failure not repaired below.
    root = int(np.flatnonzero(a.site_parent < 0)[0])
    assert f.demand[:, root] == pytest.approx(
        f.local.sum(axis=1) - (f.repairs.sum(axis=1) - f.repairs[:, root]), rel=1e-12)
