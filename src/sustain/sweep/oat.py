"""One-at-a-time sensitivity: each factor at its low and its high multiplier, the others
as in the scenario.

For F factors the sweep measures 1 + 2F scenarios (the scenario itself, then each
factor at ``low`` and at ``high``), in parallel when asked (:func:`map_chunks`); each is
measured on its own, so the results do not depend on the number of workers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sustain._types import FloatArray
from sustain.readiness.metric import Method
from sustain.scenario.compile import compile_scenario
from sustain.scenario.model import Scenario
from sustain.simulate.dispatch import Progress, map_chunks
from sustain.sweep.factors import (
    Factor,
    Scaling,
    Selection,
    SweepError,
    check_selection,
    factor_mask,
    one_factor,
    parse_factor,
)
from sustain.sweep.measure import Measure, measure_chunk, measure_job


def _value(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def share_up(availability: FloatArray, counts: FloatArray) -> float:
    """The share of all systems up: Σ N·A / Σ N over the fleets with systems."""
    has = counts > 0
    total = float(np.sum(counts[has]))
    return float(np.sum(counts[has] * availability[has]) / total) if total > 0 else np.nan


@dataclass(frozen=True, slots=True, kw_only=True)
class Sensitivity:
    """A one-at-a-time sweep's results.

    Attributes
    ----------
    measure : Measure
        ``availability`` (per fleet) or ``cost`` (one number).
    factors : tuple of Factor
        In the order given.
    fleets : tuple of (str, str)
        (system, site) of each fleet (the columns of the availability arrays).
    counts : FloatArray
        Systems per fleet.
    base : FloatArray
        The measure of the scenario as it is: per fleet, or ``[cost]``.
    at_low, at_high : FloatArray
        (factors × fleets), or (factors × 1) for the cost.
    target : float, mapping or None
        The target of the cost measure.
    """

    measure: Measure
    factors: tuple[Factor, ...]
    fleets: tuple[tuple[str, str], ...]
    counts: FloatArray
    base: FloatArray
    at_low: FloatArray
    at_high: FloatArray
    target: float | Mapping[str, float] | None = None

    def totals(self) -> tuple[float, FloatArray, FloatArray]:
        """(base, at_low, at_high) of the share of all systems up (availability), or of
        the cost."""
        if self.measure is Measure.COST:
            return float(self.base[0]), self.at_low[:, 0], self.at_high[:, 0]
        return (share_up(self.base, self.counts),
                np.array([share_up(r, self.counts) for r in self.at_low]),
                np.array([share_up(r, self.counts) for r in self.at_high]))

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``sustain sweep --json``."""
        factors = []
        for n, f in enumerate(self.factors):
            row: dict[str, Any] = {"name": str(f.name), "low": f.low, "high": f.high}
            if self.measure is Measure.COST:
                row["cost"] = {"base": _value(self.base[0]), "at_low": _value(self.at_low[n, 0]),
                               "at_high": _value(self.at_high[n, 0])}
            else:
                row["fleets"] = [
                    {"system": k, "site": s, "base": _value(self.base[j]),
                     "at_low": _value(self.at_low[n, j]), "at_high": _value(self.at_high[n, j])}
                    for j, (k, s) in enumerate(self.fleets)
                ]
            factors.append(row)
        doc: dict[str, Any] = {"measure": str(self.measure), "factors": factors}
        if self.measure is Measure.COST:
            doc["target"] = (dict(self.target) if isinstance(self.target, Mapping)
                             else self.target)
        return doc


def sensitivity(
    scenario: Scenario,
    factors: Sequence[Factor | str],
    *,
    select: Selection | None = None,
    measure: Measure | str = Measure.AVAILABILITY,
    target: float | Mapping[str, float] | None = None,
    method: Method | str = Method.VARI_METRIC,
    refine_seconds: float = 0.0,
    workers: int = 1,
    dask_address: str | Any | None = None,
    progress: Progress | None = None,
) -> Sensitivity:
    """Each factor at its low and its high multiplier, one at a time.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    factors : sequence of Factor or str
        Such as ``"mtbf=0.8:1.2"`` (:func:`~sustain.sweep.factors.parse_factor`);
        each name once.
    select : Selection, optional
        The items, systems or sites the factors apply to (default: all).
    measure : {"availability", "cost"}
        Fleet availability for the stock held, or the cost of the purchases that
        reach ``target`` (``optimize`` with ``refine_seconds``; 0, the default, runs
        the greedy alone, which is deterministic).
    target : float or mapping, optional
        As for :func:`sustain.optimize`; needed for the cost.
    method : {"vari-metric", "metric", "exact"}
        The pipeline model (the cost takes the first two).
    workers : int
        Worker processes (1: in this process).
    dask_address : str or distributed.Client, optional
        Run on this Dask scheduler instead.
    progress : callable, optional
        ``progress(done, total)`` as scenarios are measured.

    Raises
    ------
    SweepError
        No factor, a factor given twice, a selection that does not apply to a factor
        or leaves it nothing to scale, the cost without a target.
    """
    parsed = [f if isinstance(f, Factor) else parse_factor(f) for f in factors]
    if not parsed:
        raise SweepError("give at least one factor to vary (--vary mtbf=0.8:1.2)")
    names = [f.name for f in parsed]
    for name in names:
        if names.count(name) > 1:
            raise SweepError(f"--vary {name}: given twice")
    select = select or Selection()
    check_selection(parsed, select)
    job = measure_job(scenario, measure, method=method, target=target,
                      refine_seconds=refine_seconds)
    tasks = [Scaling.identity(scenario)]
    for f in parsed:
        mask = factor_mask(scenario, f.name, select)
        tasks += [one_factor(scenario, f.name, f.low, mask),
                  one_factor(scenario, f.name, f.high, mask)]
    results = np.array(map_chunks(measure_chunk, job, tasks, workers=workers,
                                  dask_address=dask_address, progress=progress,
                                  what="sweep with --dask"))
    a = compile_scenario(scenario)
    fleets = tuple((a.system_ids[k], a.site_ids[s])
                   for k, s in zip(a.fleet_system.tolist(), a.fleet_site.tolist(), strict=True))
    return Sensitivity(
        measure=job.measure, factors=tuple(parsed), fleets=fleets, counts=a.fleet_count,
        base=results[0], at_low=results[1::2], at_high=results[2::2], target=target,
    )
