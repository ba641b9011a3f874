"""The simulator's verb: check the run, build the model, replicate, take statistics.

Replication ``r`` always draws from stream ``r`` of
``np.random.SeedSequence(seed).spawn(replications)``, whatever the number of
workers (:mod:`sustain.simulate.dispatch`), so results are identical serially, on a
process pool and on Dask.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import special

from sustain._types import FloatArray
from sustain.errors import SustainError
from sustain.scenario.compile import ScenarioArrays, compile_scenario
from sustain.scenario.model import Scenario
from sustain.simulate.budget import (
    MAX_EVENTS,
    MAX_MEMORY,
    check_limits,
    check_settings,
    events_asked,
    memory_asked,
    refuse_events,
    refuse_memory,
    systems_asked,
)
from sustain.simulate.dispatch import Job, Progress, dispatch
from sustain.simulate.interrupt import sigterm_as_interrupt
from sustain.simulate.kernel import Replication
from sustain.simulate.model import (
    Delays,
    build_model,
    demand_mask,
    file_order,
    stock_matrix,
)
from sustain.simulate.phased import build_phased, is_phased, with_delivered_fleets

#: At most this many points in each fleet's series (the step grows for long runs).
SERIES_MAX_POINTS = 1000


def t_quantile(q: float, df: Any) -> Any:
    """Quantile ``q`` of Student's t distribution with ``df`` >= 1 degrees of freedom.

    ``scipy.special.stdtrit``, the function ``scipy.stats.t.ppf`` evaluates (the same
    numbers to the bit), without importing scipy.stats (about 1 s).
    """
    return special.stdtrit(df, q)


def _t95(values: FloatArray) -> tuple[float, float]:
    """95 % t confidence interval of the mean of ``values`` (a point when n < 2; NaN ignored).

    The values are shares (availability), so the interval is cut to [0, 1], as the
    bands of the series are: with few replications the t interval alone can reach
    past either end.
    """
    values = values[~np.isnan(values)]
    n = values.size
    if n == 0:
        return math.nan, math.nan
    mean = float(values.mean())
    if n < 2:
        return mean, mean
    half = float(t_quantile(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n))
    return max(0.0, mean - half), min(1.0, mean + half)


@dataclass(frozen=True, slots=True, kw_only=True)
class PhasedStats:
    """Per-replication fleet levels of a run with time-phased keys.

    Attributes
    ----------
    present_mean, up_mean, damaged_mean : FloatArray
        (replications × fleets) time-average systems present, up, and in
        battle-damage repair, after the warm-up.
    lost : FloatArray
        (replications × fleets) systems lost by the last day.
    series_up, series_present, series_damaged, series_lost : FloatArray
        (replications × samples × fleets) the same levels at the sample days
        (``lost`` cumulative from day 0).
    """

    present_mean: FloatArray
    up_mean: FloatArray
    damaged_mean: FloatArray
    lost: FloatArray
    series_up: FloatArray
    series_present: FloatArray
    series_damaged: FloatArray
    series_lost: FloatArray
    delivered: tuple[int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulationResult:
    """Statistics of a simulation across replications.

    Attributes
    ----------
    arrays : ScenarioArrays
        The compiled scenario simulated (with the stock simulated).
    days, replications, seed, warmup_days
        The run's settings.
    availability : FloatArray
        (replications × fleets) time-average share of systems up after the warm-up.
    series_days : FloatArray
        Days at which the share of systems up was sampled.
    series : FloatArray
        (replications × samples × fleets) share of systems up at those days.
    backorders, fill_rate : FloatArray
        (items × sites) time-average backorders (mean over replications) and share
        of demands after the warm-up met from stock at once (pooled; NaN if none).
    backorders_reps : FloatArray
        (replications × items × sites) time-average backorders per replication.
    fill_rate_reps : FloatArray
        (replications × items × sites) fill rate per replication (NaN: no demand).
    demands_reps : FloatArray
        (replications × items × sites) demands on the stock after the warm-up.
    in_repair : FloatArray
        (replications × sites) time-average repair jobs at each site (waiting for
        a channel, or in service; a job waiting for sub-items counts from when the
        last of them is there).
    busy : FloatArray or None
        (replications × sites) time-average repair jobs in service at each site: busy
        channels (equal to ``in_repair`` where channels are unlimited).
    availability_fmc : FloatArray or None
        (replications × fleets) time-average share of systems fully mission capable
        (steady-state runs); ``availability`` is mission capable (every essential item
        with its ``needed`` units in place).
    rows : tuple[tuple[int, int], ...]
        (item, site) pairs reported: stocked or able to see demand.
    events : int
        Events processed over all replications.
    failures_while_down : bool
    delays : Delays
    analytic : dict or None
        Comparison with the analytic model, when asked for
        (:func:`sustain.crosscheck.simulate` with ``compare=True``).
    repair_shops : list of dict or None
        Offered load and utilisation of the sites with repair channels
        (:func:`sustain.crosscheck.simulate`, when some site has channels).
    """

    arrays: ScenarioArrays
    days: float
    replications: int
    seed: int
    warmup_days: float
    availability: FloatArray
    series_days: FloatArray
    series: FloatArray
    backorders: FloatArray
    backorders_reps: FloatArray
    fill_rate: FloatArray
    fill_rate_reps: FloatArray
    in_repair: FloatArray
    rows: tuple[tuple[int, int], ...]
    events: int
    failures_while_down: bool
    delays: Delays
    analytic: dict[str, Any] | None = field(default=None)
    repair_shops: list[dict[str, Any]] | None = field(default=None)
    phased: PhasedStats | None = field(default=None)
    demands_reps: FloatArray | None = field(default=None)
    busy: FloatArray | None = field(default=None)
    availability_fmc: FloatArray | None = field(default=None)

    @property
    def availability_fmc_mean(self) -> FloatArray | None:
        """Per fleet: share of systems fully mission capable (every position filled),
        averaged over replications; None where not simulated (a time-phased run of a
        scenario with redundant or inessential items)."""
        if self.availability_fmc is None:
            return self.availability_mean if not self.arrays.mission_split else None
        return np.asarray(self.availability_fmc.mean(axis=0), dtype=np.float64)

    @property
    def availability_mean(self) -> FloatArray:
        """Per fleet: availability averaged over replications (NaN: never any system)."""
        a = self.availability
        ok = ~np.isnan(a)
        n = ok.sum(axis=0)
        total = np.where(ok, a, 0.0).sum(axis=0)
        out = np.full(a.shape[1], np.nan)
        np.divide(total, n, out=out, where=n > 0)
        return out

    def availability_ci95(self) -> list[tuple[float, float]]:
        """Per fleet: 95 % t confidence interval of the availability."""
        return [_t95(self.availability[:, f]) for f in range(self.availability.shape[1])]

    def backorders_ci(self, level: float = 0.95) -> tuple[FloatArray, FloatArray]:
        """(items × sites) lower and upper confidence limits of mean backorders."""
        x = self.backorders_reps
        n = x.shape[0]
        mean = x.mean(axis=0)
        if n < 2:
            return mean, mean
        half = t_quantile(0.5 + level / 2, n - 1) * x.std(axis=0, ddof=1) / math.sqrt(n)
        return mean - half, mean + half

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``sustain simulate --json`` (shared/spec), plus extras."""
        a = self.arrays
        fleets = []
        cis = self.availability_ci95()
        n = self.replications
        ph = self.phased
        if ph is None:
            tq = float(t_quantile(0.975, n - 1)) if n > 1 else 0.0
            s_mean = self.series.mean(axis=0)
            s_half = (
                tq * self.series.std(axis=0, ddof=1) / math.sqrt(n) if n > 1
                else np.zeros_like(s_mean)
            )
        else:
            s_mean, s_half = _nan_mean_half(self.series)
        avail = self.availability_mean
        fmc = self.availability_fmc_mean
        for f in range(a.fleet_system.size):
            if ph is None and a.fleet_count[f] == 0:
                # No systems: no availability (as in evaluate).
                fleets.append({
                    "system": a.system_ids[a.fleet_system[f]],
                    "site": a.site_ids[a.fleet_site[f]],
                    "count": int(a.fleet_count[f]), "availability": None,
                    "availability_ci95": None, "series": [], "availability_fmc": None,
                })
                continue
            # Time-phased: no availability when no replication had the fleet present
            # for a system-day after the warm-up (kernel_phased.MIN_PRESENT_SYSTEM_DAYS).
            present = not math.isnan(avail[f])
            lo, hi = cis[f]
            series = [
                {
                    "day": float(d) if d != int(d) else int(d),
                    "mean": float(s_mean[k, f]),
                    "lo": float(max(0.0, s_mean[k, f] - s_half[k, f])),
                    "hi": float(min(1.0, s_mean[k, f] + s_half[k, f])),
                }
                for k, d in enumerate(self.series_days.tolist())
            ]
            entry: dict[str, Any] = {
                "system": a.system_ids[a.fleet_system[f]],
                "site": a.site_ids[a.fleet_site[f]],
                "count": int(a.fleet_count[f]),
                "availability": float(avail[f]) if present else None,
                "availability_ci95": [lo, hi] if present else None,
                "series": series,
                "availability_fmc": (
                    float(fmc[f]) if present and fmc is not None and not math.isnan(fmc[f])
                    else None
                ),
            }
            if ph is not None:
                _phased_fleet(entry, ph, f)
            fleets.append(entry)
        items = []
        for i, s in self.rows:
            fr = float(self.fill_rate[i, s])
            items.append({
                "item": a.item_ids[i],
                "site": a.site_ids[s],
                "backorders_mean": float(self.backorders[i, s]),
                "fill_rate": None if math.isnan(fr) else fr,
            })
        rep = self.in_repair.mean(axis=0)
        doc: dict[str, Any] = {
            "days": int(self.days) if self.days == int(self.days) else self.days,
            "replications": self.replications,
            "seed": self.seed,
            "warmup_days": (
                int(self.warmup_days) if self.warmup_days == int(self.warmup_days)
                else self.warmup_days
            ),
            "fleets": fleets,
            "items": items,
            "repair": [
                {"site": a.site_ids[s], "in_repair_mean": float(rep[s])}
                for s in range(a.n_sites) if rep[s] > 0
            ],
            "failures_while_down": self.failures_while_down,
            "delays": str(self.delays),
            "events": self.events,
        }
        if self.repair_shops:
            doc["repair_shops"] = self.repair_shops
        if self.analytic is not None:
            doc["analytic"] = self.analytic
        return doc


