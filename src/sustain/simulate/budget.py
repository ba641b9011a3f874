"""What a simulation asks for, checked before it starts: settings, memory and events.

A run is refused with a :class:`~sustain.errors.SustainError` that says how much it
asked and which input drives it when its settings are out of range, when its arrays
would take more than ``max_memory`` bytes, or when it would process more than
``max_events`` events (both keywords of :func:`sustain.simulate.simulate`).  The
estimates are deliberately simple and on the high side (docs/simulate.md):

- **events** per replication: :data:`REPLICATION_EVENTS` for the replication itself,
  plus every system's failures at its full rate (tempo
  included), each followed by one event per leg of resupply to the repair site and
  one per repair, and as many again for the sub-items that repair replaces (their
  replace fractions); losses (at most the systems there are), battle damage (at most
  one hit per system per repair time) and tempo steps (a reschedule per system);
- **memory**: the per-system and per-item·site arrays of each worker's loop, the
  model handed to each worker, and the results of every replication (kept until the
  statistics are taken).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sustain.errors import SustainError
from sustain.scenario.compile import ScenarioArrays
from sustain.scenario.model import Scenario
from sustain.simulate.model import SimModel
from sustain.simulate.phased import PhasedModel

#: Default of ``simulate(max_events=)``: about 2-4 minutes of one core.
MAX_EVENTS = 2e9
#: Work of one replication besides its events (its streams, arrays and statistics),
#: counted as this many events: measured about 1 ms a replication of a scenario with
#: almost no events, the time of about 1,400 estimated events (``benchmarks/simulate.py``
#: cases); counted on the high side, so that many replications of an almost idle
#: scenario cannot pass the budget by having no events.
REPLICATION_EVENTS = 2_000
#: With cannibalisation, the work of scanning one system for a donor, counted in events:
#: a delivery of 36,501 systems with about 650 failures a day took 22 s of one core per
#: 100-day replication (about 9 ns a system scanned, an event about 100 ns).
CANNIBAL_SCAN_EVENTS = 0.1
#: Default of ``simulate(max_memory=)``, bytes.
MAX_MEMORY = 2.0 * 2**30
#: Settings accepted (a longer run, or more of them, is refused before it starts).
MAX_DAYS = 1_000_000
MAX_REPLICATIONS = 1_000_000
MAX_WORKERS = 1_024
#: Bytes per system beyond its positions and units: the loop's per-system arrays, its
#: place in the event heap, and the model's per-system entries (Python and NumPy).
_BYTES_PER_SYSTEM = 320
#: Bytes per item·site pair in the loop (stock, counts, integrals, queues).
_BYTES_PER_FLAT = 160


@dataclass(frozen=True, slots=True)
class Ask:
    """An amount asked for and the input that drives it, in words."""

    amount: float
    driver: str


def _real(name: str, x: Any) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float | np.integer | np.floating):
        raise SustainError(f"simulate: {name} must be a number, got {x!r}")
    return float(x)


def _whole(name: str, x: Any, hi: int) -> int:
    ok = not isinstance(x, bool) and (
        isinstance(x, int | np.integer) or (isinstance(x, float | np.floating) and
                                            math.isfinite(x) and float(x).is_integer())
    )
    if not ok or x < 1:
        raise SustainError(f"simulate: {name} must be a whole number >= 1, got {x!r}")
    if x > hi:
        raise SustainError(f"simulate: {name} must be at most {hi:,}, got {x!r}")
    return int(x)


def check_settings(
    days: Any, warmup_days: Any, replications: Any, workers: Any, seed: Any
) -> tuple[float, float, int, int, int]:
    """The run's settings as numbers, or a SustainError naming the one out of range."""
    d = _real("days", days)
    if not (math.isfinite(d) and d > 0):
        raise SustainError(f"simulate: days must be a positive number, got {days!r}")
    if d > MAX_DAYS:
        raise SustainError(
            f"simulate: days must be at most {MAX_DAYS:,} (about 2,700 years), got {days!r}"
        )
    w = _real("warmup_days", warmup_days)
    if not 0 <= w < d:
        raise SustainError(
            f"simulate: warmup_days must be >= 0 and less than days ({days}), "
            f"got {warmup_days!r}"
        )
    reps = _whole("replications", replications, MAX_REPLICATIONS)
    n_workers = _whole("workers", workers, MAX_WORKERS)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SustainError(f"simulate: seed must be a whole number >= 0, got {seed!r}")
    return d, w, reps, n_workers, int(seed)


