"""The compiled event loop of the simulator (numba, ``cache=True``): one loop, two modes.

Everything compiled lives in this one file, so numba's cache, which is keyed on the
source file of each function, can never serve code compiled from an older version
of a routine the loop calls.  The Python side is :mod:`sustain.simulate.kernel`
(steady state) and :mod:`sustain.simulate.kernel_phased` (time-phased).

:func:`_loop` runs one replication; :func:`_run` processes events until the run ends
or the next event might overflow an array, and :func:`_loop` then grows the arrays and
calls it again.  What belongs to one mode only sits behind a test on an argument that
is ``None`` in the other mode: ``if sd is not None:`` (``sd``, the steady-state mode's
arrays: one Poisson clock per system, failures thinned by its state) and ``if phased is
not None:`` (the time-phased mode: per-unit lives in operating hours, deliveries, tempo,
losses, battle damage, cannibalisation; its arrays are ``ph``).  numba prunes a branch
on an argument that is ``None`` before it types the function, so each of the two
compiled specialisations holds only its own mode's code; the logistics (demands,
backorders, repairs, repair channels, resupply, sub-items) are written once.  ``ph`` is
unpacked unconditionally (a steady-state run passes placeholders): arrays unpacked
under a test that numba cannot prune made the time-phased loop ~6 % slower.

Written for numba's reference counting: every array is bound to a local name once
per call of :func:`_run` and never rebound inside its event loop, and the loop calls
no function that takes arrays except the small heap routines, ``_touch``, for
deliveries ``_new_unit_lives``, and with cannibalisation ``_fill_key`` (once per waiting
system when a unit fills one of several backorders).  Rebinding arrays or calling larger
helpers with arrays costs atomic reference-count updates per array per call (measured
~100 ns per call of a 5-array helper), so the logistics are inlined.  The replenishments a demand
sets off go through an explicit work stack of ``(op, a, b, c, unit)`` rows:

``_DEMAND (item, site, who)``
    A request on the stock of ``item`` at ``site`` (``who = 3 * id + kind``: a
    system, a child site, a repair job); unmet, it joins the FIFO backorders there,
    and a system goes down or a repair job waits for one more sub-item.  ``unit`` is
    the failed unit of a system's demand (time-phased mode).  A system's demand that
    finds the shelf empty takes a spare from the nearest linked site holding one
    (``lat_*``, lateral resupply): the spare arrives after the link's days and fills
    the oldest backorder there, and that site takes over the ``_REPL``.
``_REPL (item, site, local)``
    Replace one unit taken from ``site``: repair it there (``local`` and the base
    repair draw), condemn and procure at the root, or order from the parent
    (another ``_DEMAND`` and ``_REPL`` one level up).  A repair is a job: it pushes
    ``_START`` below the demands of its sub-items, which are handled in the scenario's
    order (``sub_idx``): repair jobs that start at the same instant reach a site's
    repair channels in that order.
``_START (job)``
    Start the job's repair time when no sub-item is still missing (a channel
    permitting); pushed again by the supply that fills its last sub-item.

Events are ``(time_days, seq, code)`` with ``code = NK * arg + kind``; ``seq`` grows by
one per scheduled event, so ties break in scheduling order.
"""

# ruff: noqa: SIM102  (a mode test stays alone in its `if`, the form numba prunes)
from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np

# Event kinds (``code = NK * arg + kind``); the steady-state mode uses the first three.
FAIL, DONE, ARRIVE, DELIVER, TEMPO, LOSS, LOSS_DAY, DAMAGE, REPAIRED = range(9)
NK = 9
# Who waits in a backorder queue (``who = 3 * id + kind``).
_SYSTEM, _SITE, _JOB = 0, 1, 2
# Work-stack operations and columns.
_DEMAND, _REPL, _START = 0, 1, 2
W_OP, W_A, W_B, W_C, W_UNIT = range(5)
# Rows of ``item_f`` (per item): replace fraction, base-repair fraction, condemnation
# fraction, base repair days, depot repair days, procurement days.
I_REPLACE, I_BASE, I_CONDEMN, I_BASE_DAYS, I_DEPOT_DAYS, I_PROCURE_DAYS = range(6)
N_ITEM_ROWS = 6
# Rows of ``lev`` (per fleet, time-phased): systems up (mission capable), present, in
# battle-damage repair, time of the last change, lost, fully mission capable (present,
# not damaged, every position filled).  ``acc`` holds the integrals of the first three
# in its rows 0-2 and of the last in row ``A_FMC``.
L_UP, L_PRESENT, L_DAMAGED, L_TIME, L_LOST, L_FMC = range(6)
A_FMC = 3
# Integer state kept between calls of _run (slots of ``cnt``) ...
_HN, _SEQ, _FREE, _NFREE, _JFREE, _NJFREE, _EVENTS, _SAMPLE, _COUNTING, _WARM, _NEED = range(11)
# ... and float state (slots of ``fl``).
_NOW, _NEXT_SAMPLE, _NEXT_MARK = range(3)
INF = np.inf

_jit: Any = nb.njit(cache=True, nogil=True)


@_jit
def _sift_down(ht, hs, hc, n, t, s, c):  # type: ignore[no-untyped-def]
    """Place ``(t, s, c)`` at the root of the heap of size ``n`` and sift it down."""
    i = 0
    while True:
        k = 2 * i + 1
        if k >= n:
            break
        r = k + 1
        if r < n and (ht[r] < ht[k] or (ht[r] == ht[k] and hs[r] < hs[k])):
            k = r
        tk = ht[k]
        if t < tk or (t == tk and s < hs[k]):
            break
        ht[i] = tk
        hs[i] = hs[k]
        hc[i] = hc[k]
        i = k
    ht[i] = t
    hs[i] = s
    hc[i] = c


@_jit
def _push(ht, hs, hc, n, t, s, c):  # type: ignore[no-untyped-def]
    """Add ``(t, s, c)`` to the heap of size ``n`` (there is room at index ``n``)."""
    i = n
    while i > 0:
        p = (i - 1) >> 1
        tp = ht[p]
        if tp < t or (tp == t and hs[p] < s):
            break
        ht[i] = tp
        hs[i] = hs[p]
        hc[i] = hc[p]
        i = p
    ht[i] = t
    hs[i] = s
    hc[i] = c


