"""One replication with time-phased keys: per-unit lifetimes and a changing fleet.

The logistics (remove and replace, base and depot repair, resupply, condemnation,
sub-items, repair channels) are those of :mod:`sustain.simulate.kernel`, event for
event; what differs is how systems fail and come and go:

- every installed unit has its own life in **operating hours** of its system
  (Weibull, exponential when the shape is 1); a system accumulates hours at
  ``hours_per_day × tempo factor`` while it operates (present, not in battle-damage
  repair, and, unless ``failures_while_down``, not down for a part), so its next
  failure is the unit with the least life left, scheduled in calendar time and
  rescheduled whenever its hour rate changes (stale events are recognised by their
  sequence number, ``due_seq``);
- deliveries, losses (a Poisson rate or given days), battle damage and tempo steps
  are events of their own;
- with cannibalisation, a system whose part fails with an empty shelf takes a good
  unit from the down system at the same site with the most holes (its backorder
  moves to that system), and a unit arriving for systems goes to the waiting system
  with the fewest holes (oldest first among equals): holes are consolidated into as
  few systems as possible.

Monitors per fleet are time integrals of the systems present, up and in
battle-damage repair; availability is system-days up over system-days present.
This kernel is used only when a scenario has time-phased keys, so the steady-state
kernel's hot path carries none of these checks.
"""

from __future__ import annotations

import heapq
from collections import deque

import numpy as np

from sustain.simulate.kernel import BUFFER, Replication
from sustain.simulate.model import SimModel
from sustain.simulate.phased import PhasedModel

FAIL, DONE, ARRIVE, DELIVER, TEMPO, LOSS, LOSS_DAY, DAMAGE, REPAIRED = range(9)
_SYSTEM, _SITE, _JOB = 0, 1, 2
INF = float("inf")