def _nan_mean_half(x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Mean over axis 0 ignoring NaN, and the 95 % t half-width (0 with < 2 values)."""
    ok = ~np.isnan(x)
    cnt = ok.sum(axis=0)
    z = np.where(ok, x, 0.0)
    mean = np.full(x.shape[1:], np.nan)
    np.divide(z.sum(axis=0), cnt, out=mean, where=cnt > 0)
    dev = np.where(ok, x - mean, 0.0)
    var = np.zeros(x.shape[1:])
    np.divide((dev**2).sum(axis=0), cnt - 1, out=var, where=cnt > 1)
    tq = np.where(cnt > 1, t_quantile(0.975, np.maximum(cnt - 1, 1)), 0.0)
    half = tq * np.sqrt(var / np.maximum(cnt, 1))
    return mean, half


def _phased_fleet(entry: dict[str, Any], ph: PhasedStats, f: int) -> None:
    """Add the levels of a time-phased run to one fleet's entry (and its series points)."""
    entry["delivered"] = ph.delivered[f]
    entry["present_mean"] = float(ph.present_mean[:, f].mean())
    entry["up_mean"] = float(ph.up_mean[:, f].mean())
    entry["battle_repair_mean"] = float(ph.damaged_mean[:, f].mean())
    entry["lost_mean"] = float(ph.lost[:, f].mean())
    up = ph.series_up[:, :, f].mean(axis=0)
    pres = ph.series_present[:, :, f].mean(axis=0)
    dmg = ph.series_damaged[:, :, f].mean(axis=0)
    lost = ph.series_lost[:, :, f].mean(axis=0)
    for k, point in enumerate(entry["series"]):
        if math.isnan(point["mean"]):
            point["mean"] = point["lo"] = point["hi"] = None
        point["up"] = float(up[k])
        point["present"] = float(pres[k])
        point["battle_repair"] = float(dmg[k])
        point["lost"] = float(lost[k])


def _as_arrays(scenario: Scenario | ScenarioArrays) -> ScenarioArrays:
    if isinstance(scenario, ScenarioArrays):
        return scenario
    if isinstance(scenario, Scenario):
        return compile_scenario(scenario)
    raise SustainError(
        f"simulate: expected a Scenario or ScenarioArrays, got {type(scenario).__name__}"
    )


def simulate(
    scenario: Scenario | ScenarioArrays,
    *,
    days: float,
    replications: int,
    seed: int,
    warmup_days: float | None = None,
    stock: FloatArray | Mapping[tuple[str, str], float] | None = None,
    failures_while_down: bool = False,
    delays: Delays | str = Delays.DETERMINISTIC,
    repair_channels: Mapping[str, int] | None = None,
    cannibalisation: bool | None = None,
    workers: int = 1,
    dask_address: str | Any | None = None,
    progress: Progress | None = None,
    max_events: float = MAX_EVENTS,
    max_memory: float = MAX_MEMORY,
) -> SimulationResult:
    """Simulate the support system, ``replications`` times.

    A :class:`Scenario` may carry time-phased keys (deliveries, tempo, attrition,
    battle damage, Weibull lifetimes, cannibalisation; docs/simulate.md), site
    ``repair_channels`` and ``simulation`` settings; compiled arrays are steady state.

    Parameters
    ----------
    scenario : Scenario or ScenarioArrays
        A validated scenario or its compiled arrays.
    days : float
        Calendar days simulated per replication (including the warm-up).
    replications : int
        Independent replications; replication ``r`` uses stream ``r`` of
        ``SeedSequence(seed).spawn(replications)``.
    seed : int
        The seed (``0`` is a seed like any other).
    warmup_days : float, optional
        Statistics start after this many days (the run starts with every system up
        and the scenario's stock on the shelf).  Default: the scenario's
        ``simulation.warmup_days``, else 0.
    stock : array (items × sites) or mapping {(item, site): qty}, optional
        Spares to simulate instead of the scenario's stock.
    failures_while_down : bool
        False (default, realistic): a system that is down accumulates no operating
        hours, so its other parts do not fail.  True: every installed unit keeps
        failing at its rate (the analytic model's Poisson-demand assumption).
    delays : {"deterministic", "exponential"}
        Distribution of repair, shipping and procurement times (mean as stated).
    repair_channels : mapping {site: c}, optional
        Parallel repair channels at those sites (FCFS queue); unlimited elsewhere.
        Adds to (and for a site named in both, overrides) the sites'
        ``repair_channels`` in the scenario.
    cannibalisation : bool, optional
        A system down for a part takes it from another down system at the site
        (default: the scenario's ``simulation.cannibalisation``, else off).
    workers : int
        Worker processes (1 runs in this process).
    dask_address : str or dask.distributed.Client, optional
        Run the replications on this Dask scheduler (or client) instead.
    progress : callable(done, total), optional
        Called as replications complete.
    max_events : float
        Refuse a run estimated to process more events than this, over all
        replications (default 2e9, a few minutes of one core; docs/simulate.md).
    max_memory : float
        Refuse a run estimated to hold more bytes than this at once (default 2 GiB).

    Returns
    -------
    SimulationResult

    Raises
    ------
    SustainError
        A setting out of range (``days`` up to 1,000,000, ``replications`` up to
        1,000,000, ``workers`` up to 1,024), or a run beyond ``max_events`` or
        ``max_memory``: the message says how much was asked and which input drives it.
    """
    sc = scenario if isinstance(scenario, Scenario) else None
    if warmup_days is None:
        given = sc.simulation.warmup_days if sc is not None else None
        if given is not None and sc is not None and given >= days:
            raise SustainError(
                f"{sc.source}: simulation.warmup_days must be less than the days simulated "
                f"({days:g}): got {given:g} (or give --warmup)"
            )
        warmup_days = given if given is not None else 0.0
    days, warmup_days, replications, workers, seed = check_settings(
        days, warmup_days, replications, workers, seed)
    max_events, max_memory = check_limits(max_events, max_memory)
    try:
        delays = Delays(delays)
    except ValueError:
        raise SustainError(
            f"simulate: delays must be 'deterministic' or 'exponential', got {delays!r}"
        ) from None
    if sc is None and cannibalisation:
        raise SustainError(
            "simulate: cannibalisation needs the Scenario (compiled arrays are steady state)"
        )
    phased = sc is not None and is_phased(sc, cannibalisation)
    if sc is not None and sc.deliveries:
        sc = with_delivered_fleets(sc)
    a = _as_arrays(sc if sc is not None else scenario)
    st = stock_matrix(a, stock)
    a = a.with_stock(st)
    channels = {s.id: s.repair_channels for s in sc.sites if s.repair_channels} if sc else {}
    channels.update(repair_channels or {})
    step = max(1.0, math.ceil(days / SERIES_MAX_POINTS))
    series_days = np.arange(0.0, days + 1e-9, step)
    refuse_memory(memory_asked(
        a, systems_asked(a, sc, days), phased=phased, replications=replications,
        workers=1 if dask_address is not None else min(workers, replications),
        samples=series_days.size,
    ), max_memory)
    model = build_model(a, st, channels, file_order(sc, a))
    pm = None
    if phased and sc is not None:
        pm = build_phased(
            sc, a, model.fleet_qty, model.sys_fleet, model.sys_site,
            cannibalisation=(
                sc.simulation.cannibalisation if cannibalisation is None else cannibalisation
            ),
            days=days,
        )
    work = events_asked(model, pm, a, sc, days)
    refuse_events(work, days, replications, max_events)
    job = Job(
        model=model, days=days, warmup_days=warmup_days,
        series_days=series_days, failures_while_down=bool(failures_while_down),
        exponential_delays=delays is Delays.EXPONENTIAL, phased=pm,
    )
    seeds = np.random.SeedSequence(seed).spawn(replications)
    with sigterm_as_interrupt():
        reps = dispatch(job, seeds, workers=workers, dask_address=dask_address,
                        progress=progress, events_per_replication=work.amount)
    return _summarise(a, job, reps, seed, delays)


def _summarise(
    a: ScenarioArrays, job: Job, reps: list[Replication], seed: int, delays: Delays
) -> SimulationResult:
    n_i, n_s = a.n_items, a.n_sites
    bo = np.stack([r.backorders for r in reps]).reshape(len(reps), n_i, n_s)
    dem_r = np.stack([r.demands for r in reps]).reshape(len(reps), n_i, n_s)
    hit_r = np.stack([r.filled for r in reps]).reshape(len(reps), n_i, n_s)
    fill_r = np.full(dem_r.shape, np.nan)
    np.divide(hit_r, dem_r, out=fill_r, where=dem_r > 0)
    demands, filled = dem_r.sum(axis=0), hit_r.sum(axis=0)
    fill = np.full((n_i, n_s), np.nan)
    np.divide(filled, demands, out=fill, where=demands > 0)
    ph = None
    if job.phased is not None:
        delivered = np.zeros(a.fleet_system.size, dtype=np.int64)
        for day, f, _, count, _ in job.phased.deliveries:
            if count and day <= job.days:  # a later delivery never comes in the run
                delivered[f] += count
        a_mask = replace(a, fleet_count=a.fleet_count + delivered)

        def cat(name: str) -> FloatArray:
            return np.stack([getattr(r, name) for r in reps])

        ph = PhasedStats(
            present_mean=cat("present_mean"), up_mean=cat("up_mean"),
            damaged_mean=cat("damaged_mean"), lost=cat("lost"), series_up=cat("series_up"),
            series_present=cat("series_present"), series_damaged=cat("series_damaged"),
            series_lost=cat("series_lost"), delivered=tuple(int(x) for x in delivered),
        )
    else:
        a_mask = a
    mask = demand_mask(a_mask) | (a.stock > 0)
    if job.phased is not None:  # spares delivered later are held there too
        for *_, spares in job.phased.deliveries:
            for flat, _qty in spares:
                mask[flat // n_s, flat % n_s] = True
    ii, ss = np.nonzero(mask)
    return SimulationResult(
        arrays=a,
        days=job.days,
        replications=len(reps),
        seed=seed,
        warmup_days=job.warmup_days,
        availability=np.stack([r.availability for r in reps]),
        series_days=job.series_days,
        series=np.stack([r.series for r in reps]),
        backorders=bo.mean(axis=0),
        backorders_reps=bo,
        fill_rate=fill,
        fill_rate_reps=fill_r,
        in_repair=np.stack([r.in_repair for r in reps]),
        busy=np.stack([r.busy for r in reps]),
        rows=tuple(zip(ii.tolist(), ss.tolist(), strict=True)),
        events=int(sum(r.events for r in reps)),
        failures_while_down=job.failures_while_down,
        delays=delays,
        phased=ph,
        demands_reps=dem_r,
        availability_fmc=_stack_fmc([r.availability_fmc for r in reps]),
    )


def _stack_fmc(rows: list[FloatArray | None]) -> FloatArray | None:
    """(replications × fleets) fully-mission-capable availability, None if not simulated."""
    kept = [r for r in rows if r is not None]
    return np.stack(kept) if kept and len(kept) == len(rows) else None