@_jit
def _touch(f, now, lev, acc):  # type: ignore[no-untyped-def]
    """Bring fleet ``f``'s integrals (up, present, damaged) up to ``now``."""
    dt = now - lev[L_TIME, f]
    if dt > 0.0:
        acc[L_UP, f] += lev[L_UP, f] * dt
        acc[L_PRESENT, f] += lev[L_PRESENT, f] * dt
        acc[L_DAMAGED, f] += lev[L_DAMAGED, f] * dt
        acc[A_FMC, f] += lev[L_FMC, f] * dt
    lev[L_TIME, f] = now


@_jit
def _fill_key(j, item, sys_fleet, fleet_npos, fleet_item, fleet_need, filled_pos, holes,  # type: ignore[no-untyped-def]
              crit):
    """Order of the waiting systems for a unit of ``item`` under cannibalisation: those it
    makes mission capable again first, then by fewest holes."""
    f = sys_fleet[j]
    pos = 0
    while pos < fleet_npos[f] - 1 and fleet_item[f, pos] != item:
        pos += 1
    restores = crit[j] == 1 and filled_pos[j, pos] == fleet_need[f, pos] - 1
    return holes[j] if restores else (1 << 40) + holes[j]


@_jit
def _new_unit_lives(j, f, due, fleet_nunits, unit_pos, fleet_item, item_scale,  # type: ignore[no-untyped-def]
                    item_inv_shape, rng):
    """Draw the lives (operating hours) of every unit of a new system ``j`` of fleet ``f``."""
    for v in range(fleet_nunits[f]):
        it = fleet_item[f, unit_pos[f, v]]
        e = rng.standard_exponential()
        k1 = item_inv_shape[it]
        due[j, v] = item_scale[it] * (e if k1 == 1.0 else e**k1)


@_jit
def _repair_level(site, now, rep_n, rep_acc, rep_t, channels, limited):  # type: ignore[no-untyped-def]
    """Carry the integrals of a site's repair jobs (row 0) and busy channels (row 1) to
    ``now``.  Repairs are served first come first served by a work-conserving shop, so
    with ``c`` channels ``min(jobs, c)`` are in service (all of them when unlimited)."""
    dt = now - rep_t[site]
    jobs = rep_n[site]
    rep_acc[0, site] += jobs * dt
    c = channels[site]
    rep_acc[1, site] += (jobs if not limited or c <= 0 or jobs < c else c) * dt
    rep_t[site] = now


@_jit
def _restart(at, st, sd, ph, phased, n_s):  # type: ignore[no-untyped-def]
    """Start the time integrals and demand counts afresh at day ``at`` (levels are kept)."""
    dem, hit, bo_acc, bo_t, rep_acc, rep_t = st[1], st[2], st[3], st[4], st[7], st[8]
    for x in range(dem.size):
        dem[x] = 0
        hit[x] = 0
        bo_acc[x] = 0.0
        bo_t[x] = at
    for s in range(n_s):
        rep_acc[0, s] = 0.0
        rep_acc[1, s] = 0.0
        rep_t[s] = at
    if sd is not None:
        down_acc, down_t, fdown_acc, fdown_t = sd[5], sd[6], sd[9], sd[10]
        for f in range(down_acc.size):
            down_acc[f] = 0.0
            down_t[f] = at
            fdown_acc[f] = 0.0
            fdown_t[f] = at
    pst = ph[1]
    if phased is not None:
        lev, acc = pst[12], pst[13]
        for f in range(lev.shape[1]):
            acc[L_UP, f] = 0.0
            acc[L_PRESENT, f] = 0.0
            acc[L_DAMAGED, f] = 0.0
            acc[A_FMC, f] = 0.0
            lev[L_TIME, f] = at


