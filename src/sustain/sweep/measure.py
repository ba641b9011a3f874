"""What a sweep measures for each scaled scenario, as work a worker can run.

``availability``: each fleet's steady-state availability for the stock held, as
``sustain evaluate`` gives it (NaN for a fleet of zero systems).  ``cost``: the cost of
the purchases that reach the target, as ``sustain optimize --target`` gives it (NaN when
the stock limits make the target unreachable).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np

from sustain._types import FloatArray
from sustain.optimize import TargetUnreachable, optimize
from sustain.readiness.evaluate import evaluate_arrays
from sustain.readiness.metric import Method
from sustain.scenario.compile import compile_scenario
from sustain.scenario.model import Scenario
from sustain.sweep.factors import Scaling, SweepError, apply_scaling


class Measure(StrEnum):
    """The result a sweep reports for each scaled scenario."""

    AVAILABILITY = "availability"
    COST = "cost"


@dataclass(frozen=True, slots=True, kw_only=True)
class MeasureJob:
    """Everything a worker needs (small and picklable): the scenario's readiness
    part, the measure and its options."""

    scenario: Scenario
    measure: Measure
    method: Method
    target: float | Mapping[str, float] | None = None
    refine_seconds: float = 0.0


def measure_job(
    scenario: Scenario, measure: Measure | str, *, method: Method | str,
    target: float | Mapping[str, float] | None, refine_seconds: float,
) -> MeasureJob:
    """A checked :class:`MeasureJob`.

    Raises
    ------
    SweepError
        The cost measure without a target, or ``refine_seconds`` below 0.
    """
    measure = Measure(measure)
    if measure is Measure.COST and target is None:
        raise SweepError("the cost measure needs a target (--target 0.9)")
    if not refine_seconds >= 0:  # also NaN
        raise SweepError(f"refine_seconds must be >= 0: got {refine_seconds}")
    # The stockpile and offers play no part in readiness; leaving them out keeps the
    # job small to send to workers.
    lean = replace(scenario, stockpile=None, offers=(), value=())
    return MeasureJob(scenario=lean, measure=measure, method=Method(method), target=target,
                      refine_seconds=refine_seconds)


def fleet_ids(scenario: Scenario) -> list[tuple[str, str]]:
    """(system, site) of every fleet, in the order the engines report them."""
    a = compile_scenario(scenario)
    return [(a.system_ids[k], a.site_ids[s])
            for k, s in zip(a.fleet_system.tolist(), a.fleet_site.tolist(), strict=True)]


def measure_one(job: MeasureJob, scaling: Scaling) -> FloatArray:
    """The measure of one scaled scenario: availability per fleet, or ``[cost]``."""
    scaled = apply_scaling(job.scenario, scaling)
    if job.measure is Measure.AVAILABILITY:
        ev = evaluate_arrays(compile_scenario(scaled), method=job.method)
        return np.asarray(ev.availability, dtype=np.float64)
    try:
        opt = optimize(scaled, target=job.target, method=job.method,
                       refine_seconds=job.refine_seconds)
    except TargetUnreachable:
        return np.array([math.nan])
    return np.array([opt.purchase_cost])


def measure_chunk(job: MeasureJob, scalings: list[Scaling]) -> list[FloatArray]:
    """:func:`measure_one` of each scaling (top level, so worker processes import it)."""
    return [measure_one(job, s) for s in scalings]
