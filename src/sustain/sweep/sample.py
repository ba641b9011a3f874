"""Uncertainty propagation: scenarios drawn from the ``uncertainty:`` section, each
measured, and the distribution of the results.

Sampling design
---------------
Each distribution of the section is one random input (one dimension): a shared key
(``mtbf_hours`` at the top) is one multiplier for everything it covers but the items
that have their own row; an ``items`` row's distribution is that item's own
multiplier.  ``n`` points are drawn from a scrambled Latin hypercube on the unit cube
(McKay, Beckman and Conover 1979; SciPy's ``qmc.LatinHypercube``, seeded by ``seed``):
each input's range of probabilities is cut into ``n`` equal strata and each stratum
is used exactly once, so every marginal is covered evenly.  Point ``r``'s coordinate
``u`` becomes the multiplier ``F⁻¹(u)`` of its distribution (inverse transform):

* lognormal, mean 1, coefficient of variation ``cv``: ``exp(μ + σ Φ⁻¹(u))`` with
  ``σ² = ln(1 + cv²)``, ``μ = −σ²/2``;
* triangular (``a`` low, ``c`` mode, ``b`` high): ``a + √(u (b−a)(c−a))`` when
  ``u < (c−a)/(b−a)``, else ``b − √((1−u)(b−a)(b−c))``;
* uniform: ``a + u (b − a)``.

The draws are made here, before any work is split, so the results are the same
whatever the number of workers.  Quantiles are empirical (NumPy's default: linear
between order statistics); the probability of meeting a target is the share of draws
that meet it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtri

from sustain._types import FloatArray
from sustain.optimize.api import fleet_targets
from sustain.readiness.metric import Method
from sustain.scenario.compile import compile_scenario
from sustain.scenario.model import Scenario
from sustain.scenario.uncertainty import DistKind, Distribution
from sustain.simulate.dispatch import Progress, map_chunks
from sustain.sweep.factors import FactorName, Scaling, SweepError
from sustain.sweep.importance import MIN_SAMPLES, Indices, index_rows, sobol_indices
from sustain.sweep.measure import Measure, measure_chunk, measure_job

#: The quantiles reported.
QUANTILES = (0.05, 0.5, 0.95)
#: Most samples one run may draw.
MAX_SAMPLES = 1_000_000
#: Coordinates of the unit cube are kept this far inside (0, 1): an inverse CDF at 0
#: or 1 may be 0 or infinite.
EDGE = 1e-12


def multipliers(dist: Distribution, u: FloatArray) -> FloatArray:
    """The multipliers ``F⁻¹(u)`` of ``dist`` for probabilities ``u`` in (0, 1)."""
    u = np.clip(np.asarray(u, dtype=np.float64), EDGE, 1.0 - EDGE)
    if dist.kind is DistKind.LOGNORMAL:
        sigma2 = math.log1p(dist.cv**2)
        return np.asarray(np.exp(-sigma2 / 2 + math.sqrt(sigma2) * ndtri(u)))
    a, b = dist.low, dist.high
    if dist.kind is DistKind.UNIFORM:
        return a + u * (b - a)
    c = dist.mode
    split = (c - a) / (b - a)
    return np.where(u < split, a + np.sqrt(u * (b - a) * (c - a)),
                    b - np.sqrt((1.0 - u) * (b - a) * (b - c)))


@dataclass(frozen=True, slots=True, kw_only=True)
class RandomInput:
    """One dimension of the design: a multiplier of ``factor`` where ``mask`` is 1 (over
    the scenario's items, sites or fleets, in its order)."""

    name: str
    factor: FactorName
    dist: Distribution
    mask: FloatArray
    covers: str

    def to_dict(self) -> dict[str, Any]:
        """``name``, ``covers`` and the distribution as the section gives it."""
        d = self.dist
        params = ({"cv": d.cv} if d.kind is DistKind.LOGNORMAL
                  else {"low": d.low, "high": d.high} if d.kind is DistKind.UNIFORM
                  else {"low": d.low, "mode": d.mode, "high": d.high})
        return {"name": self.name, "covers": self.covers, "dist": str(d.kind), **params}


def random_inputs(scenario: Scenario) -> list[RandomInput]:
    """The dimensions of the design, from the scenario's ``uncertainty:`` section.

    Raises
    ------
    SweepError
        The scenario has no section, or the section covers nothing.
    """
    u = scenario.uncertainty
    if u is None:
        raise SweepError(f"{scenario.source}: no uncertainty section: say how far inputs "
                         "may be off, e.g. uncertainty: {mtbf_hours: {dist: lognormal, "
                         "cv: 0.3}} (docs/sweep.md)")
    own_mtbf = {r.item for r in u.items if r.mtbf_hours is not None}
    own_repair = {r.item for r in u.items if r.repair_days is not None}
    items = scenario.items
    out: list[RandomInput] = []

    def add(name: str, factor: FactorName, dist: Distribution | None, hit: list[bool],
            covers: str) -> None:
        if dist is not None and any(hit):
            out.append(RandomInput(name=name, factor=factor, dist=dist,
                                   mask=np.array(hit, dtype=np.float64), covers=covers))

    def but(own: set[str]) -> str:
        return f" but {', '.join(sorted(own))}" if own else ""

    add("mtbf_hours", FactorName.MTBF, u.mtbf_hours,
        [i.mtbf_hours is not None and i.id not in own_mtbf for i in items],
        "every item with an MTBF" + but(own_mtbf))
    add("repair_days", FactorName.REPAIR_DAYS, u.repair_days,
        [(i.base_repair_days > 0 or i.depot_repair_days > 0) and i.id not in own_repair
         for i in items], "every item" + but(own_repair))
    add("order_ship_days", FactorName.ORDER_SHIP_DAYS, u.order_ship_days,
        [s.order_ship_days > 0 for s in scenario.sites], "every site with a resupply time")
    add("hours_per_day", FactorName.TEMPO, u.hours_per_day,
        [True] * len(scenario.fleets), "every fleet")
    for row in u.items:
        add(f"mtbf_hours of {row.item}", FactorName.MTBF, row.mtbf_hours,
            [i.id == row.item for i in items], f"item {row.item}")
        add(f"repair_days of {row.item}", FactorName.REPAIR_DAYS, row.repair_days,
            [i.id == row.item and (i.base_repair_days > 0 or i.depot_repair_days > 0)
             for i in items], f"item {row.item}")
    if not out:
        raise SweepError(f"{scenario.source}: the uncertainty section covers nothing this "
                         "scenario has (no item with an MTBF or repair time, no resupply "
                         "time, no fleet)")
    return out


def design(n: int, d: int, seed: int) -> FloatArray:
    """``n`` points of a scrambled Latin hypercube in ``d`` dimensions (seeded)."""
    # Imported here, not at the top: scipy.stats (about 1 s to import) only for this.
    from scipy.stats import qmc

    sampler = qmc.LatinHypercube(d, rng=np.random.default_rng(seed))
    return np.asarray(sampler.random(n), dtype=np.float64)


def draw(scenario: Scenario, inputs: list[RandomInput], samples: int,
         seed: int) -> tuple[FloatArray, list[Scaling]]:
    """The multipliers (samples × inputs) and the scaling of each sample."""
    u = design(samples, len(inputs), seed)
    x = np.column_stack([multipliers(inp.dist, u[:, j]) for j, inp in enumerate(inputs)])
    return x, scalings_of(scenario, inputs, x)


def scalings_of(scenario: Scenario, inputs: list[RandomInput],
                x: FloatArray) -> list[Scaling]:
    """The scaling of each row of multipliers ``x`` (rows × inputs)."""
    base = Scaling.identity(scenario)
    scalings = []
    for r in range(x.shape[0]):
        s = base
        for j, inp in enumerate(inputs):
            s = s.times(inp.factor, np.where(inp.mask > 0, x[r, j], 1.0))
        scalings.append(s)
    return scalings


def importance_streams(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Generators of the importance design's second sample ``B`` and of its bootstrap:
    streams spawned from ``seed``, independent of the propagation's own (``seed``)."""
    b, boot = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(b), np.random.default_rng(boot)


def importance_draws(inputs: list[RandomInput], x: FloatArray,
                     rng: np.random.Generator) -> tuple[FloatArray, list[FloatArray]]:
    """The second sample ``B`` (a Latin hypercube of the same size as ``x``, drawn with
    ``rng``) and, per input ``i``, ``x`` with its column ``i`` taken from ``B``
    (Saltelli 2002): the points of :mod:`sustain.sweep.importance`'s design."""
    # Imported here, not at the top: scipy.stats (about 1 s to import) only for this.
    from scipy.stats import qmc

    n, d = x.shape
    u = np.asarray(qmc.LatinHypercube(d, rng=rng).random(n), dtype=np.float64)
    xb = np.column_stack([multipliers(inp.dist, u[:, j]) for j, inp in enumerate(inputs)])
    mixed = []
    for i in range(d):
        xi = x.copy()
        xi[:, i] = xb[:, i]
        mixed.append(xi)
    return xb, mixed


def _value(x: float) -> float | None:
    return None if not math.isfinite(x) else float(x)


@dataclass(frozen=True, slots=True, kw_only=True)
class Propagation:
    """The results of an uncertainty propagation.

    Attributes
    ----------
    measure : Measure
    samples, seed : int
    inputs : tuple of RandomInput
    multipliers : FloatArray
        (samples × inputs) the multipliers drawn.
    fleets : tuple of (str, str)
        (system, site) of each fleet.
    counts : FloatArray
        Systems per fleet.
    base : FloatArray
        The measure of the scenario as given (per fleet, or ``[cost]``).
    values : FloatArray
        (samples × fleets) availability, or (samples × 1) cost (``inf``: the target
        cannot be reached in that draw).
    targets : FloatArray
        Per fleet (NaN: none).
    target : float, mapping or None
        As given.
    importance : Indices or None
        Sobol' indices (inputs × outputs) when asked for: the outputs are the share of
        all systems up then each fleet (availability), or the cost.
    """

    measure: Measure
    samples: int
    seed: int
    inputs: tuple[RandomInput, ...]
    multipliers: FloatArray
    fleets: tuple[tuple[str, str], ...]
    counts: FloatArray
    base: FloatArray
    values: FloatArray
    targets: FloatArray
    target: float | Mapping[str, float] | None = None
    importance: Indices | None = None

    def quantiles(self) -> FloatArray:
        """(quantiles × columns) of :data:`QUANTILES` (NaN for a fleet of no systems)."""
        with np.errstate(invalid="ignore"):
            return np.asarray(np.quantile(self.values, QUANTILES, axis=0))

    def mean(self) -> FloatArray:
        """The mean of each column (``inf`` for a cost some draw cannot reach)."""
        return np.asarray(np.mean(self.values, axis=0))

    def meets(self) -> FloatArray:
        """(samples × fleets) True where a fleet with a target meets it."""
        with np.errstate(invalid="ignore"):
            return np.asarray(self.values >= self.targets - 1e-9)

    def p_meet(self) -> FloatArray:
        """Per fleet, the share of draws that meet its target (NaN: no target)."""
        p = np.mean(self.meets(), axis=0)
        return np.where(np.isnan(self.targets), np.nan, p)

    def p_all_meet(self) -> float:
        """The share of draws in which every fleet with a target meets it (NaN: none)."""
        has = ~np.isnan(self.targets) & (self.counts > 0)
        if not np.any(has):
            return math.nan
        return float(np.mean(np.all(self.meets()[:, has], axis=1)))

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``sustain sweep --samples --json``."""
        q, mean = self.quantiles(), self.mean()
        doc: dict[str, Any] = {
            "measure": str(self.measure),
            "samples": self.samples,
            "seed": self.seed,
            "design": "latin-hypercube",
            "inputs": [inp.to_dict() for inp in self.inputs],
            "target": dict(self.target) if isinstance(self.target, Mapping) else self.target,
        }
        if self.measure is Measure.COST:
            doc["cost"] = {
                "base": _value(float(self.base[0])), "mean": _value(float(mean[0])),
                "q05": _value(float(q[0, 0])), "q50": _value(float(q[1, 0])),
                "q95": _value(float(q[2, 0])),
                "p_reachable": float(np.mean(np.isfinite(self.values[:, 0]))),
            }
            if self.importance is not None:
                doc["importance"] = self.importance_dict()
            return doc
        p = self.p_meet()
        doc["fleets"] = [
            {"system": k, "site": s, "count": int(self.counts[j]),
             "base": _value(float(self.base[j])), "mean": _value(float(mean[j])),
             "q05": _value(float(q[0, j])), "q50": _value(float(q[1, j])),
             "q95": _value(float(q[2, j])), "target": _value(float(self.targets[j])),
             "p_meet": _value(float(p[j]))}
            for j, (k, s) in enumerate(self.fleets)
        ]
        doc["p_all_meet"] = _value(self.p_all_meet())
        if self.importance is not None:
            doc["importance"] = self.importance_dict()
        return doc

    def importance_dict(self) -> dict[str, Any]:
        """The ``importance`` part of the JSON document (the Sobol' indices)."""
        ind = self.importance
        if ind is None:
            raise ValueError("no importance computed: propagate(..., importance=True)")
        names = [inp.name for inp in self.inputs]
        doc: dict[str, Any] = {
            "design": "saltelli", "base_samples": ind.samples,
            "evaluations": ind.samples * (len(names) + 2),
            "first_order": "saltelli-2010", "total": "jansen-1999",
            "confidence": ind.confidence, "resamples": ind.resamples,
        }
        if self.measure is Measure.COST:
            doc["cost"] = index_rows(ind, names, 0)
            return doc
        doc["all_systems"] = index_rows(ind, names, 0)
        doc["fleets"] = [{"system": k, "site": s, "indices": index_rows(ind, names, 1 + j)}
                         for j, (k, s) in enumerate(self.fleets)]
        return doc


def propagate(
    scenario: Scenario,
    *,
    samples: int,
    seed: int,
    measure: Measure | str = Measure.AVAILABILITY,
    target: float | Mapping[str, float] | None = None,
    method: Method | str = Method.VARI_METRIC,
    refine_seconds: float = 0.0,
    workers: int = 1,
    dask_address: str | Any | None = None,
    progress: Progress | None = None,
    importance: bool = False,
) -> Propagation:
    """Draw ``samples`` scenarios from the ``uncertainty:`` section and measure each.

    Parameters
    ----------
    scenario : Scenario
        With an ``uncertainty:`` section.
    samples : int
        Scenarios drawn (1 to :data:`MAX_SAMPLES`).
    seed : int
        Seed of the Latin hypercube (0 is a seed).
    measure, target, method, refine_seconds, workers, dask_address, progress
        As for :func:`sustain.sweep.sensitivity`; with the availability, ``target``
        gives the probability of meeting it.
    importance : bool
        Also the Sobol' indices of the inputs (:mod:`sustain.sweep.importance`): the
        draws are the design's sample ``A``; ``samples × (inputs + 1)`` more scenarios
        are measured.  The quantiles do not change.

    Raises
    ------
    SweepError
        No section, a section that covers nothing, a number of samples out of range,
        the cost without a target.
    """
    if not 1 <= samples <= MAX_SAMPLES:
        raise SweepError(f"--samples {samples}: must be a whole number from 1 to "
                         f"{MAX_SAMPLES:,}")
    if seed < 0:
        raise SweepError(f"--seed {seed}: must be a whole number >= 0")
    if importance and samples < MIN_SAMPLES:
        raise SweepError(f"--importance needs --samples {MIN_SAMPLES} or more: got {samples}")
    inputs = random_inputs(scenario)
    job = measure_job(scenario, measure, method=method, target=target,
                      refine_seconds=refine_seconds)
    x, scalings = draw(scenario, inputs, samples, seed)
    tasks = [Scaling.identity(scenario), *scalings]
    if importance:
        b_rng, boot_rng = importance_streams(seed)
        xb, mixed = importance_draws(inputs, x, b_rng)
        for xi in (xb, *mixed):
            tasks += scalings_of(scenario, inputs, xi)
    results = np.array(map_chunks(measure_chunk, job, tasks,
                                  workers=workers, dask_address=dask_address,
                                  progress=progress, what="sweep with --dask"))
    a = compile_scenario(scenario)
    fleets = tuple((a.system_ids[k], a.site_ids[s])
                   for k, s in zip(a.fleet_system.tolist(), a.fleet_site.tolist(), strict=True))
    indices = None
    if importance:
        outs = importance_outputs(job.measure, results[1:], a.fleet_count)
        n, d = samples, len(inputs)
        indices = sobol_indices(outs[:n].T, outs[n:2 * n].T,
                                outs[2 * n:].reshape(d, n, -1).transpose(0, 2, 1),
                                rng=boot_rng)
    values = results[1:samples + 1]
    if job.measure is Measure.COST:
        values = np.where(np.isnan(values), np.inf, values)
        targets = np.full(len(fleets), np.nan)
    else:
        targets = fleet_targets(a, target)
    return Propagation(
        measure=job.measure, samples=samples, seed=seed, inputs=tuple(inputs),
        multipliers=x, fleets=fleets, counts=a.fleet_count, base=results[0], values=values,
        targets=targets, target=target, importance=indices,
    )


def importance_outputs(measure: Measure, results: FloatArray, counts: FloatArray) -> FloatArray:
    """(rows × outputs) the outputs whose importance is reported: the share of all
    systems up (Σ N·A / Σ N over the fleets with systems) then each fleet's
    availability, or the cost (NaN: the target cannot be reached)."""
    if measure is Measure.COST:
        return results
    has = counts > 0
    total = float(np.sum(counts[has]))
    share = (results[:, has] @ counts[has] / total if total > 0
             else np.full(results.shape[0], np.nan))
    return np.column_stack([share, results])