@_jit
def _run(md, sd, ph, phased, st, heap, pool, qs, jobs, stack, rs, cnt, fl, rng, days,  # type: ignore[no-untyped-def]
         warmup_days, series_days, fwd, expo, limited, n_s, burst, hroom, halt):
    """Process events until the run ends (returns 0), an array must grow (returns 1) or
    ``halt[0]`` is set (returns 2; checked every 65,536 events).

    ``md``: the model both modes read (:func:`sustain.simulate.kernel.common_model`).
    ``sd``: ``None`` in a time-phased run, else the steady-state arrays ``(sys_rate,
    fleet_cum, counts, series, down, down_acc, down_t, down_int)``.  ``phased``: ``None``
    in a steady-state run, else ``True``; ``ph`` is then ``(pm, pst)``, the time-phased
    model and state (:func:`sustain.simulate.kernel_phased.run_phased`), and
    :data:`sustain.simulate.kernel.NO_PHASED` otherwise.
    """
    (site_parent, ship_days, channels, sub_ptr, sub_idx, item_f, sys_fleet, sys_site,
     fleet_npos, fleet_item, fleet_qty, lat_ptr, lat_site, lat_days, fleet_need) = md
    (stock, dem, hit, bo_acc, bo_t, busy, rep_n, rep_acc, rep_t, filled_pos, holes, supbuf,
     supq, crit) = st
    if sd is not None:
        (sys_rate, fleet_cum, counts, series, down, down_acc, down_t, _down_int, fdown,
         fdown_acc, fdown_t, _fdown_int) = sd
    pm, pst = ph
    (fleet_hours, fleet_nunits, unit_pos, item_scale, item_inv_shape, step_ptr, step_fleet,
     step_factor, loss_rate, ld_fleet, ld_count, damage_rate, damage_days, dl_first, dl_count,
     dl_sp_ptr, dl_sp_flat, dl_sp_qty, mem_off, site_sys_ptr, site_sys, _ev_day, _ev_code,
     _n_initial, _max_sup, cannibal, _fleet_order) = pm
    (present, damaged, due, hours, hours_t, rate_h, due_seq, factor, mem, mem_n, mem_where,
     in_holes, lev, acc, rs_mark, s_up, s_pres, s_dmg, s_lost, loss_on, damage_on) = pst
    ht, hs, hc = heap
    nxt, val, dval = pool
    qhead, qtail, qlen = qs
    jflat, jd, jpend, jnext = jobs
    n_flat = stock.size
    n_f = fleet_npos.size
    n_samples = series_days.size
    spare_any = False  # some installation is redundant: a system may spare a unit
    for f in range(n_f):
        for x in range(fleet_npos[f]):
            if fleet_need[f, x] < fleet_qty[f, x]:
                spare_any = True
    cap = ht.size
    n = cnt[_HN]
    seq = cnt[_SEQ]
    free = cnt[_FREE]
    nfree = cnt[_NFREE]
    jfree = cnt[_JFREE]
    njfree = cnt[_NJFREE]
    events = cnt[_EVENTS]
    sample = cnt[_SAMPLE]
    counting = cnt[_COUNTING] == 1
    warm_pending = cnt[_WARM] == 1
    now = fl[_NOW]
    next_sample = fl[_NEXT_SAMPLE]
    next_mark = fl[_NEXT_MARK]
    status = 0
    while n > 0:
        if n + hroom > cap or nfree < burst or njfree < burst:
            status = 1
            break
        if events & 0xFFFF == 0 and halt[0] != 0:
            status = 2
            break
        t = ht[0]
        if t > days:
            break
        code = hc[0]
        kind = code % NK
        arg = code // NK
        if sd is not None:
            if kind != FAIL:  # a failure reschedules its clock in place (below)
                n -= 1
                _sift_down(ht, hs, hc, n, ht[n], hs[n], hc[n])
        if phased is not None:
            sq = hs[0]
            n -= 1
            _sift_down(ht, hs, hc, n, ht[n], hs[n], hc[n])
            if kind == FAIL and sq != due_seq[arg]:
                continue  # superseded by a reschedule
        if t >= next_mark:
            if sd is not None:
                while t >= next_sample:
                    for f in range(n_f):
                        series[sample, f] = 1.0 - down[f] / counts[f]
                    sample += 1
                    next_sample = series_days[sample] if sample < n_samples else INF
            if phased is not None:
                while t > next_sample:  # a sample day shows the events of that very day
                    for f in range(n_f):
                        s_up[sample, f] = lev[L_UP, f]
                        s_pres[sample, f] = lev[L_PRESENT, f]
                        s_dmg[sample, f] = lev[L_DAMAGED, f]
                        s_lost[sample, f] = lev[L_LOST, f]
                    sample += 1
                    next_sample = series_days[sample] if sample < n_samples else INF
            if warm_pending and t >= warmup_days:
                now = warmup_days  # start the integrals afresh (levels are kept)
                _restart(now, st, sd, ph, phased, n_s)
                counting = True
                warm_pending = False
            next_mark = min(next_sample, warmup_days) if warm_pending else next_sample
        now = t
        events += 1
        sp = 0
        n_rs = 0
        n_sup = 0
        if kind == FAIL:
            if sd is not None:
                # Reschedule this system's clock in place of the event just taken.
                seq += 1
                _sift_down(ht, hs, hc, n, now + rng.standard_exponential() / sys_rate[arg],
                           seq, code)
                u = rng.random()
                f = sys_fleet[arg]
                npos = fleet_npos[f]
                lo_i = 0
                hi_i = npos
                while lo_i < hi_i:  # first position whose cumulative share > u
                    mid = (lo_i + hi_i) >> 1
                    if fleet_cum[f, mid] <= u:
                        lo_i = mid + 1
                    else:
                        hi_i = mid
                pos = min(lo_i, npos - 1)  # u rounds up to the last share
                if fwd or (holes[arg] > 0 and crit[arg] == 0):
                    # Thin by the share of the item's positions that hold a unit (a
                    # mission-capable system with empty positions runs on the others).
                    lo = fleet_cum[f, pos - 1] if pos > 0 else 0.0
                    frac = (u - lo) / (fleet_cum[f, pos] - lo)
                    if frac * fleet_qty[f, pos] >= filled_pos[arg, pos]:
                        continue
                elif holes[arg] > 0:
                    continue
                item = fleet_item[f, pos]
            if phased is not None:
                f = sys_fleet[arg]
                hours[arg] += rate_h[arg] * (now - hours_t[arg])
                hours_t[arg] = now
                v0 = 0
                for v in range(1, fleet_nunits[f]):  # the unit with the least life left
                    if due[arg, v] < due[arg, v0]:
                        v0 = v
                item = fleet_item[f, unit_pos[f, v0]]
                due[arg, v0] = INF
                stack[1, W_UNIT] = v0
                rs[n_rs] = arg
                n_rs += 1
            site = sys_site[arg]
            stack[0, W_OP] = _REPL
            stack[0, W_A] = item
            stack[0, W_B] = site
            stack[0, W_C] = 1
            stack[1, W_OP] = _DEMAND
            stack[1, W_A] = item
            stack[1, W_B] = site
            stack[1, W_C] = 3 * arg + _SYSTEM
            sp = 2
        elif kind == DONE:
            site = arg % n_s
            _repair_level(site, now, rep_n, rep_acc, rep_t, channels, limited)
            rep_n[site] -= 1
            if limited and channels[site] > 0:
                w = n_flat + site
                if qlen[w] > 0:  # the oldest waiting repair takes the channel
                    node = qhead[w]
                    wf = val[node]
                    wd = dval[node]
                    qhead[w] = nxt[node]
                    qlen[w] -= 1
                    nxt[node] = free
                    free = node
                    nfree += 1
                    seq += 1
                    _push(ht, hs, hc, n, now + wd, seq, wf * NK + DONE)
                    n += 1
                else:
                    busy[site] -= 1
            supbuf[0] = arg  # a good unit is ready at its site
            supq[0] = 1
            n_sup = 1
        elif kind == ARRIVE:
            supbuf[0] = arg
            supq[0] = 1
            n_sup = 1
        elif phased is not None:
            if kind == DELIVER:
                # Its spares may fill every backorder waiting: room for that, or put the
                # delivery back (the first event again) and have the arrays grown.
                need = burst + dl_count[arg] + nxt.size - nfree
                if n + need > cap or 2 * need + 8 > stack.shape[0] or need > rs.size:
                    _push(ht, hs, hc, n, t, sq, code)
                    n += 1
                    events -= 1
                    cnt[_NEED] = need
                    status = 1
                    break
                for j in range(dl_first[arg], dl_first[arg] + dl_count[arg]):
                    f = sys_fleet[j]
                    present[j] = 1
                    hours[j] = 0.0
                    hours_t[j] = now
                    _new_unit_lives(j, f, due, fleet_nunits, unit_pos, fleet_item, item_scale,
                                    item_inv_shape, rng)
                    _touch(f, now, lev, acc)
                    lev[L_PRESENT, f] += 1
                    lev[L_UP, f] += 1
                    lev[L_FMC, f] += 1
                    mem[mem_off[f] + mem_n[f]] = j
                    mem_where[j] = mem_n[f]
                    mem_n[f] += 1
                    rs[n_rs] = j
                    n_rs += 1
                if dl_count[arg] > 0:  # a fleet that had emptied has losses and damage again
                    f = sys_fleet[dl_first[arg]]
                    if loss_on[f] == 0 and loss_rate[f] > 0.0:
                        loss_on[f] = 1
                        seq += 1
                        _push(ht, hs, hc, n, now + rng.standard_exponential() / loss_rate[f],
                              seq, f * NK + LOSS)
                        n += 1
                    if damage_on[f] == 0 and damage_rate[f] > 0.0:
                        damage_on[f] = 1
                        seq += 1
                        _push(ht, hs, hc, n, now + rng.standard_exponential() / damage_rate[f],
                              seq, f * NK + DAMAGE)
                        n += 1
                for x in range(dl_sp_ptr[arg], dl_sp_ptr[arg + 1]):
                    supbuf[n_sup] = dl_sp_flat[x]
                    supq[n_sup] = dl_sp_qty[x]
                    n_sup += 1
            elif kind == TEMPO:
                for x in range(step_ptr[arg], step_ptr[arg + 1]):
                    f = step_fleet[x]
                    for y in range(mem_n[f]):
                        j = mem[mem_off[f] + y]
                        hours[j] += rate_h[j] * (now - hours_t[j])  # so far at the old rate
                        hours_t[j] = now
                        rs[n_rs] = j
                        n_rs += 1
                    factor[f] = step_factor[x]
            elif LOSS <= kind <= LOSS_DAY:
                if kind == LOSS:
                    f = arg
                    n_lose = 0
                    if mem_n[f] == 0:  # no system to lose: paused until a delivery
                        loss_on[f] = 0
                    else:
                        n_lose = 1
                        seq += 1
                        _push(ht, hs, hc, n, now + rng.standard_exponential() / loss_rate[f],
                              seq, f * NK + LOSS)
                        n += 1
                else:
                    f = ld_fleet[arg]
                    n_lose = ld_count[arg]
                for _ in range(n_lose):
                    m = mem_n[f]
                    if m == 0:
                        break
                    j = mem[mem_off[f] + min(int(rng.random() * m), m - 1)]
                    _touch(f, now, lev, acc)
                    lev[L_PRESENT, f] -= 1
                    lev[L_LOST, f] += 1
                    if present[j] == 1 and damaged[j] == 0 and crit[j] == 0:
                        lev[L_UP, f] -= 1
                    if present[j] == 1 and damaged[j] == 0 and holes[j] == 0:
                        lev[L_FMC, f] -= 1
                    if damaged[j] == 1:
                        lev[L_DAMAGED, f] -= 1
                        damaged[j] = 0
                    present[j] = 0
                    due_seq[j] = -1
                    k = mem_where[j]  # swap-remove from the fleet's members
                    last = mem[mem_off[f] + m - 1]
                    mem[mem_off[f] + k] = last
                    mem_where[last] = k
                    mem_n[f] = m - 1
                    in_holes[j] = 0
                    # Its backorders are void: a unit that would fill them fills the next.
                    for pos in range(fleet_npos[f]):
                        missing = fleet_qty[f, pos] - filled_pos[j, pos]
                        if missing > 0:
                            flat = fleet_item[f, pos] * n_s + sys_site[j]
                            bo_acc[flat] += qlen[flat] * (now - bo_t[flat])
                            bo_t[flat] = now
                            target = 3 * j + _SYSTEM
                            prev = -1
                            node = qhead[flat]
                            while missing > 0 and node != -1:
                                after = nxt[node]
                                if val[node] == target:
                                    if prev == -1:
                                        qhead[flat] = after
                                    else:
                                        nxt[prev] = after
                                    if qtail[flat] == node:
                                        qtail[flat] = prev
                                    qlen[flat] -= 1
                                    nxt[node] = free
                                    free = node
                                    nfree += 1
                                    missing -= 1
                                else:
                                    prev = node
                                node = after
            elif kind == DAMAGE:
                f = arg
                m = mem_n[f]
                nd = 0
                for y in range(m):
                    if damaged[mem[mem_off[f] + y]] == 0:
                        nd += 1
                if nd == 0:  # no system to hit: paused until one is repaired or delivered
                    damage_on[f] = 0
                else:
                    rk = min(int(rng.random() * nd), nd - 1)
                    j = -1
                    for y in range(m):
                        jj = mem[mem_off[f] + y]
                        if damaged[jj] == 0:
                            if rk == 0:
                                j = jj
                                break
                            rk -= 1
                    _touch(f, now, lev, acc)
                    if present[j] == 1 and crit[j] == 0:
                        lev[L_UP, f] -= 1
                    if present[j] == 1 and holes[j] == 0:
                        lev[L_FMC, f] -= 1
                    damaged[j] = 1
                    lev[L_DAMAGED, f] += 1
                    hours[j] += rate_h[j] * (now - hours_t[j])
                    hours_t[j] = now
                    rs[n_rs] = j
                    n_rs += 1
                    d = damage_days[f]
                    if expo and d > 0.0:
                        d *= rng.standard_exponential()
                    seq += 1
                    _push(ht, hs, hc, n, now + d, seq, j * NK + REPAIRED)
                    n += 1
                    seq += 1
                    _push(ht, hs, hc, n, now + rng.standard_exponential() / damage_rate[f],
                          seq, f * NK + DAMAGE)
                    n += 1
            elif present[arg] == 1 and damaged[arg] == 1:  # REPAIRED (void if lost)
                j = arg
                f = sys_fleet[j]
                _touch(f, now, lev, acc)
                damaged[j] = 0
                lev[L_DAMAGED, f] -= 1
                if crit[j] == 0:
                    lev[L_UP, f] += 1
                if holes[j] == 0:
                    lev[L_FMC, f] += 1
                hours[j] += rate_h[j] * (now - hours_t[j])
                hours_t[j] = now
                rs[n_rs] = j
                n_rs += 1
                if damage_on[f] == 0:  # a system to hit again
                    damage_on[f] = 1
                    seq += 1
                    _push(ht, hs, hc, n, now + rng.standard_exponential() / damage_rate[f], seq,
                          f * NK + DAMAGE)
                    n += 1
        for z in range(n_sup):  # supq[z] good units of supbuf[z] ready: each fills the
            flat = supbuf[z]      # oldest backorder there (or the best), the rest is stock
            q = supq[z]
            while q > 0 and qlen[flat] > 0:
                q -= 1
                bo_acc[flat] += qlen[flat] * (now - bo_t[flat])
                bo_t[flat] = now
                node = qhead[flat]
                prev = -1
                who = val[node]
                if phased is not None:
                    if cannibal and who % 3 == _SYSTEM and qlen[flat] > 1:
                        # The waiting system this unit makes mission capable again, else
                        # the one with the fewest holes (the oldest among equals).  Without
                        # redundancy a unit restores exactly the systems with one hole.
                        item = flat // n_s
                        best_key = _fill_key(who // 3, item, sys_fleet, fleet_npos, fleet_item,
                                             fleet_need, filled_pos, holes, crit)
                        p = node
                        x = nxt[node]
                        while x != -1:
                            w = val[x]
                            if w % 3 == _SYSTEM:
                                key = _fill_key(w // 3, item, sys_fleet, fleet_npos,
                                                fleet_item, fleet_need, filled_pos, holes, crit)
                                if key < best_key:
                                    best_key = key
                                    who = w
                                    node = x
                                    prev = p
                            p = x
                            x = nxt[x]
                if prev == -1:
                    qhead[flat] = nxt[node]
                else:
                    nxt[prev] = nxt[node]
                if qtail[flat] == node:
                    qtail[flat] = prev
                qlen[flat] -= 1
                nxt[node] = free
                free = node
                nfree += 1
                ident = who // 3
                wk = who % 3
                if wk == _SYSTEM:  # into an empty position of the system
                    j = ident
                    item = flat // n_s
                    f = sys_fleet[j]
                    pos = 0
                    while pos < fleet_npos[f] - 1 and fleet_item[f, pos] != item:
                        pos += 1
                    filled_pos[j, pos] += 1
                    holes[j] -= 1
                    back = False  # mission capable again
                    if filled_pos[j, pos] == fleet_need[f, pos]:
                        crit[j] -= 1
                        back = crit[j] == 0
                    if sd is not None:
                        if back:
                            down_acc[f] += down[f] * (now - down_t[f])
                            down_t[f] = now
                            down[f] -= 1
                        if holes[j] == 0:
                            fdown_acc[f] += fdown[f] * (now - fdown_t[f])
                            fdown_t[f] = now
                            fdown[f] -= 1
                    if phased is not None:
                        hours[j] += rate_h[j] * (now - hours_t[j])
                        hours_t[j] = now
                        for v in range(fleet_nunits[f]):
                            if unit_pos[f, v] == pos and due[j, v] == INF:
                                e = rng.standard_exponential()
                                k1 = item_inv_shape[item]
                                due[j, v] = hours[j] + item_scale[item] * (
                                    e if k1 == 1.0 else e**k1)
                                break
                        if holes[j] == 0:
                            in_holes[j] = 0
                            if present[j] == 1 and damaged[j] == 0:
                                _touch(f, now, lev, acc)
                                lev[L_FMC, f] += 1
                        if back and present[j] == 1 and damaged[j] == 0:
                            _touch(f, now, lev, acc)
                            lev[L_UP, f] += 1
                        rs[n_rs] = j
                        n_rs += 1
                elif wk == _SITE:
                    d = ship_days[ident]
                    if expo and d > 0.0:
                        d *= rng.standard_exponential()
                    seq += 1
                    _push(ht, hs, hc, n, now + d, seq, (flat - flat % n_s + ident) * NK + ARRIVE)
                    n += 1
                else:
                    jpend[ident] -= 1
                    if jpend[ident] == 0:
                        stack[sp, W_OP] = _START
                        stack[sp, W_A] = ident
                        sp += 1
            if q > 0:
                stock[flat] += q
        while sp > 0:
            sp -= 1
            op = stack[sp, W_OP]
            a1 = stack[sp, W_A]
            a2 = stack[sp, W_B]
            a3 = stack[sp, W_C]
            if op == _DEMAND:
                item = a1
                site = a2
                who = a3
                flat = item * n_s + site
                wk = who % 3
                if counting:
                    dem[flat] += 1
                if stock[flat] > 0:
                    stock[flat] -= 1
                    if counting:
                        hit[flat] += 1
                    if wk == _SITE:
                        child = who // 3
                        d = ship_days[child]
                        if expo and d > 0.0:
                            d *= rng.standard_exponential()
                        seq += 1
                        _push(ht, hs, hc, n, now + d, seq, (flat - site + child) * NK + ARRIVE)
                        n += 1
                    if phased is not None:
                        if wk == _SYSTEM:  # a new unit in the failed one's place
                            j = who // 3
                            e = rng.standard_exponential()
                            k1 = item_inv_shape[item]
                            due[j, stack[sp, W_UNIT]] = hours[j] + item_scale[item] * (
                                e if k1 == 1.0 else e**k1)
                else:
                    if wk == _SYSTEM:
                        # Lateral resupply: the nearest linked site with a spare sends it
                        # (it reaches the oldest backorder here) and takes over this
                        # demand's replenishment (the _REPL row below this one).
                        for x in range(lat_ptr[site], lat_ptr[site + 1]):
                            src = item * n_s + lat_site[x]
                            if stock[src] > 0:
                                stock[src] -= 1
                                d = lat_days[x]
                                if expo:
                                    d *= rng.standard_exponential()
                                seq += 1
                                _push(ht, hs, hc, n, now + d, seq, flat * NK + ARRIVE)
                                n += 1
                                stack[sp - 1, W_B] = lat_site[x]
                                break
                    bo_acc[flat] += qlen[flat] * (now - bo_t[flat])
                    bo_t[flat] = now
                    node = free
                    free = nxt[node]
                    nfree -= 1
                    nxt[node] = -1
                    val[node] = who
                    if qlen[flat] == 0:
                        qhead[flat] = node
                    else:
                        nxt[qtail[flat]] = node
                    qtail[flat] = node
                    qlen[flat] += 1
                    ident = who // 3
                    if wk == _SYSTEM:  # the system waits for the part
                        j = ident
                        f = sys_fleet[j]
                        if sd is not None:
                            pos = 0
                            while pos < fleet_npos[f] - 1 and fleet_item[f, pos] != item:
                                pos += 1
                            filled_pos[j, pos] -= 1
                            if filled_pos[j, pos] == fleet_need[f, pos] - 1:
                                crit[j] += 1
                                if crit[j] == 1:
                                    down_acc[f] += down[f] * (now - down_t[f])
                                    down_t[f] = now
                                    down[f] += 1
                            if holes[j] == 0:
                                fdown_acc[f] += fdown[f] * (now - fdown_t[f])
                                fdown_t[f] = now
                                fdown[f] += 1
                            holes[j] += 1
                        if phased is not None:
                            u = stack[sp, W_UNIT]
                            pos = unit_pos[f, u]
                            donor = -1
                            if cannibal and filled_pos[j, pos] <= fleet_need[f, pos]:
                                # A good unit from the down system with most holes.
                                most = 0
                                for y in range(site_sys_ptr[site], site_sys_ptr[site + 1]):
                                    dd = site_sys[y]
                                    if in_holes[dd] == 0 or crit[dd] == 0 or dd == j or \
                                            damaged[dd] == 1:
                                        continue
                                    if holes[dd] < most or (holes[dd] == most and dd > donor):
                                        continue
                                    f_d = sys_fleet[dd]
                                    pd_ = 0
                                    while pd_ < fleet_npos[f_d] and fleet_item[f_d, pd_] != item:
                                        pd_ += 1
                                    if pd_ < fleet_npos[f_d] and filled_pos[dd, pd_] > 0:
                                        donor = dd
                                        most = holes[dd]
                                if donor < 0 and spare_any:
                                    # Else a unit a system can spare and stay mission
                                    # capable (redundancy): the one with most to spare.
                                    most = 0
                                    for y in range(site_sys_ptr[site], site_sys_ptr[site + 1]):
                                        dd = site_sys[y]
                                        if dd == j or present[dd] == 0 or damaged[dd] == 1:
                                            continue
                                        f_d = sys_fleet[dd]
                                        pd_ = 0
                                        while pd_ < fleet_npos[f_d] and \
                                                fleet_item[f_d, pd_] != item:
                                            pd_ += 1
                                        if pd_ < fleet_npos[f_d] and \
                                                filled_pos[dd, pd_] - fleet_need[f_d, pd_] > most:
                                            donor = dd
                                            most = filled_pos[dd, pd_] - fleet_need[f_d, pd_]
                            if donor >= 0:
                                f_d = sys_fleet[donor]
                                pd_ = 0
                                while fleet_item[f_d, pd_] != item:
                                    pd_ += 1
                                hours[donor] += rate_h[donor] * (now - hours_t[donor])
                                hours_t[donor] = now
                                best_u = -1
                                best = INF
                                for v in range(fleet_nunits[f_d]):  # its unit with most life left
                                    if unit_pos[f_d, v] == pd_ and due[donor, v] < INF and (
                                            best_u < 0 or due[donor, v] > best):
                                        best_u = v
                                        best = due[donor, v]
                                due[j, u] = hours[j] + (best - hours[donor])
                                due[donor, best_u] = INF
                                filled_pos[donor, pd_] -= 1
                                if filled_pos[donor, pd_] == fleet_need[f_d, pd_] - 1:
                                    crit[donor] += 1
                                if holes[donor] == 0:  # a donor with a unit to spare
                                    in_holes[donor] = 1
                                    if present[donor] == 1 and damaged[donor] == 0:
                                        _touch(f_d, now, lev, acc)
                                        lev[L_FMC, f_d] -= 1
                                holes[donor] += 1
                                val[node] = 3 * donor + _SYSTEM  # the backorder is the donor's
                                rs[n_rs] = donor
                                n_rs += 1
                            else:
                                was_up = present[j] == 1 and damaged[j] == 0 and crit[j] == 0
                                if present[j] == 1 and damaged[j] == 0 and holes[j] == 0:
                                    _touch(f, now, lev, acc)
                                    lev[L_FMC, f] -= 1
                                filled_pos[j, pos] -= 1
                                if filled_pos[j, pos] == fleet_need[f, pos] - 1:
                                    crit[j] += 1
                                holes[j] += 1
                                in_holes[j] = 1
                                if was_up and crit[j] > 0:
                                    _touch(f, now, lev, acc)
                                    lev[L_UP, f] -= 1
                    elif wk == _JOB:
                        jpend[ident] += 1
            elif op == _REPL:
                item = a1
                site = a2
                parent = site_parent[site]
                rep_days = -1.0
                if parent < 0:
                    c = item_f[I_CONDEMN, item]
                    if c > 0.0 and rng.random() < c:  # condemned: procure a new one
                        d = item_f[I_PROCURE_DAYS, item]
                        if expo and d > 0.0:
                            d *= rng.standard_exponential()
                        seq += 1
                        _push(ht, hs, hc, n, now + d, seq, (item * n_s + site) * NK + ARRIVE)
                        n += 1
                    else:
                        rep_days = item_f[I_DEPOT_DAYS, item]
                else:
                    r = item_f[I_BASE, item]
                    if a3 == 1 and r > 0.0 and (r >= 1.0 or rng.random() < r):
                        rep_days = item_f[I_BASE_DAYS, item]
                    else:  # order from the parent
                        stack[sp, W_OP] = _REPL
                        stack[sp, W_A] = item
                        stack[sp, W_B] = parent
                        stack[sp, W_C] = 0
                        stack[sp + 1, W_OP] = _DEMAND
                        stack[sp + 1, W_A] = item
                        stack[sp + 1, W_B] = parent
                        stack[sp + 1, W_C] = 3 * site + _SITE
                        sp += 2
                if rep_days >= 0.0:  # a repair job: its sub-items first
                    if expo and rep_days > 0.0:
                        rep_days *= rng.standard_exponential()
                    job = jfree
                    jfree = jnext[job]
                    njfree -= 1
                    jflat[job] = item * n_s + site
                    jd[job] = rep_days
                    jpend[job] = 0
                    stack[sp, W_OP] = _START
                    stack[sp, W_A] = job
                    sp += 1
                    # Pushed last to first, so handled (drawn from the shelf, sent to
                    # repair, queued for a channel) in the scenario's order.
                    for x in range(sub_ptr[item + 1] - 1, sub_ptr[item] - 1, -1):
                        u = sub_idx[x]
                        if rng.random() < item_f[I_REPLACE, u]:
                            stack[sp, W_OP] = _REPL
                            stack[sp, W_A] = u
                            stack[sp, W_B] = site
                            stack[sp, W_C] = 1
                            stack[sp + 1, W_OP] = _DEMAND
                            stack[sp + 1, W_A] = u
                            stack[sp + 1, W_B] = site
                            stack[sp + 1, W_C] = 3 * job + _JOB
                            sp += 2
            else:  # _START
                job = a1
                if jpend[job] == 0:
                    flat = jflat[job]
                    d = jd[job]
                    jnext[job] = jfree
                    jfree = job
                    njfree += 1
                    site = flat % n_s
                    _repair_level(site, now, rep_n, rep_acc, rep_t, channels, limited)
                    rep_n[site] += 1
                    queued = False
                    if limited and channels[site] > 0:
                        if busy[site] >= channels[site]:
                            w = n_flat + site
                            node = free
                            free = nxt[node]
                            nfree -= 1
                            nxt[node] = -1
                            val[node] = flat
                            dval[node] = d
                            if qlen[w] == 0:
                                qhead[w] = node
                            else:
                                nxt[qtail[w]] = node
                            qtail[w] = node
                            qlen[w] += 1
                            queued = True
                        else:
                            busy[site] += 1
                    if not queued:
                        seq += 1
                        _push(ht, hs, hc, n, now + d, seq, flat * NK + DONE)
                        n += 1
        if phased is not None:
            for z in range(n_rs):  # new hour rates and next failures of the systems touched
                j = rs[z]
                if rs_mark[j] == 1:
                    continue
                rs_mark[j] = 1
                hours[j] += rate_h[j] * (now - hours_t[j])
                hours_t[j] = now
                f = sys_fleet[j]
                working = present[j] == 1 and damaged[j] == 0 and (fwd or crit[j] == 0)
                r = fleet_hours[f] * factor[f] if working else 0.0
                rate_h[j] = r
                due_seq[j] = -1
                if r > 0.0:
                    d = INF
                    for v in range(fleet_nunits[f]):
                        d = min(d, due[j, v])
                    if d < INF:
                        seq += 1
                        due_seq[j] = seq
                        _push(ht, hs, hc, n, now + (d - hours[j]) / r, seq, j * NK + FAIL)
                        n += 1
            for z in range(n_rs):
                rs_mark[rs[z]] = 0
    cnt[_HN] = n
    cnt[_SEQ] = seq
    cnt[_FREE] = free
    cnt[_NFREE] = nfree
    cnt[_JFREE] = jfree
    cnt[_NJFREE] = njfree
    cnt[_EVENTS] = events
    cnt[_SAMPLE] = sample
    cnt[_COUNTING] = 1 if counting else 0
    cnt[_WARM] = 1 if warm_pending else 0
    fl[_NOW] = now
    fl[_NEXT_SAMPLE] = next_sample
    fl[_NEXT_MARK] = next_mark
    return status


