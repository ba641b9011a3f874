"""``plan_stockpile``: the stockpile section of a scenario, planned month by month."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace

from sustain.errors import Issue, SustainError
from sustain.scenario.model import Scenario
from sustain.stockpile.build import build_lp
from sustain.stockpile.data import PlanData, plan_data
from sustain.stockpile.errors import PlanInfeasible, SolverError
from sustain.stockpile.explain import impossible
from sustain.stockpile.result import PlanResult, retrieve
from sustain.stockpile.solve import Solver, Status, solve_lexicographic

#: Programmes with more columns than this are solved by several processes (``workers``).
PARALLEL_COLUMNS = 100_000


def systems_up(scenario: Scenario, *, availability: bool) -> tuple[dict[str, float], bool]:
    """Systems of each type expected to be working: Σ over its fleets of count ×
    availability (``availability=False``: every system counts).

    Availability comes from the readiness engine (:func:`sustain.evaluate`, VARI-METRIC);
    a down system fires nothing.  Returns the counts and whether availability was
    applied (it is not when the scenario has no items to evaluate).
    """
    counts: dict[str, float] = {}
    applied = availability and bool(scenario.sites and scenario.fleets and scenario.items)
    if applied:
        from sustain.readiness.evaluate import evaluate

        for row in evaluate(scenario).fleets_dict():
            av = row["availability"]
            counts[row["system"]] = counts.get(row["system"], 0.0) + row["count"] * (
                0.0 if av is None else av
            )
    else:
        for f in scenario.fleets:
            counts[f.system] = counts.get(f.system, 0.0) + f.count
    return counts, applied


def _demand_source(scenario: Scenario, prefer_usage: bool, applied: bool) -> dict[str, str]:
    plan = scenario.stockpile
    assert plan is not None
    explicit = {s.consumable for s in plan.demand}
    fleets = {u.consumable for u in plan.usage}
    out = {}
    for c in plan.consumables:
        if c.id in fleets and (prefer_usage or c.id not in explicit):
            out[c.id] = "usage × availability" if applied else "usage"
        else:
            out[c.id] = "demand" if c.id in explicit else "none"
    return out


def plan_stockpile(
    scenario: Scenario,
    *,
    usage_from_fleets: bool = False,
    availability: bool = True,
    solver: Solver | None = None,
    workers: int | None = None,
) -> PlanResult:
    """Plan stocks, transfers and surge production month by month.

    The linear programme of ``shared/spec/stockpile-format.md``: donors' stocks plus
    committed production (and, at a cost, surge) meet the partner's consumption, and
    the plan minimises, in this order, total floor breach, priority-weighted shortfall
    and surge cost (see :mod:`sustain.stockpile.build` and :mod:`sustain.stockpile.solve`).

    Parameters
    ----------
    scenario : Scenario
        A validated scenario with a ``stockpile`` section.
    usage_from_fleets : bool
        Demand of a consumable with ``usage`` rows comes from the fleets (systems ×
        per_system_day × days in the month × tempo) even where explicit ``demand`` rows
        exist, and the systems counted are those expected up, by the readiness engine
        (unless ``availability=False``).  Without it, explicit demand is used where
        given, and usage with every system counted where it is the only source.
    availability : bool
        With ``usage_from_fleets``, scale each fleet by its availability.
    solver : Solver, optional
        Default HiGHS (dual simplex) through scipy.
    workers : int, optional
        Processes solving consumables side by side; default 1, or the CPU count for
        programmes over :data:`PARALLEL_COLUMNS` columns.

    Returns
    -------
    PlanResult

    Raises
    ------
    SustainError
        The scenario has no ``stockpile`` section.
    PlanInfeasible
        A donor's pledges and own use exceed all it can have (named donor, consumable,
        month), so no plan keeps its stock at or above 0.
    SolverError
        HiGHS stopped without an answer.
    """
    plan = scenario.stockpile
    if plan is None:
        raise SustainError(
            f"{scenario.source}: no stockpile section (see shared/spec/stockpile-format.md)"
        )
    up: Mapping[str, float] = {}
    applied = False
    if plan.usage:
        up, applied = systems_up(scenario, availability=availability and usage_from_fleets)
    data = plan_data(plan, systems_up=up, prefer_usage=usage_from_fleets)
    return plan_from_data(
        data,
        solver=solver,
        workers=workers,
        demand_source=_demand_source(scenario, usage_from_fleets, applied),
        warnings=plan.warnings,
        extra_notes=(
            ("availability not applied: the scenario has no items for the readiness "
             "engine, so every system counts as working",)
            if usage_from_fleets and availability and plan.usage and not applied else ()
        ),
    )


def plan_from_data(
    data: PlanData,
    *,
    solver: Solver | None = None,
    workers: int | None = None,
    demand_source: Mapping[str, str] | None = None,
    warnings: tuple[Issue, ...] = (),
    extra_notes: tuple[str, ...] = (),
) -> PlanResult:
    """Check, build, solve and retrieve the plan of ``data`` (see :func:`plan_stockpile`)."""
    problems = impossible(data)
    if problems:
        raise PlanInfeasible(problems, ("donor_balance", "stock >= 0", "sent >= pledged"))
    lp, cols = build_lp(data)
    if workers is None:
        workers = (os.cpu_count() or 1) if lp.n_cols > PARALLEL_COLUMNS else 1
    sol = solve_lexicographic(lp, solver=solver, workers=workers)
    if sol.status is Status.INFEASIBLE:
        which = (data.consumable_ids[sol.failed_group]
                 if sol.failed_group is not None else "some consumable")
        raise PlanInfeasible(
            [f"no plan for {which} meets every constraint ({sol.failed_stage} stage): "
             f"{sol.message}"],
            tuple(lp.constraints),
        )
    if sol.status is not Status.OPTIMAL:
        raise SolverError(f"the solver stopped without a plan ({sol.status}): {sol.message}")
    result = retrieve(data, lp, cols, sol, demand_source=demand_source, warnings=warnings)
    if extra_notes:
        result = replace(result, notes=(*extra_notes, *result.notes))
    return result
