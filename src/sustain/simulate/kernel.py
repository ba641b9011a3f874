"""One replication: a lean event loop on a binary heap (the hot path).

Events are tuples ``(time_days, seq, kind, arg)`` on a :mod:`heapq`; ``seq`` grows
by one per scheduled event, so ties break in scheduling order and no random
numbers are spent on bookkeeping (style guide §6).  Three kinds:

``FAIL`` (arg: system)
    The system's next failure.  Each system carries one Poisson clock at the rate
    of all its installed units; the failure is assigned to an installed position
    with probability proportional to ``Z_i / MTBF_i`` and *thinned* (ignored) when
    that position is not working: when the system is down in the realistic
    default (a down system accumulates no hours), or when the position is empty
    with ``failures_while_down=True``.  Thinning a Poisson process by the state is
    exact for exponential lifetimes and needs no cancellation.
``DONE`` (arg: flat item·site)
    A repair finishes (frees a channel when capacity is limited), a good unit
    joins the site's stock.
``ARRIVE`` (arg: flat item·site)
    A good unit arrives (shipment from the parent, procurement): it fills the
    oldest backorder at the site (FCFS) or joins the stock.

The logistics follow the analytic model (``sustain.readiness.metric``): a
failure is a demand on the site's stock (remove and replace; the system waits
for a part when none is there); the broken unit is repaired on site with
probability ``base_repair_fraction`` (``base_repair_days``), otherwise a
replacement is ordered from the parent (one for one; the parent ships after
``order_ship_days`` when it has stock, otherwise when its backorders ahead are
filled) and the broken unit goes to the root, where it is repaired
(``depot_repair_days``) or, with probability ``condemnation_fraction``, scrapped
and replaced after ``procurement_days``.  A repair of an item starts by drawing
its sub-items (each with probability ``replace_fraction``) from the repair
site's stock; a missing sub-item is backordered there and the repair time
starts when the last of them arrives.  Monitors are time-weighted levels,
integrated after the warm-up.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass

import numpy as np

from sustain._types import FloatArray
from sustain.simulate.model import SimModel

FAIL, DONE, ARRIVE = 0, 1, 2
#: Random numbers are drawn from the generator this many at a time.
BUFFER = 8192
#: Backorder requesters are coded ``3 * id + kind``.
_SYSTEM, _SITE, _JOB = 0, 1, 2


@dataclass(frozen=True, slots=True, kw_only=True)
class Replication:
    """Raw results of one replication (arrays over fleets, flat item·site, sites)."""

    availability: FloatArray  # per fleet, time average after warm-up
    series: FloatArray  # (samples × fleets) share of systems up at each sample day
    backorders: FloatArray  # per flat item·site, time average
    demands: FloatArray  # per flat item·site, count after warm-up
    filled: FloatArray  # per flat item·site, met from stock at once
    in_repair: FloatArray  # per site, time-average repair jobs (waiting + in service)
    events: int
    # Time-phased runs only (kernel_phased): per fleet, time averages after the warm-up
    # and systems lost by the end; (samples × fleets) levels at the sample days.
    present_mean: FloatArray | None = None
    up_mean: FloatArray | None = None
    damaged_mean: FloatArray | None = None
    lost: FloatArray | None = None
    series_up: FloatArray | None = None
    series_present: FloatArray | None = None
    series_damaged: FloatArray | None = None
    series_lost: FloatArray | None = None


def run(
    m: SimModel,
    rng: np.random.Generator,
    *,
    days: float,
    warmup_days: float,
    series_days: FloatArray,
    failures_while_down: bool,
    exponential_delays: bool,
) -> Replication:
    """Simulate ``days`` calendar days once and return time-weighted averages."""
    n_s = m.n_sites
    n_flat = m.n_items * n_s
    site_parent, ship_days = m.site_parent, m.ship_days
    sub_items, replace_fraction = m.sub_items, m.replace_fraction
    r_base, c_cond = m.base_repair_fraction, m.condemnation_fraction
    d_base, d_depot, d_proc = m.base_repair_days, m.depot_repair_days, m.procurement_days
    sys_fleet, sys_site, sys_rate = m.sys_fleet, m.sys_site, m.sys_rate
    fleet_items, fleet_cum = m.fleet_items, m.fleet_cum
    channels = m.channels
    limited = any(channels)
    n_sys = len(sys_fleet)
    n_f = len(m.fleet_count)

    # State.
    stock = list(m.stock)
    backlog: list[deque[int]] = [deque() for _ in range(n_flat)]
    filled_pos = [list(m.fleet_qty[sys_fleet[j]]) for j in range(n_sys)]
    qty_pos = [m.fleet_qty[sys_fleet[j]] for j in range(n_sys)]
    holes = [0] * n_sys
    busy = [0] * n_s
    waiting: list[deque[tuple[int, float]]] = [deque() for _ in range(n_s)]
    jobs: dict[int, list[float]] = {}  # job id -> [flat, days, pending]
    next_job = 0
    # Monitors (levels, their integrals and the time of last change).
    down = [0] * n_f
    down_acc = [0.0] * n_f
    down_t = [0.0] * n_f
    bo_acc = [0.0] * n_flat
    bo_t = [0.0] * n_flat
    rep_n = [0] * n_s
    rep_acc = [0.0] * n_s
    rep_t = [0.0] * n_s
    dem = [0] * n_flat
    hit = [0] * n_flat
    counting = warmup_days <= 0.0

    # Random numbers, drawn in blocks (the order of use is fixed, so runs repeat).
    exp_buf: list[float] = []
    uni_buf: list[float] = []
    ei = ui = BUFFER  # empty: the first use draws a block

    def expo() -> float:
        nonlocal exp_buf, ei
        if ei >= BUFFER:
            exp_buf = rng.standard_exponential(BUFFER).tolist()
            ei = 0
        ei += 1
        return exp_buf[ei - 1]

    def unif() -> float:
        nonlocal uni_buf, ui
        if ui >= BUFFER:
            uni_buf = rng.random(BUFFER).tolist()
            ui = 0
        ui += 1
        return uni_buf[ui - 1]

    heap: list[tuple[float, int, int, int]] = []
    seq = 0
    now = 0.0
    push = heapq.heappush

    def delay(d: float) -> float:
        return d * expo() if exponential_delays and d > 0 else d

    def start_job(flat: int, site: int, d: float) -> None:
        nonlocal seq
        rep_acc[site] += rep_n[site] * (now - rep_t[site])
        rep_t[site] = now
        rep_n[site] += 1
        if limited and channels[site]:
            if busy[site] >= channels[site]:
                waiting[site].append((flat, d))
                return
            busy[site] += 1
        seq += 1
        push(heap, (now + d, seq, DONE, flat))

    def repair(item: int, site: int, d: float) -> None:
        """Begin repairing one unit of ``item`` at ``site``: sub-items first."""
        nonlocal next_job
        flat = item * n_s + site
        subs = sub_items[item]
        if subs:
            job = next_job  # ids are never reused: nested repairs take their own
            next_job += 1
            pending = 0
            for u in subs:
                if unif() < replace_fraction[u] and not demand(u, site, 3 * job + _JOB, True):
                    pending += 1
            if pending:
                jobs[job] = [flat, d, pending]
                return
        start_job(flat, site, d)

    def demand(item: int, site: int, who: int, local: bool) -> bool:
        """A request on the stock of ``item`` at ``site``; True when met at once."""
        nonlocal seq
        flat = item * n_s + site
        if counting:
            dem[flat] += 1
        if stock[flat] > 0:
            stock[flat] -= 1
            if counting:
                hit[flat] += 1
            met = True
            if who % 3 == _SITE:
                seq += 1
                push(heap, (now + delay(ship_days[who // 3]), seq, ARRIVE, flat - site + who // 3))
        else:
            q = backlog[flat]
            bo_acc[flat] += len(q) * (now - bo_t[flat])
            bo_t[flat] = now
            q.append(who)
            met = False
        # Replenish the site one for one.
        parent = site_parent[site]
        if parent < 0:
            c = c_cond[item]
            if c > 0.0 and unif() < c:
                seq += 1
                push(heap, (now + delay(d_proc[item]), seq, ARRIVE, flat))
            else:
                repair(item, site, delay(d_depot[item]))
        else:
            r = r_base[item]
            if local and r > 0.0 and (r >= 1.0 or unif() < r):
                repair(item, site, delay(d_base[item]))
            else:
                demand(item, parent, 3 * site + _SITE, False)
        return met

    def supply(flat: int) -> None:
        """A good unit of ``flat`` is ready at its site: fill the oldest backorder."""
        nonlocal seq
        q = backlog[flat]
        if not q:
            stock[flat] += 1
            return
        bo_acc[flat] += len(q) * (now - bo_t[flat])
        bo_t[flat] = now
        who = q.popleft()
        kind, ident = who % 3, who // 3
        if kind == _SYSTEM:
            item = flat // n_s
            pos = fleet_items[sys_fleet[ident]].index(item)
            filled_pos[ident][pos] += 1
            holes[ident] -= 1
            if holes[ident] == 0:
                f = sys_fleet[ident]
                down_acc[f] += down[f] * (now - down_t[f])
                down_t[f] = now
                down[f] -= 1
        elif kind == _SITE:
            seq += 1
            push(heap, (now + delay(ship_days[ident]), seq, ARRIVE, flat - flat % n_s + ident))
        else:
            job = jobs[ident]
            job[2] -= 1
            if job[2] == 0:
                del jobs[ident]
                jflat = int(job[0])
                start_job(jflat, jflat % n_s, job[1])

    # First failure of every system.
    for j in range(n_sys):
        if sys_rate[j] > 0:
            seq += 1
            push(heap, (expo() / sys_rate[j], seq, FAIL, j))
    n_samples = len(series_days)
    series = np.empty((n_samples, n_f))
    counts = np.maximum(np.array(m.fleet_count, dtype=np.float64), 1.0)
    sample = 0
    next_sample = float(series_days[0]) if n_samples else float("inf")
    warm_pending = not counting
    # One threshold for both bookkeeping marks keeps the loop to one comparison.
    next_mark = min(next_sample, warmup_days) if warm_pending else next_sample
    events = 0
    pop = heapq.heappop
    while heap:
        t, _, kind, arg = pop(heap)
        if t > days:
            break
        if t >= next_mark:
            while t >= next_sample:
                series[sample] = 1.0 - np.array(down) / counts
                sample += 1
                next_sample = float(series_days[sample]) if sample < n_samples else float("inf")
            if warm_pending and t >= warmup_days:
                now = warmup_days
                _reset(down, down_acc, down_t, backlog, bo_acc, bo_t, rep_n, rep_acc, rep_t, now)
                dem[:] = [0] * n_flat
                hit[:] = [0] * n_flat
                counting = True
                warm_pending = False
            next_mark = min(next_sample, warmup_days) if warm_pending else next_sample
        now = t
        events += 1
        if kind == FAIL:
            # The next failure of this system, then which position failed (inlined
            # draws from the buffers: this is the most frequent event).
            if ei >= BUFFER:
                exp_buf = rng.standard_exponential(BUFFER).tolist()
                ei = 0
            seq += 1
            push(heap, (now + exp_buf[ei] / sys_rate[arg], seq, FAIL, arg))
            ei += 1
            if ui >= BUFFER:
                uni_buf = rng.random(BUFFER).tolist()
                ui = 0
            u = uni_buf[ui]
            ui += 1
            f = sys_fleet[arg]
            cum = fleet_cum[f]
            pos = bisect_right(cum, u)  # first position whose cumulative share > u
            if pos >= len(cum):  # u rounds up to the last share
                pos = len(cum) - 1
            if failures_while_down:
                # Thin by the share of the item's positions that hold a unit.
                lo = cum[pos - 1] if pos else 0.0
                frac = (u - lo) / (cum[pos] - lo)
                if frac * qty_pos[arg][pos] >= filled_pos[arg][pos]:
                    continue
            elif holes[arg]:
                continue
            if demand(fleet_items[f][pos], sys_site[arg], 3 * arg + _SYSTEM, True):
                continue  # replaced from the shelf at once
            filled_pos[arg][pos] -= 1
            if holes[arg] == 0:
                down_acc[f] += down[f] * (now - down_t[f])
                down_t[f] = now
                down[f] += 1
            holes[arg] += 1
        elif kind == DONE:
            site = arg % n_s
            rep_acc[site] += rep_n[site] * (now - rep_t[site])
            rep_t[site] = now
            rep_n[site] -= 1
            if limited and channels[site]:
                if waiting[site]:
                    flat, d = waiting[site].popleft()
                    seq += 1
                    push(heap, (now + d, seq, DONE, flat))
                else:
                    busy[site] -= 1
            supply(arg)
        else:
            supply(arg)
    if warm_pending:  # the warm-up outlasts the events: start counting at its end
        now = warmup_days
        _reset(down, down_acc, down_t, backlog, bo_acc, bo_t, rep_n, rep_acc, rep_t, now)
    while sample < n_samples:
        series[sample] = 1.0 - np.array(down) / counts
        sample += 1
    now = days
    span = days - warmup_days
    down_int = np.array([down_acc[f] + down[f] * (now - down_t[f]) for f in range(n_f)])
    bo_int = np.array(
        [bo_acc[x] + len(backlog[x]) * (now - bo_t[x]) for x in range(n_flat)], dtype=np.float64
    )
    rep_int = np.array([rep_acc[s] + rep_n[s] * (now - rep_t[s]) for s in range(n_s)])
    return Replication(
        availability=1.0 - down_int / (counts * span),
        series=series,
        backorders=bo_int / span,
        demands=np.array(dem, dtype=np.float64),
        filled=np.array(hit, dtype=np.float64),
        in_repair=rep_int / span,
        events=events,
    )


def _reset(
    down: list[int], down_acc: list[float], down_t: list[float],
    backlog: list[deque[int]], bo_acc: list[float], bo_t: list[float],
    rep_n: list[int], rep_acc: list[float], rep_t: list[float], now: float,
) -> None:
    """Start the integrals afresh at the end of the warm-up (levels are kept)."""
    for x in range(len(down)):
        down_acc[x] = 0.0
        down_t[x] = now
    for x in range(len(backlog)):
        bo_acc[x] = 0.0
        bo_t[x] = now
    for x in range(len(rep_n)):
        rep_acc[x] = 0.0
        rep_t[x] = now