@_jit
def _grow_heap(heap, need):  # type: ignore[no-untyped-def]
    """The heap's arrays with room for at least ``need`` events."""
    ht, hs, hc = heap
    size = max(2 * ht.size, need)
    ht2 = np.empty(size)
    hs2 = np.empty(size, dtype=np.int64)
    hc2 = np.empty(size, dtype=np.int64)
    ht2[: ht.size] = ht
    hs2[: hs.size] = hs
    hc2[: hc.size] = hc
    return ht2, hs2, hc2


@_jit
def _grow_pool(pool, cnt, need):  # type: ignore[no-untyped-def]
    """Add at least ``need`` free queue nodes (linked on the free list)."""
    nxt, val, dval = pool
    old = nxt.size
    size = max(2 * old, old + need)
    nxt2 = np.empty(size, dtype=np.int64)
    val2 = np.empty(size, dtype=np.int64)
    dval2 = np.zeros(size)
    nxt2[:old] = nxt
    val2[:old] = val
    dval2[:old] = dval
    for x in range(old, size - 1):
        nxt2[x] = x + 1
    nxt2[size - 1] = cnt[_FREE]
    cnt[_FREE] = old
    cnt[_NFREE] += size - old
    return nxt2, val2, dval2


@_jit
def _grow_jobs(jobs, cnt, need):  # type: ignore[no-untyped-def]
    """Add at least ``need`` free repair-job slots."""
    jflat, jd, jpend, jnext = jobs
    old = jflat.size
    size = max(2 * old, old + need)
    jflat2 = np.empty(size, dtype=np.int64)
    jd2 = np.empty(size)
    jpend2 = np.zeros(size, dtype=np.int64)
    jnext2 = np.empty(size, dtype=np.int64)
    jflat2[:old] = jflat
    jd2[:old] = jd
    jpend2[:old] = jpend
    jnext2[:old] = jnext
    for x in range(old, size - 1):
        jnext2[x] = x + 1
    jnext2[size - 1] = cnt[_JFREE]
    cnt[_JFREE] = old
    cnt[_NJFREE] += size - old
    return jflat2, jd2, jpend2, jnext2


