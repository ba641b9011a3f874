"""``plan_stockpile``: the stockpile section of a scenario, planned month by month."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from sustain.errors import Issue, SustainError
from sustain.readiness.evaluate import evaluate
from sustain.scenario.model import Scenario
from sustain.stockpile.build import LinearProgram, build_lp
from sustain.stockpile.data import (
    PlanData,
    check_numbers,
    least_breach,
    no_shortfall_possible,
    plan_data,
)
from sustain.stockpile.errors import NumericalError, PlanInfeasible, PlanTooLarge, SolverError
from sustain.stockpile.explain import impossible, magnitudes, qty
from sustain.stockpile.result import PlanResult, retrieve, snap_tolerance
from sustain.stockpile.solve import Solution, Solver, Status, solve_lexicographic

#: Programmes with more columns than this are solved by several processes (``workers``).
PARALLEL_COLUMNS = 100_000
#: The constraints that make a plan impossible, as :class:`PlanInfeasible` names them.
INFEASIBLE_FAMILIES = ("donor_balance", "stock >= 0", "sent >= pledged")
#: Largest plan: donors × consumables × months (each such cell is four variables and two
#: constraints; 500,000 cells take about 0.5 GB to build).
MAX_CELLS = 500_000
#: Largest programme of one consumable: donors that hold, keep, use, make, may make or
#: owe it × months.  Its solve time grows faster than its size (about as its 1.6th
#: power): 18,000 (30 donors × 600 months) took 3 s of CPU time, 36,000 (30 × 1,200)
#: 12 to 22 s, 60,000 (50 × 1,200) 34 s (``benchmarks/stockpile.py`` plans, one consumable
#: short of demand).
MAX_DONOR_MONTHS = 36_000
#: A plan's numbers may differ from their exact values by rounding: the snapping
#: tolerance once per month (:func:`~sustain.stockpile.result.snap_tolerance`), plus
#: this share of the bound on the consumable's quantities (``LinearProgram.qty_hi``).
#: The solver's answer is checked against it.
CHECK_RTOL = 1e-9


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
    if plan is None:
        return {}
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
    max_cells: int | None = MAX_CELLS,
    max_donor_months: int | None = MAX_DONOR_MONTHS,
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
        programmes over :data:`PARALLEL_COLUMNS` columns.  Ctrl-C stops them all.
    max_cells, max_donor_months : int or None
        Size limits (:data:`MAX_CELLS`, :data:`MAX_DONOR_MONTHS`); ``None``: no limit.

    Returns
    -------
    PlanResult

    Raises
    ------
    SustainError
        The scenario has no ``stockpile`` section, or a number of the section is not finite.
    PlanInfeasible
        A donor's pledges and own use exceed all it can have (named donor, consumable,
        month), so no plan keeps its stock at or above 0.
    PlanTooLarge
        The plan exceeds a size limit (the message gives its size and what drives it).
    NumericalError
        HiGHS failed for numerical reasons, or its answer breaks a constraint by more
        than rounding allows (the message names the consumable and the magnitudes).
    SolverError
        HiGHS stopped without an answer for another reason (a time limit).
    """
    plan = scenario.stockpile
    if plan is None:
        raise SustainError(
            f"{scenario.source}: no stockpile section (see shared/spec/stockpile-format.md)"
        )
    check_cells(len(plan.donors), len(plan.consumables), plan.months, max_cells)
    up: Mapping[str, float] = {}
    applied = False
    if plan.usage:
        up, applied = systems_up(scenario, availability=availability and usage_from_fleets)
    data = plan_data(plan, systems_up=up, prefer_usage=usage_from_fleets)
    return plan_from_data(
        data,
        solver=solver,
        workers=workers,
        max_cells=max_cells,
        max_donor_months=max_donor_months,
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
    max_cells: int | None = MAX_CELLS,
    max_donor_months: int | None = MAX_DONOR_MONTHS,
    demand_source: Mapping[str, str] | None = None,
    warnings: tuple[Issue, ...] = (),
    extra_notes: tuple[str, ...] = (),
) -> PlanResult:
    """Check, build, solve and retrieve the plan of ``data`` (see :func:`plan_stockpile`)."""
    check_plan_exists(data)
    check_size(data, max_cells=max_cells, max_donor_months=max_donor_months)
    lp, cols = build_lp(data)
    if workers is None:
        workers = (os.cpu_count() or 1) if lp.n_cols > PARALLEL_COLUMNS else 1
    sol = solve_lexicographic(lp, solver=solver, workers=workers)
    if sol.status is not Status.OPTIMAL:
        raise _failure(data, sol)
    result = retrieve(data, lp, cols, sol, demand_source=demand_source, warnings=warnings)
    check_answer(result, lp, sol)
    if extra_notes:
        result = replace(result, notes=(*extra_notes, *result.notes))
    return result


def check_plan_exists(data: PlanData) -> None:
    """Every number of ``data`` is finite and no donor is overcommitted, so a plan exists.

    Raises
    ------
    SustainError
        A number is not finite.
    PlanInfeasible
        A donor's pledges and own use exceed all it can have (donor, consumable, month).
    """
    check_numbers(data)
    problems = impossible(data)
    if problems:
        raise PlanInfeasible(problems, INFEASIBLE_FAMILIES)


