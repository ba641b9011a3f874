"""Simulation against the analytic model (METRIC and VARI-METRIC) for the same stock.

Kept apart from the kernel: the simulator itself never imports ``readiness``
(style guide §1); only this optional comparison does, lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sustain.simulate.replicate import SimulationResult


def analytic_comparison(result: SimulationResult) -> dict[str, Any]:
    """Per method and fleet: analytic availability, difference, inside the 95 % CI?"""
    from sustain.readiness.evaluate import evaluate_arrays

    a = result.arrays
    cis = result.availability_ci95()
    sim = result.availability_mean
    out: dict[str, Any] = {}
    for method in ("vari-metric", "metric"):
        ev = evaluate_arrays(a, method=method)
        rows = []
        for f in range(a.fleet_system.size):
            av = float(ev.availability[f])
            lo, hi = cis[f]
            rows.append({
                "system": a.system_ids[a.fleet_system[f]],
                "site": a.site_ids[a.fleet_site[f]],
                "availability": None if np.isnan(av) else av,
                "difference": None if np.isnan(av) else av - float(sim[f]),
                "inside_ci95": bool(lo <= av <= hi),
            })
        diffs = [abs(r["difference"]) for r in rows if r["difference"] is not None]
        out[method] = {
            "fleets": rows,
            "mean_abs_difference": float(np.mean(diffs)) if diffs else None,
        }
    return out