def _installed(a: ScenarioArrays) -> tuple[int, int]:
    """Most positions (items that can fail) and most units installed in one system type."""
    can_fail = (a.qty_per_system > 0) & (a.failures_per_hour[:, None] > 0)
    if can_fail.size == 0:
        return 0, 0
    units = np.where(can_fail, a.qty_per_system, 0.0).sum(axis=0)
    return int(can_fail.sum(axis=0).max()), int(units.max())


def systems_asked(a: ScenarioArrays, scenario: Scenario | None, days: float) -> int:
    """Systems the run numbers: the day-0 fleets and the deliveries within ``days``."""
    counts = np.asarray(a.fleet_count, dtype=np.float64)
    if not np.all(np.isfinite(counts) & (counts >= 0) & (counts == np.round(counts))):
        raise SustainError("simulate: fleet counts must be whole numbers >= 0")
    n = sum(round(float(c)) for c in counts)
    if scenario is not None:
        n += sum(d.count for d in scenario.deliveries if d.count > 0 and d.day <= days)
    return n


def memory_asked(
    a: ScenarioArrays, n_sys: int, *, phased: bool, replications: int, workers: int,
    samples: int,
) -> Ask:
    """Bytes the run would hold at once, and the largest term in words."""
    positions, units = _installed(a)
    per_system = 8 * (positions + (units if phased else 0)) + _BYTES_PER_SYSTEM
    flat = a.n_items * a.n_sites
    n_f = int(a.fleet_system.size)
    per_rep = 8 * (samples * n_f * (5 if phased else 1) + 3 * flat + 2 * a.n_sites + 5 * n_f)
    terms = [
        (workers * n_sys * per_system,
         f"{n_sys:,} systems × {positions + (units if phased else 0):,} installed "
         f"positions and units" + (f" × {workers} workers" if workers > 1 else "")),
        (workers * flat * _BYTES_PER_FLAT,
         f"{a.n_items:,} items × {a.n_sites:,} sites"
         + (f" × {workers} workers" if workers > 1 else "")),
        (3 * replications * per_rep,
         f"{replications:,} replications × {samples:,} series days × {n_f:,} fleets"),
    ]
    total = float(sum(t for t, _ in terms))
    return Ask(total, max(terms)[1])


def _chain(a: ScenarioArrays) -> np.ndarray:
    """Expected repair jobs per repair of each item (itself and the sub-items replaced)."""
    chain = np.ones(a.n_items)
    for u in range(a.n_items - 1, -1, -1):  # compiled order: parents before sub-items
        p = int(a.item_parent[u])
        if p >= 0:
            chain[p] += float(a.replace_fraction[u]) * chain[u]
    return chain


def _tempo_mean(p: PhasedModel, days: float) -> np.ndarray:
    """Per fleet, the tempo factor averaged over [0, days]."""
    f0 = np.array(p.tempo_start, dtype=np.float64)
    area = np.zeros_like(f0)
    t, cur = 0.0, f0.copy()
    for day, change in p.tempo_steps:
        if day >= days:
            break
        area += cur * (day - t)
        t = day
        for f, x in change:
            cur[f] = x
    area += cur * (days - t)
    return area / days