def run_phased(
    m: SimModel,
    p: PhasedModel,
    rng: np.random.Generator,
    *,
    days: float,
    warmup_days: float,
    series_days: np.ndarray,
    failures_while_down: bool,
    exponential_delays: bool,
) -> Replication:
    """Simulate ``days`` calendar days once with the time-phased keys of ``p``."""
    n_s = m.n_sites
    n_flat = m.n_items * n_s
    site_parent, ship_days = m.site_parent, m.ship_days
    sub_items, replace_fraction = m.sub_items, m.replace_fraction
    r_base, c_cond = m.base_repair_fraction, m.condemnation_fraction
    d_base, d_depot, d_proc = m.base_repair_days, m.depot_repair_days, m.procurement_days
    fleet_items, fleet_qty = m.fleet_items, m.fleet_qty
    sys_fleet, sys_site = p.sys_fleet, p.sys_site
    unit_pos_f = p.fleet_unit_pos
    scale, inv_shape = p.item_scale_hours, p.item_inv_shape
    hours, cannibal = p.fleet_hours, p.cannibalisation
    channels = m.channels
    limited = any(channels)
    n_sys = len(sys_fleet)
    n_f = len(m.fleet_count)

    # Logistics state (as kernel.run).
    stock = list(m.stock)
    backlog: list[deque[int]] = [deque() for _ in range(n_flat)]
    busy = [0] * n_s
    waiting: list[deque[tuple[int, float]]] = [deque() for _ in range(n_s)]
    jobs: dict[int, list[float]] = {}
    next_job = 0
    # Systems.
    present = [False] * n_sys
    damaged = [False] * n_sys
    holes = [0] * n_sys
    filled_pos = [list(fleet_qty[sys_fleet[j]]) for j in range(n_sys)]
    due: list[list[float]] = [[] for _ in range(n_sys)]  # per unit: hours at failure
    op = [0.0] * n_sys  # operating hours so far
    op_t = [0.0] * n_sys  # when op was last brought up to date
    rate_h = [0.0] * n_sys  # operating hours per day now
    due_seq = [-1] * n_sys  # seq of the valid FAIL event
    factor = list(p.tempo_start)
    members: list[list[int]] = [[] for _ in range(n_f)]  # present systems per fleet
    with_holes: list[set[int]] = [set() for _ in range(n_s)]  # systems with holes, per site
    # Monitors.
    n_up = [0] * n_f
    n_pres = [0] * n_f
    n_dmg = [0] * n_f
    lost = [0] * n_f
    up_acc = [0.0] * n_f
    pres_acc = [0.0] * n_f
    dmg_acc = [0.0] * n_f
    lev_t = [0.0] * n_f
    bo_acc = [0.0] * n_flat
    bo_t = [0.0] * n_flat
    rep_n = [0] * n_s
    rep_acc = [0.0] * n_s
    rep_t = [0.0] * n_s
    dem = [0] * n_flat
    hit = [0] * n_flat
    counting = warmup_days <= 0.0

    exp_buf: list[float] = []
    uni_buf: list[float] = []
    ei = ui = BUFFER

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

    def life(item: int) -> float:
        """A new unit's life in operating hours (Weibull: η E^(1/k), E ~ Exp(1))."""
        k1 = inv_shape[item]
        e = expo()
        return scale[item] * (e if k1 == 1.0 else e**k1)

    def touch(f: int) -> None:
        dt = now - lev_t[f]
        if dt > 0.0:
            up_acc[f] += n_up[f] * dt
            pres_acc[f] += n_pres[f] * dt
            dmg_acc[f] += n_dmg[f] * dt
        lev_t[f] = now

    def is_up(j: int) -> bool:
        return present[j] and not damaged[j] and holes[j] == 0

    def sync(j: int) -> None:
        op[j] += rate_h[j] * (now - op_t[j])
        op_t[j] = now

    def resched(j: int) -> None:
        """New hour rate of system ``j`` and its next failure (after a change of state)."""
        nonlocal seq
        sync(j)
        f = sys_fleet[j]
        working = present[j] and not damaged[j] and (failures_while_down or holes[j] == 0)
        r = hours[f] * factor[f] if working else 0.0
        rate_h[j] = r
        due_seq[j] = -1
        if r > 0.0:
            d = min(due[j]) if due[j] else INF
            if d < INF:
                seq += 1
                due_seq[j] = seq
                push(heap, (now + (d - op[j]) / r, seq, FAIL, j))

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
        nonlocal next_job
        flat = item * n_s + site
        subs = sub_items[item]
        if subs:
            job = next_job
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

    def fill(j: int, item: int) -> None:
        """A good unit of ``item`` goes into one of the empty positions of system ``j``."""
        f = sys_fleet[j]
        pos = fleet_items[f].index(item)
        sync(j)
        units = unit_pos_f[f]
        for u in range(len(units)):
            if units[u] == pos and due[j][u] == INF:
                due[j][u] = op[j] + life(item)
                break
        filled_pos[j][pos] += 1
        holes[j] -= 1
        if holes[j] == 0:
            with_holes[sys_site[j]].discard(j)
            if is_up(j):
                touch(f)
                n_up[f] += 1
        resched(j)

    def supply(flat: int) -> None:
        nonlocal seq
        q = backlog[flat]
        if not q:
            stock[flat] += 1
            return
        bo_acc[flat] += len(q) * (now - bo_t[flat])
        bo_t[flat] = now
        who = q[0]
        if cannibal and who % 3 == _SYSTEM and len(q) > 1:
            # The waiting system with the fewest holes (the oldest among equals).
            best, best_k = who, 0
            for k in range(1, len(q)):
                w = q[k]
                if w % 3 == _SYSTEM and holes[w // 3] < holes[best // 3]:
                    best, best_k = w, k
            who = best
            del q[best_k]
        else:
            q.popleft()
        kind, ident = who % 3, who // 3
        if kind == _SYSTEM:
            fill(ident, flat // n_s)
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

    def cannibalise(j: int, u: int, item: int, site: int) -> bool:
        """Take a good unit of ``item`` for unit ``u`` of ``j`` from a down system."""
        donor, most = -1, 0
        for d in with_holes[site]:
            if d == j or damaged[d] or holes[d] < most or (holes[d] == most and d > donor):
                continue
            f_d = sys_fleet[d]
            if item in fleet_items[f_d] and filled_pos[d][fleet_items[f_d].index(item)] > 0:
                donor, most = d, holes[d]
        if donor < 0:
            return False
        f_d = sys_fleet[donor]
        pos = fleet_items[f_d].index(item)
        sync(donor)
        units = unit_pos_f[f_d]
        best_u, best = -1, INF
        for v in range(len(units)):  # the donor unit with the most life left
            if units[v] == pos and due[donor][v] < INF and (best_u < 0 or due[donor][v] > best):
                best_u, best = v, due[donor][v]
        due[j][u] = op[j] + (best - op[donor])
        due[donor][best_u] = INF
        filled_pos[donor][pos] -= 1
        holes[donor] += 1
        q = backlog[item * n_s + site]
        q[-1] = 3 * donor + _SYSTEM  # the backorder just placed is now the donor's
        resched(donor)
        return True

    def fail(j: int) -> None:
        f = sys_fleet[j]
        sync(j)
        dj = due[j]
        u = dj.index(min(dj))
        pos = unit_pos_f[f][u]
        item = fleet_items[f][pos]
        dj[u] = INF
        site = sys_site[j]
        if demand(item, site, 3 * j + _SYSTEM, True):
            dj[u] = op[j] + life(item)
        elif not (cannibal and cannibalise(j, u, item, site)):
            was_up = is_up(j)
            filled_pos[j][pos] -= 1
            holes[j] += 1
            with_holes[site].add(j)
            if was_up:
                touch(f)
                n_up[f] -= 1
        resched(j)

    def arrive_system(j: int) -> None:
        f = sys_fleet[j]
        present[j] = True
        op[j] = 0.0
        op_t[j] = now
        units = unit_pos_f[f]
        items_f = fleet_items[f]
        due[j] = [life(items_f[units[u]]) for u in range(len(units))]
        touch(f)
        n_pres[f] += 1
        n_up[f] += 1
        members[f].append(j)
        resched(j)

    def lose(j: int) -> None:
        f = sys_fleet[j]
        touch(f)
        n_pres[f] -= 1
        lost[f] += 1
        if is_up(j):
            n_up[f] -= 1
        if damaged[j]:
            n_dmg[f] -= 1
            damaged[j] = False
        present[j] = False
        due_seq[j] = -1
        members[f].remove(j)
        with_holes[sys_site[j]].discard(j)
        # Its backorders are void: a unit that would have filled them fills the next.
        for pos, item in enumerate(fleet_items[f]):
            missing = fleet_qty[f][pos] - filled_pos[j][pos]
            if missing:
                flat = item * n_s + sys_site[j]
                q = backlog[flat]
                bo_acc[flat] += len(q) * (now - bo_t[flat])
                bo_t[flat] = now
                for _ in range(missing):
                    q.remove(3 * j + _SYSTEM)

    def pick(f: int, ok_damaged: bool) -> int:
        """A present system of fleet ``f`` at random (-1: none)."""
        pool = members[f] if ok_damaged else [j for j in members[f] if not damaged[j]]
        if not pool:
            return -1
        return pool[min(int(unif() * len(pool)), len(pool) - 1)]

    # Day-0 systems, then the scheduled changes.
    for j in range(p.n_initial):
        arrive_system(j)
    for k, dl in enumerate(p.deliveries):
        seq += 1
        push(heap, (dl[0], seq, DELIVER, k))
    for k, st in enumerate(p.tempo_steps):
        seq += 1
        push(heap, (st[0], seq, TEMPO, k))
    for k, ld in enumerate(p.loss_days):
        seq += 1
        push(heap, (ld[0], seq, LOSS_DAY, k))
    for f in range(n_f):
        if p.loss_rate[f] > 0:
            seq += 1
            push(heap, (expo() / p.loss_rate[f], seq, LOSS, f))
        if p.damage_rate[f] > 0:
            seq += 1
            push(heap, (expo() / p.damage_rate[f], seq, DAMAGE, f))

    n_samples = len(series_days)
    s_up = np.empty((n_samples, n_f))
    s_pres = np.empty((n_samples, n_f))
    s_dmg = np.empty((n_samples, n_f))
    s_lost = np.empty((n_samples, n_f))

    def snapshot(k: int) -> None:
        s_up[k] = n_up
        s_pres[k] = n_pres
        s_dmg[k] = n_dmg
        s_lost[k] = lost

    sample = 0
    next_sample = float(series_days[0]) if n_samples else INF
    warm_pending = not counting
    next_mark = min(next_sample, warmup_days) if warm_pending else next_sample
    events = 0
    pop = heapq.heappop
    while heap:
        t, sq, kind, arg = pop(heap)
        if t > days:
            break
        if kind == FAIL and sq != due_seq[arg]:
            continue  # superseded by a reschedule
        if t >= next_mark:
            while t > next_sample:  # a sample day shows the events of that very day
                snapshot(sample)
                sample += 1
                next_sample = float(series_days[sample]) if sample < n_samples else INF
            if warm_pending and t >= warmup_days:
                now = warmup_days
                _reset(now, lev_t, up_acc, pres_acc, dmg_acc, backlog, bo_acc, bo_t,
                       rep_n, rep_acc, rep_t)
                dem[:] = [0] * n_flat
                hit[:] = [0] * n_flat
                counting = True
                warm_pending = False
            next_mark = min(next_sample, warmup_days) if warm_pending else next_sample
        now = t
        events += 1
        if kind == FAIL:
            fail(arg)
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
        elif kind == ARRIVE:
            supply(arg)
        elif kind == DELIVER:
            _, f, first, count, spares = p.deliveries[arg]
            for j in range(first, first + count):
                arrive_system(j)
            for flat, qty in spares:
                for _ in range(qty):
                    supply(flat)
        elif kind == TEMPO:
            for f, fac in p.tempo_steps[arg][1]:
                for j in members[f]:
                    sync(j)  # hours so far at the old rate
                factor[f] = fac
                for j in members[f]:
                    resched(j)
        elif kind == LOSS:
            j = pick(arg, True)
            if j >= 0:
                lose(j)
            seq += 1
            push(heap, (now + expo() / p.loss_rate[arg], seq, LOSS, arg))
        elif kind == LOSS_DAY:
            _, f, count = p.loss_days[arg]
            for _ in range(count):
                j = pick(f, True)
                if j >= 0:
                    lose(j)
        elif kind == DAMAGE:
            j = pick(arg, False)
            if j >= 0:
                touch(arg)
                if is_up(j):
                    n_up[arg] -= 1
                damaged[j] = True
                n_dmg[arg] += 1
                resched(j)
                seq += 1
                push(heap, (now + delay(p.damage_repair_days[arg]), seq, REPAIRED, j))
            seq += 1
            push(heap, (now + expo() / p.damage_rate[arg], seq, DAMAGE, arg))
        elif present[arg] and damaged[arg]:  # REPAIRED (void if the system was lost)
            f = sys_fleet[arg]
            touch(f)
            damaged[arg] = False
            n_dmg[f] -= 1
            if is_up(arg):
                n_up[f] += 1
            resched(arg)
    if warm_pending:
        now = warmup_days
        _reset(now, lev_t, up_acc, pres_acc, dmg_acc, backlog, bo_acc, bo_t,
               rep_n, rep_acc, rep_t)
    while sample < n_samples:
        snapshot(sample)
        sample += 1
    now = days
    for f in range(n_f):
        touch(f)
    span = days - warmup_days
    up_int = np.array(up_acc)
    pres_int = np.array(pres_acc)
    avail = np.full(n_f, np.nan)
    np.divide(up_int, pres_int, out=avail, where=pres_int > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(s_pres > 0, s_up / np.maximum(s_pres, 1.0), np.nan)
    bo_int = np.array(
        [bo_acc[x] + len(backlog[x]) * (now - bo_t[x]) for x in range(n_flat)], dtype=np.float64
    )
    rep_int = np.array([rep_acc[s] + rep_n[s] * (now - rep_t[s]) for s in range(n_s)])
    return Replication(
        availability=avail,
        series=share,
        backorders=bo_int / span,
        demands=np.array(dem, dtype=np.float64),
        filled=np.array(hit, dtype=np.float64),
        in_repair=rep_int / span,
        events=events,
        present_mean=pres_int / span,
        up_mean=up_int / span,
        damaged_mean=np.array(dmg_acc) / span,
        lost=np.array(lost, dtype=np.float64),
        series_up=s_up,
        series_present=s_pres,
        series_damaged=s_dmg,
        series_lost=s_lost,
    )


def _reset(
    now: float, lev_t: list[float], up_acc: list[float], pres_acc: list[float],
    dmg_acc: list[float], backlog: list[deque[int]], bo_acc: list[float], bo_t: list[float],
    rep_n: list[int], rep_acc: list[float], rep_t: list[float],
) -> None:
    """Start the integrals afresh at the end of the warm-up (levels are kept)."""
    for f in range(len(lev_t)):
        up_acc[f] = pres_acc[f] = dmg_acc[f] = 0.0
        lev_t[f] = now
    for x in range(len(backlog)):
        bo_acc[x] = 0.0
        bo_t[x] = now
    for x in range(len(rep_n)):
        rep_acc[x] = 0.0
        rep_t[x] = now
