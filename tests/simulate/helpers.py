"""Scenario builders and closed forms for the simulator tests."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from sustain.scenario.compile import ScenarioArrays


def single_site(
    *, n: int, mtbf_hours: float, hours_per_day: float = 24.0, repair_days: float,
    stock: int = 0, n_items: int = 1, condemnation: float = 0.0, procurement_days: float = 0.0,
) -> ScenarioArrays:
    """One root site, ``n`` systems with one unit of each of ``n_items`` identical items."""
    k = n_items
    return ScenarioArrays(
        site_ids=("S",), item_ids=tuple(f"X{j}" for j in range(k)), system_ids=("K",),
        site_parent=np.array([-1]), site_depth=np.array([0]), order_ship_days=np.zeros(1),
        item_parent=np.full(k, -1), item_level=np.zeros(k, dtype=np.int64),
        failures_per_hour=np.full(k, 1.0 / mtbf_hours), qty_per_system=np.ones((k, 1)),
        replace_fraction=np.zeros(k), base_repair_fraction=np.zeros(k),
        base_repair_days=np.zeros(k), depot_repair_days=np.full(k, repair_days),
        condemnation_fraction=np.full(k, condemnation),
        procurement_days=np.full(k, procurement_days), unit_cost=np.ones(k),
        fleet_system=np.array([0]), fleet_site=np.array([0]),
        fleet_count=np.array([float(n)]), fleet_hours_per_day=np.array([hours_per_day]),
        stock=np.full((k, 1), float(stock)),
    )


def machine_repair(
    n: int, lam: float, mu: float, stock: int, channels: int | None = None
) -> np.ndarray:
    """Stationary law of the units in repair, k = 0..n+stock (finite source, spares).

    Birth-death chain: with ``k`` units in repair, ``max(0, k − stock)`` systems are
    down and do not fail, so failures arrive at ``(n − max(0, k − stock)) λ``;
    repairs finish at ``min(k, c) μ`` (``c`` = ∞: ample servers).  With ample servers
    the law is insensitive to the repair-time distribution beyond its mean (a
    closed network whose only non-exponential station is an infinite server;
    Kelly 1979, ch. 3), so it holds for deterministic repair too.
    """
    top = n + stock
    w = np.zeros(top + 1)
    w[0] = 1.0
    for k in range(1, top + 1):
        birth = (n - max(0, k - 1 - stock)) * lam
        death = (k if channels is None else min(k, channels)) * mu
        w[k] = w[k - 1] * birth / death
    return w / w.sum()


def ci(x: np.ndarray, level: float) -> tuple[float, float]:
    """Mean ± the t half-width over axis 0."""
    n = x.shape[0]
    half = stats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / math.sqrt(n)
    return float(x.mean()), float(half)
