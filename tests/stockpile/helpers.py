"""Builders shared by the stockpile tests: small scenarios as YAML text, and plan data as
arrays with defaults, so that each test states only the numbers its hand calculation uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sustain.scenario import load_scenario, scenario_from_dict
from sustain.scenario.model import Scenario
from sustain.stockpile.data import PlanData


def section(
    *,
    months: int = 3,
    donors: list[dict[str, Any]] | None = None,
    demand: list[dict[str, Any]] | None = None,
    consumables: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A ``stockpile:`` section starting 2024-01 (defaults: one consumable ``R``)."""
    out: dict[str, Any] = {
        "start_month": "2024-01",
        "months": months,
        "consumables": consumables or [{"id": "R"}],
        "demand": demand if demand is not None else [],
        "donors": donors or [],
    }
    out.update(extra)
    return out


def scenario(tmp_path: Path | None = None, **kw: Any) -> Scenario:
    """A munitions-only scenario from :func:`section` (through a YAML file if ``tmp_path``)."""
    doc = {"name": "test", "stockpile": section(**kw)}
    if tmp_path is None:
        return scenario_from_dict(doc)
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return load_scenario(path)


def donor(did: str = "A", **kw: Any) -> dict[str, Any]:
    """A donor row; quantities of consumable ``R`` by default (``stock=100`` → ``{R: 100}``)."""
    row: dict[str, Any] = {"id": did}
    for key in ("stock", "floor", "own_use_per_month"):
        if key in kw:
            value = kw.pop(key)
            row[key] = value if isinstance(value, dict) else {"R": value}
    if "output" in kw:
        row["production"] = [{"consumable": "R", "from": "2024-01", "per_month": kw.pop("output")}]
    row.update(kw)
    return row


def flat_demand(per_month: float, consumable: str = "R") -> list[dict[str, Any]]:
    """Demand of ``per_month`` from the first month on."""
    return [{"consumable": consumable, "from": "2024-01", "per_month": per_month}]


def plan_arrays(
    *,
    demand: Any,
    stock: Any = 0.0,
    floor: Any = 0.0,
    own_use: Any = 0.0,
    made: Any = 0.0,
    surge_cap: Any = 0.0,
    surge_cost: Any = 1.0,
    pledged: Any = 0.0,
    lead: Any = 0,
    partner_stock: Any = 0.0,
    priority: Any = 1.0,
    n_donors: int | None = None,
) -> PlanData:
    """:class:`PlanData` from arrays broadcast to (D, C, T); ``demand`` is (C, T)."""
    demand = np.atleast_2d(np.asarray(demand, dtype=float))
    C, T = demand.shape
    D = n_donors or max(np.atleast_1d(np.asarray(lead)).size, np.atleast_2d(stock).shape[0])

    def dct(x: Any) -> np.ndarray:
        return np.broadcast_to(np.asarray(x, dtype=float), (D, C, T)).copy()

    def dc(x: Any) -> np.ndarray:
        return np.broadcast_to(np.asarray(x, dtype=float), (D, C)).copy()

    return PlanData(
        months=tuple(f"{2024 + t // 12}-{t % 12 + 1:02d}" for t in range(T)),
        donor_ids=tuple(f"D{i}" for i in range(D)),
        consumable_ids=tuple(f"C{j}" for j in range(C)),
        priority=np.broadcast_to(np.asarray(priority, dtype=float), (C,)).copy(),
        unit_cost=np.ones(C),
        demand=demand,
        partner_stock=np.broadcast_to(np.asarray(partner_stock, dtype=float), (C,)).copy(),
        stock=dc(stock),
        floor=dc(floor),
        own_use=dc(own_use),
        lead_months=np.broadcast_to(np.asarray(lead, dtype=np.int64), (D,)).copy(),
        made=dct(made),
        surge_cap=dct(surge_cap),
        surge_cost=dct(surge_cost),
        pledged=dct(pledged),
    )