@_jit
def _loop(md, sd, ph, phased, stock0, n_s, burst, rng, days, warmup_days, series_days,  # type: ignore[no-untyped-def]
          fwd, expo, bo_int, rep_int, dem, hit, halt):
    """One replication: fills the output arrays, returns the number of events (-1 when
    stopped by ``halt[0]``, set from another thread).

    ``md``, ``sd``, ``ph`` and ``phased`` as in :func:`_run`, their state arrays fresh
    (zero; ``due`` infinite, ``due_seq`` -1, ``factor`` the day-0 tempo factors).
    ``rep_int`` (2 × sites) receives the integrals after the warm-up of the repair jobs
    at each site (queued or in service) and of its busy channels.
    """
    channels, sys_fleet, fleet_npos, fleet_qty = md[2], md[6], md[8], md[10]
    # A value, not the constant False: numba would otherwise also compile ``_run`` for
    # the literal type ``Literal[bool](False)`` it first sees (twice the compile time).
    limited = np.any(channels[:n_s] > 0)
    n_flat = stock0.size
    n_sys = sys_fleet.size
    n_f = fleet_npos.size
    cnt = np.zeros(11, dtype=np.int64)
    fl = np.zeros(3)
    stock = stock0.copy()
    bo_acc = np.zeros(n_flat)
    bo_t = np.zeros(n_flat)
    busy = np.zeros(n_s, dtype=np.int64)
    rep_n = np.zeros(n_s, dtype=np.int64)
    rep_acc = np.zeros((2, n_s))
    rep_t = np.zeros(n_s)
    filled_pos = np.empty((n_sys, fleet_qty.shape[1]), dtype=np.int64)
    for j in range(n_sys):
        filled_pos[j] = fleet_qty[sys_fleet[j]]
    holes = np.zeros(n_sys, dtype=np.int64)
    crit = np.zeros(n_sys, dtype=np.int64)  # item positions below what is needed
    # Queues 0..n_flat-1: backorders of each item·site; n_flat+s: repairs waiting at s.
    n_q = n_flat + n_s
    qs = (np.full(n_q, -1, dtype=np.int64), np.full(n_q, -1, dtype=np.int64),
          np.zeros(n_q, dtype=np.int64))
    cnt[_FREE] = -1
    pool = _grow_pool((np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64),
                       np.empty(0)), cnt, 2 * burst + 64)
    cnt[_JFREE] = -1
    jobs = _grow_jobs((np.empty(0, dtype=np.int64), np.empty(0), np.empty(0, dtype=np.int64),
                       np.empty(0, dtype=np.int64)), cnt, 2 * burst + 16)
    stack = np.zeros((2 * burst + 8, 5), dtype=np.int64)
    pm, pst = ph
    (fleet_hours, fleet_nunits, unit_pos, item_scale, item_inv_shape, _step_ptr, _step_fleet,
     _step_factor, loss_rate, _ld_fleet, _ld_count, damage_rate, _damage_days, _dl_first,
     _dl_count, _dl_sp_ptr, _dl_sp_flat, _dl_sp_qty, mem_off, _site_sys_ptr, _site_sys, ev_day,
     ev_code, n_initial, max_sup, _cannibal, fleet_order) = pm
    (present, _damaged, due, _hours, _hours_t, rate_h, due_seq, factor, mem, mem_n, mem_where,
     _in_holes, lev, acc, _rs_mark, s_up, s_pres, s_dmg, s_lost, loss_on, damage_on) = pst
    hroom = burst  # heap room one event may need (a tempo step reschedules every system)
    room = n_sys + 2 * burst + 64
    n_sup = 1
    if phased is not None:
        hroom += n_sys
        room += ev_day.size + 2 * n_f + n_sys
        n_sup = max_sup
    supbuf = np.zeros(n_sup, dtype=np.int64)
    supq = np.zeros(n_sup, dtype=np.int64)
    rs = np.zeros(hroom + 4, dtype=np.int64)  # systems to reschedule at the end of an event
    heap = _grow_heap((np.empty(0), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)),
                      room)
    ht, hs, hc = heap
    n = 0
    seq = 0
    if sd is not None:
        (sys_rate, _fleet_cum, counts, series, down, down_acc, down_t, down_int, fdown,
         fdown_acc, fdown_t, fdown_int) = sd
        for j in range(n_sys):  # first failure of every system
            if sys_rate[j] > 0.0:
                _push(ht, hs, hc, n, rng.standard_exponential() / sys_rate[j], n + 1,
                      j * NK + FAIL)
                n += 1
        seq = n
    if phased is not None:
        fleet_item = md[9]
        for j in range(n_initial):  # day-0 systems
            f = sys_fleet[j]
            present[j] = 1
            _new_unit_lives(j, f, due, fleet_nunits, unit_pos, fleet_item, item_scale,
                            item_inv_shape, rng)
            lev[L_PRESENT, f] += 1
            lev[L_UP, f] += 1
            lev[L_FMC, f] += 1
            mem[mem_off[f] + mem_n[f]] = j
            mem_where[j] = mem_n[f]
            mem_n[f] += 1
            r = fleet_hours[f] * factor[f]
            rate_h[j] = r
            if r > 0.0:
                d = INF
                for v in range(fleet_nunits[f]):
                    d = min(d, due[j, v])
                if d < INF:
                    seq += 1
                    due_seq[j] = seq
                    _push(ht, hs, hc, n, d / r, seq, j * NK + FAIL)
                    n += 1
        for k in range(ev_day.size):  # deliveries, tempo steps, given losses
            seq += 1
            _push(ht, hs, hc, n, ev_day[k], seq, ev_code[k])
            n += 1
        for f in fleet_order:  # the scenario's order, as every sequence in a run
            if loss_rate[f] > 0.0:
                loss_on[f] = 1
                seq += 1
                _push(ht, hs, hc, n, rng.standard_exponential() / loss_rate[f], seq,
                      f * NK + LOSS)
                n += 1
            if damage_rate[f] > 0.0:
                damage_on[f] = 1
                seq += 1
                _push(ht, hs, hc, n, rng.standard_exponential() / damage_rate[f], seq,
                      f * NK + DAMAGE)
                n += 1
    st = (stock, dem, hit, bo_acc, bo_t, busy, rep_n, rep_acc, rep_t, filled_pos, holes, supbuf,
          supq, crit)
    cnt[_HN] = n
    cnt[_SEQ] = seq
    counting = warmup_days <= 0.0
    cnt[_COUNTING] = 1 if counting else 0
    cnt[_WARM] = 0 if counting else 1
    next_sample = series_days[0] if series_days.size > 0 else INF
    fl[_NEXT_SAMPLE] = next_sample
    fl[_NEXT_MARK] = next_sample if counting else min(next_sample, warmup_days)
    while True:
        status = _run(md, sd, ph, phased, st, heap, pool, qs, jobs, stack, rs, cnt, fl, rng,
                      days, warmup_days, series_days, fwd, expo, limited, n_s, burst, hroom,
                      halt)
        if status != 1:
            break
        need = max(hroom, cnt[_NEED])  # a delivery's spares may fill every backorder
        cnt[_NEED] = 0
        if cnt[_HN] + need > heap[0].size:
            heap = _grow_heap(heap, cnt[_HN] + need)
        if cnt[_NFREE] < burst:
            pool = _grow_pool(pool, cnt, burst)
        if cnt[_NJFREE] < burst:
            jobs = _grow_jobs(jobs, cnt, burst)
        if 2 * need + 8 > stack.shape[0]:  # scratch for one event: no contents to keep
            stack = np.zeros((2 * need + 8, 5), dtype=np.int64)
        if need > rs.size:
            rs = np.zeros(2 * need, dtype=np.int64)
    if status == 2:
        return -1
    if cnt[_WARM] == 1:  # the warm-up outlasts the events: start counting at its end
        _restart(warmup_days, st, sd, ph, phased, n_s)
    for k in range(cnt[_SAMPLE], series_days.size):  # the days after the last event
        for f in range(n_f):
            if sd is not None:
                series[k, f] = 1.0 - down[f] / counts[f]
            if phased is not None:
                s_up[k, f] = lev[L_UP, f]
                s_pres[k, f] = lev[L_PRESENT, f]
                s_dmg[k, f] = lev[L_DAMAGED, f]
                s_lost[k, f] = lev[L_LOST, f]
    for f in range(n_f):
        if sd is not None:
            down_int[f] = down_acc[f] + down[f] * (days - down_t[f])
            fdown_int[f] = fdown_acc[f] + fdown[f] * (days - fdown_t[f])
        if phased is not None:
            _touch(f, days, lev, acc)
    qlen = qs[2]
    for x in range(n_flat):
        bo_int[x] = bo_acc[x] + qlen[x] * (days - bo_t[x])
    for s in range(n_s):
        _repair_level(s, days, rep_n, rep_acc, rep_t, channels, limited)
        rep_int[0, s] = rep_acc[0, s]
        rep_int[1, s] = rep_acc[1, s]
    return cnt[_EVENTS]