def events_asked(
    m: SimModel, p: PhasedModel | None, a: ScenarioArrays, scenario: Scenario | None,
    days: float,
) -> Ask:
    """Events one replication of ``days`` would process (on the high side), and the
    largest source in words (per day)."""
    n_f = len(m.fleet_count)
    present = np.array(m.fleet_count, dtype=np.float64)  # average systems present
    tempo = np.ones(n_f)
    if p is not None:
        tempo = _tempo_mean(p, days)
        for day, f, _first, count, _spares in p.deliveries:
            if count > 0 and day <= days:
                present[f] += count * (days - day) / days
    depth = np.zeros(a.n_sites)
    for s in range(a.n_sites):
        q = int(a.site_parent[s])
        while q >= 0:
            depth[s] += 1
            q = int(a.site_parent[q])
    chain = _chain(a)
    per_day = np.zeros((a.n_items, a.n_sites))  # failures a day of each item at each site
    events = 0.0
    for f in range(n_f):
        s = int(a.fleet_site[f])
        k = int(a.fleet_system[f])
        rate = a.qty_per_system[:, k] * a.failures_per_hour
        fails = present[f] * float(a.fleet_hours_per_day[f]) * tempo[f] * rate
        per_day[:, s] += fails
        events += float((fails * (1.0 + (depth[s] + 1.0) * chain)).sum()) * days
    sources = []
    if per_day.size:
        top_i, top_s = (int(x) for x in np.unravel_index(int(np.argmax(per_day)), per_day.shape))
        most = float(per_day[top_i, top_s])
        sources.append((most, _item_name(a, scenario, top_i)
                        + f" fails {most:.2g} times a day at {a.site_ids[top_s]}"))
    if p is not None:
        events += len(p.deliveries) + sum(
            sum(present[f] for f, _ in change) for day, change in p.tempo_steps if day <= days
        )
        n_max = np.array(m.fleet_count, dtype=np.float64) + 1.0
        for _day, f, _first, count, _spares in p.deliveries:
            n_max[f] += max(count, 0) + 1
        for f in range(n_f):
            name = f"{a.system_ids[a.fleet_system[f]]!r} at {a.site_ids[a.fleet_site[f]]!r}"
            loss = min(p.loss_rate[f] * days, n_max[f])
            hits = p.damage_rate[f] * days
            if p.damage_repair_days[f] > 0:
                hits = min(hits, n_max[f] * (days / p.damage_repair_days[f] + 1.0))
            events += loss + 2.0 * hits
            sources.append((loss / days, f"the attrition of {name} "
                            f"({p.loss_rate[f]:.2g} losses a day)"))
            sources.append((2.0 * hits / days, f"the battle damage of {name} "
                            f"({p.damage_rate[f]:.2g} systems a day)"))
        if p.cannibalisation:
            # Each failure searches the site's systems for a donor (and each fill the
            # systems waiting there): counted per system scanned.
            at_site = np.zeros(a.n_sites)
            for f in range(n_f):
                at_site[int(a.fleet_site[f])] += n_max[f]
            scans = per_day.sum(axis=0) * at_site * CANNIBAL_SCAN_EVENTS
            events += float(scans.sum()) * days
            if scans.size:
                s = int(np.argmax(scans))
                sources.append((float(scans[s]), f"cannibalisation at {a.site_ids[s]}: each "
                                f"of {per_day[:, s].sum():.2g} failures a day searches its "
                                f"{at_site[s]:,.0f} systems for a donor"))
    return Ask(events, max(sources)[1] if sources else "no failures")


def _item_name(a: ScenarioArrays, scenario: Scenario | None, i: int) -> str:
    """``items[4] 'X'`` (its row in the scenario) or ``item 'X'`` (compiled arrays)."""
    iid = a.item_ids[i]
    if scenario is not None:
        rows = [n for n, it in enumerate(scenario.items) if it.id == iid]
        if rows:
            return f"items[{rows[0]}] {iid!r}"
    return f"item {iid!r}"


def refuse_memory(ask: Ask, limit: float) -> None:
    """Raise when the run would hold more than ``limit`` bytes."""
    if not ask.amount <= limit:
        raise SustainError(
            f"simulate: about {ask.amount / 2**30:.3g} GiB of memory asked ({ask.driver}); "
            f"the limit is {limit / 2**30:.3g} GiB (max_memory): lower the replications "
            "(--reps) or the workers (--workers), or simulate fewer systems"
        )


def refuse_events(ask: Ask, days: float, replications: int, limit: float) -> None:
    """Raise when ``replications`` runs of ``days`` would process more than ``limit``."""
    total = (ask.amount + REPLICATION_EVENTS) * replications
    if not total <= limit:
        if ask.amount < REPLICATION_EVENTS:  # the replications themselves drive it
            raise SustainError(
                f"simulate: about {total:.2g} events asked ({replications:,} replications, "
                f"each counted as {REPLICATION_EVENTS:,} events for its own work besides "
                f"about {ask.amount:.2g} events in {days:g} days); the limit is "
                f"{limit:.2g} events (max_events): lower the replications (--reps)"
            )
        raise SustainError(
            f"simulate: about {total:.2g} events asked ({ask.driver} × {days:g} days × "
            f"{replications:,} replications); the limit is {limit:.2g} events (max_events): "
            "lower the replications (--reps) or the days (--days)"
        )


def check_limits(max_events: Any, max_memory: Any) -> tuple[float, float]:
    """The two budgets as positive numbers."""
    out: Sequence[float] = [_real(n, x) for n, x in (("max_events", max_events),
                                                      ("max_memory", max_memory))]
    for name, x in zip(("max_events", "max_memory"), out, strict=True):
        if not x > 0:
            raise SustainError(f"simulate: {name} must be a positive number, got {x!r}")
    return out[0], out[1]