def check_size(
    d: PlanData, *, max_cells: int | None = MAX_CELLS,
    max_donor_months: int | None = MAX_DONOR_MONTHS,
) -> None:
    """Refuse a plan larger than the limits, before anything is built.

    Raises
    ------
    PlanTooLarge
        With the size of the programme and the inputs that drive it.
    """
    D, C, T = d.shape
    check_cells(D, C, T, max_cells)
    if max_donor_months is None or not C:
        return
    involved = np.sum(d.active | np.any(d.pledged > 0, axis=2), axis=0)  # (C,)
    worst = int(np.argmax(involved))
    n = int(involved[worst])
    size = n * T
    if size > max_donor_months:
        verb = "holds, keeps, uses, makes or owes" if n == 1 else "hold, keep, use, make or owe"
        raise PlanTooLarge(
            f"stockpile: the programme of {d.consumable_ids[worst]} is too large: "
            f"{_count(n, 'donor')} {verb} it × "
            f"{_count(T, 'month')} = {size:,} donor-months, above the limit of "
            f"{max_donor_months:,} "
            "(its solve time grows faster than its size); plan fewer months, or group "
            "small donors into one"
        )


def check_cells(D: int, C: int, T: int, max_cells: int | None = MAX_CELLS) -> None:
    """Refuse ``D`` donors × ``C`` consumables × ``T`` months above ``max_cells``
    (before the arrays of the plan are made).

    Raises
    ------
    PlanTooLarge
        With the size of the programme and the counts that drive it.
    """
    cells = D * C * T
    if max_cells is not None and cells > max_cells:
        raise PlanTooLarge(
            f"stockpile: the plan is too large: {_count(D, 'donor')} × "
            f"{_count(C, 'consumable')} × {_count(T, 'month')} = {cells:,} "
            f"donor-consumable-months ({4 * cells + 2 * C * T:,} "
            f"variables, {2 * cells + C * T:,} constraints), above the limit of "
            f"{max_cells:,}; plan fewer months, donors or consumables at a time"
        )


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _failure(d: PlanData, sol: Solution) -> SustainError:
    """The error for a solve that ended without an optimum.

    Once :func:`~sustain.stockpile.explain.impossible` finds nothing, the programme
    has a plan (the plan of :func:`~sustain.stockpile.data.most_stock`, with every unit
    of demand short) and its costs are >= 0, so it is neither infeasible nor
    unbounded: a solver that says otherwise, or stops in error, failed numerically.
    The one exception is a donor short by less than the tolerance of ``impossible``:
    that is a true (if tiny) infeasibility, reported as such.
    """
    g = sol.failed_group
    which = d.consumable_ids[g] if g is not None else "the plan"
    stage = sol.failed_stage or "some"
    if sol.status is Status.TIME_LIMIT:
        return SolverError(
            f"stockpile: the solver reached its time limit on {which} ({stage} stage): "
            f"{sol.message}"
        )
    if sol.status is Status.INFEASIBLE:
        problems = impossible(d, tol=0.0, consumable=g)
        if problems:
            return PlanInfeasible(problems, INFEASIBLE_FAMILIES)
    detail = (" " + magnitudes(d, g, costs=stage == "surge_cost")) if g is not None else ""
    return NumericalError(
        f"stockpile: numerical trouble: the solver could not finish the plan of {which} "
        f"({stage} stage: {sol.message or sol.status}), although a plan exists."
        f"{detail}",
        consumable=which if g is not None else None, stage=sol.failed_stage,
    )


def check_answer(r: PlanResult, lp: LinearProgram, sol: Solution) -> None:
    """Check the solver's plan against what any plan must satisfy, to rounding.

    Stocks (recomputed from the flows) must stay >= 0, each month's breach must be its
    closed form (:func:`~sustain.stockpile.data.least_breach`), a consumable that can
    be fully supplied (:func:`~sustain.stockpile.data.no_shortfall_possible`) must be,
    and every number must be finite.  Rounding allowed: ``(T + 1)·snap tolerance +
    CHECK_RTOL·qty_hi``.

    Raises
    ------
    NumericalError
        Naming the consumable, what is broken, by how much, and the magnitudes.
    """
    d = r.data
    tol = (d.shape[2] + 1) * snap_tolerance(sol) + CHECK_RTOL * lp.qty_hi  # (C,)
    fully = no_shortfall_possible(d)
    checks = (
        ("takes the stock of donor {donor!r} below 0 by {x}", -r.stock, tol[None, :, None]),
        ("takes the partner's stock below 0 by {x}", -r.partner_stock, tol[:, None]),
        ("misses the least floor breach of donor {donor!r} by {x}",
         np.abs(least_breach(d) - r.breach), tol[None, :, None]),
        ("leaves {x} short although all demand can be met",
         np.where(fully[:, None], r.shortfall, 0.0), tol[:, None]),
    )
    for what, excess, allowed in checks:
        bad = ~(excess <= allowed)  # NaN counts as broken
        if np.any(bad):
            index = tuple(int(k[0]) for k in np.nonzero(bad))
            c, t = index[-2], index[-1]
            donor = d.donor_ids[index[0]] if len(index) == 3 else ""
            said = what.format(donor=donor, x=qty(float(excess[index])))
            raise NumericalError(
                f"stockpile: numerical trouble: the solver's plan of {d.consumable_ids[c]} "
                f"{said} in {d.months[t]}, more than rounding allows. "
                f"{magnitudes(d, c, costs=True)}",
                consumable=d.consumable_ids[c],
            )
    numbers = (r.surge, r.sent, r.arrivals, r.used, r.capacity_value)
    if not all(np.all(np.isfinite(x)) for x in numbers) or not all(
            np.isfinite(v) for v in r.objective.values()):
        raise NumericalError("stockpile: numerical trouble: the plan holds numbers beyond "
                             "the range of a float")
