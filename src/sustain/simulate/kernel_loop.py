"""The compiled event loop of :mod:`sustain.simulate.kernel` (numba, ``cache=True``).

Written for numba's reference counting: every array is bound to a local name once
per call of :func:`_run` and never rebound inside its event loop, and the loop calls
no function that takes arrays except the two small heap routines.  Rebinding arrays
or calling larger helpers with arrays costs atomic reference-count updates per array
per call (measured ~100 ns per call of a 5-array helper), which made a first port
(session 1, state passed around in helpers) no faster than the pure-Python loop;
with this layout the benchmark runs ~14 million events per second (docs/simulate.md).

So :func:`_run` processes events until the run ends or the next event might
overflow an array (it keeps room for ``burst`` pushes, queue nodes and jobs, the
most one event can use); :func:`_loop` then grows the arrays and calls it again.
The replenishments a demand sets off (orders up the site tree, repairs, the demands
of their sub-items) go through an explicit work stack of ``(op, a, b, c)`` rows:

``_DEMAND (item, site, who)``
    A request on the stock of ``item`` at ``site`` (``who = 3 * id + kind`` as in
    the kernel's docstring); unmet, it joins the FIFO backorders there, and a
    system goes down or a repair job waits for one more sub-item.
``_REPL (item, site, local)``
    Replace one unit taken from ``site``: repair it there (``local`` and the base
    repair draw), condemn and procure at the root, or order from the parent
    (another ``_DEMAND`` and ``_REPL`` one level up).  A repair is a job: it
    pushes ``_START`` below the demands of its sub-items.
``_START (job)``
    Start the job's repair time when no sub-item is still missing (a channel
    permitting); pushed again by the supply that fills its last sub-item.

Nothing is supplied at the instant of a demand (every supply is an event), so
this order gives the same law as the recursive walk of the original Python
kernel, with the random numbers drawn in another order.
"""

from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np

FAIL, DONE, ARRIVE = 0, 1, 2
_SYSTEM, _SITE, _JOB = 0, 1, 2
_DEMAND, _REPL, _START = 0, 1, 2
# Integer state kept between calls of _run (slots of ``cnt``) ...
_HN, _SEQ, _FREE, _NFREE, _JFREE, _NJFREE, _EVENTS, _SAMPLE, _COUNTING, _WARM = range(10)
# ... and float state (slots of ``fl``).
_NOW, _NEXT_SAMPLE, _NEXT_MARK = range(3)

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
def _run(md, st, sysst, heap, pool, qs, jobs, stack, cnt, fl, rng, days, warmup_days,  # type: ignore[no-untyped-def]
         series_days, series, fwd, expo, limited, n_s, burst):
    """Process events until the run ends (returns 0) or an array must grow (returns 1)."""
    (site_parent, ship_days, channels, sub_ptr, sub_idx, item_f, sys_fleet, sys_site,
     sys_rate, fleet_npos, fleet_item, fleet_qty, fleet_cum, counts) = md
    stock, dem, hit, bo_acc, bo_t, busy, rep_n, rep_acc, rep_t = st
    filled_pos, holes, down, down_acc, down_t = sysst
    ht, hs, hc = heap
    nxt, val, dval = pool
    qhead, qtail, qlen = qs
    jflat, jd, jpend, jnext = jobs
    n_flat = stock.size
    n_f = counts.size
    n_samples = series_days.size
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
        if n + burst > cap or nfree < burst or njfree < burst:
            status = 1
            break
        t = ht[0]
        if t > days:
            break
        if t >= next_mark:
            while t >= next_sample:
                for f in range(n_f):
                    series[sample, f] = 1.0 - down[f] / counts[f]
                sample += 1
                next_sample = series_days[sample] if sample < n_samples else np.inf
            if warm_pending and t >= warmup_days:
                now = warmup_days  # start the integrals afresh (levels are kept)
                for x in range(n_flat):
                    dem[x] = 0
                    hit[x] = 0
                    bo_acc[x] = 0.0
                    bo_t[x] = now
                for f in range(n_f):
                    down_acc[f] = 0.0
                    down_t[f] = now
                for s in range(n_s):
                    rep_acc[s] = 0.0
                    rep_t[s] = now
                counting = True
                warm_pending = False
            next_mark = min(next_sample, warmup_days) if warm_pending else next_sample
        now = t
        events += 1
        code = hc[0]
        kind = code % 3
        arg = code // 3
        sp = 0
        if kind == FAIL:
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
            if fwd:
                # Thin by the share of the item's positions that hold a unit.
                lo = fleet_cum[f, pos - 1] if pos > 0 else 0.0
                frac = (u - lo) / (fleet_cum[f, pos] - lo)
                if frac * fleet_qty[f, pos] >= filled_pos[arg, pos]:
                    continue
            elif holes[arg] > 0:
                continue
            item = fleet_item[f, pos]
            site = sys_site[arg]
            stack[0, 0] = _REPL
            stack[0, 1] = item
            stack[0, 2] = site
            stack[0, 3] = 1
            stack[1, 0] = _DEMAND
            stack[1, 1] = item
            stack[1, 2] = site
            stack[1, 3] = 3 * arg + _SYSTEM
            sp = 2
        else:
            n -= 1
            _sift_down(ht, hs, hc, n, ht[n], hs[n], hc[n])
            flat = arg
            if kind == DONE:
                site = flat % n_s
                rep_acc[site] += rep_n[site] * (now - rep_t[site])
                rep_t[site] = now
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
                        _push(ht, hs, hc, n, now + wd, seq, wf * 3 + DONE)
                        n += 1
                    else:
                        busy[site] -= 1
            # A good unit of ``flat`` is ready at its site: fill the oldest backorder.
            if qlen[flat] == 0:
                stock[flat] += 1
            else:
                bo_acc[flat] += qlen[flat] * (now - bo_t[flat])
                bo_t[flat] = now
                node = qhead[flat]
                who = val[node]
                qhead[flat] = nxt[node]
                qlen[flat] -= 1
                nxt[node] = free
                free = node
                nfree += 1
                ident = who // 3
                wk = who % 3
                if wk == _SYSTEM:
                    item = flat // n_s
                    f = sys_fleet[ident]
                    pos = 0
                    while pos < fleet_npos[f] - 1 and fleet_item[f, pos] != item:
                        pos += 1
                    filled_pos[ident, pos] += 1
                    holes[ident] -= 1
                    if holes[ident] == 0:
                        down_acc[f] += down[f] * (now - down_t[f])
                        down_t[f] = now
                        down[f] -= 1
                elif wk == _SITE:
                    d = ship_days[ident]
                    if expo and d > 0.0:
                        d *= rng.standard_exponential()
                    seq += 1
                    _push(ht, hs, hc, n, now + d, seq, (flat - flat % n_s + ident) * 3 + ARRIVE)
                    n += 1
                else:
                    jpend[ident] -= 1
                    if jpend[ident] == 0:
                        stack[0, 0] = _START
                        stack[0, 1] = ident
                        sp = 1
        while sp > 0:
            sp -= 1
            op = stack[sp, 0]
            a1 = stack[sp, 1]
            a2 = stack[sp, 2]
            a3 = stack[sp, 3]
            if op == _DEMAND:
                item = a1
                site = a2
                who = a3
                flat = item * n_s + site
                if counting:
                    dem[flat] += 1
                if stock[flat] > 0:
                    stock[flat] -= 1
                    if counting:
                        hit[flat] += 1
                    if who % 3 == _SITE:
                        child = who // 3
                        d = ship_days[child]
                        if expo and d > 0.0:
                            d *= rng.standard_exponential()
                        seq += 1
                        _push(ht, hs, hc, n, now + d, seq, (flat - site + child) * 3 + ARRIVE)
                        n += 1
                else:
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
                    wk = who % 3
                    if wk == _SYSTEM:  # the system waits for the part
                        f = sys_fleet[ident]
                        pos = 0
                        while pos < fleet_npos[f] - 1 and fleet_item[f, pos] != item:
                            pos += 1
                        filled_pos[ident, pos] -= 1
                        if holes[ident] == 0:
                            down_acc[f] += down[f] * (now - down_t[f])
                            down_t[f] = now
                            down[f] += 1
                        holes[ident] += 1
                    elif wk == _JOB:
                        jpend[ident] += 1
            elif op == _REPL:
                item = a1
                site = a2
                parent = site_parent[site]
                rep_days = -1.0
                if parent < 0:
                    c = item_f[2, item]
                    if c > 0.0 and rng.random() < c:  # condemned: procure a new one
                        d = item_f[5, item]
                        if expo and d > 0.0:
                            d *= rng.standard_exponential()
                        seq += 1
                        _push(ht, hs, hc, n, now + d, seq, (item * n_s + site) * 3 + ARRIVE)
                        n += 1
                    else:
                        rep_days = item_f[4, item]
                else:
                    r = item_f[1, item]
                    if a3 == 1 and r > 0.0 and (r >= 1.0 or rng.random() < r):
                        rep_days = item_f[3, item]
                    else:  # order from the parent
                        stack[sp, 0] = _REPL
                        stack[sp, 1] = item
                        stack[sp, 2] = parent
                        stack[sp, 3] = 0
                        stack[sp + 1, 0] = _DEMAND
                        stack[sp + 1, 1] = item
                        stack[sp + 1, 2] = parent
                        stack[sp + 1, 3] = 3 * site + _SITE
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
                    stack[sp, 0] = _START
                    stack[sp, 1] = job
                    sp += 1
                    for x in range(sub_ptr[item], sub_ptr[item + 1]):
                        u = sub_idx[x]
                        if rng.random() < item_f[0, u]:
                            stack[sp, 0] = _REPL
                            stack[sp, 1] = u
                            stack[sp, 2] = site
                            stack[sp, 3] = 1
                            stack[sp + 1, 0] = _DEMAND
                            stack[sp + 1, 1] = u
                            stack[sp + 1, 2] = site
                            stack[sp + 1, 3] = 3 * job + _JOB
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
                    rep_acc[site] += rep_n[site] * (now - rep_t[site])
                    rep_t[site] = now
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
                        _push(ht, hs, hc, n, now + d, seq, flat * 3 + DONE)
                        n += 1
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
def _loop(md, stock0, n_s, burst, rng, days, warmup_days, series_days, fwd, expo,  # type: ignore[no-untyped-def]
          series, down_int, bo_int, rep_int, dem, hit):
    """One replication: fills the output arrays, returns the number of events."""
    channels, sys_fleet, sys_rate = md[2], md[6], md[8]
    fleet_qty, counts = md[11], md[13]
    limited = False
    for s in range(n_s):
        if channels[s] > 0:
            limited = True
    n_flat = stock0.size
    n_sys = sys_fleet.size
    n_f = counts.size

    cnt = np.zeros(10, dtype=np.int64)
    fl = np.zeros(3)
    stock = stock0.copy()
    bo_acc = np.zeros(n_flat)
    bo_t = np.zeros(n_flat)
    busy = np.zeros(n_s, dtype=np.int64)
    rep_n = np.zeros(n_s, dtype=np.int64)
    rep_acc = np.zeros(n_s)
    rep_t = np.zeros(n_s)
    st = (stock, dem, hit, bo_acc, bo_t, busy, rep_n, rep_acc, rep_t)
    filled_pos = np.empty((n_sys, fleet_qty.shape[1]), dtype=np.int64)
    for j in range(n_sys):
        filled_pos[j] = fleet_qty[sys_fleet[j]]
    holes = np.zeros(n_sys, dtype=np.int64)
    down = np.zeros(n_f, dtype=np.int64)
    down_acc = np.zeros(n_f)
    down_t = np.zeros(n_f)
    sysst = (filled_pos, holes, down, down_acc, down_t)
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
    stack = np.zeros((2 * burst + 8, 4), dtype=np.int64)
    heap = _grow_heap((np.empty(0), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)),
                      n_sys + 2 * burst + 64)
    ht, hs, hc = heap
    n = 0
    for j in range(n_sys):  # first failure of every system
        if sys_rate[j] > 0.0:
            _push(ht, hs, hc, n, rng.standard_exponential() / sys_rate[j], n + 1, j * 3 + FAIL)
            n += 1
    cnt[_HN] = n
    cnt[_SEQ] = n
    counting = warmup_days <= 0.0
    cnt[_COUNTING] = 1 if counting else 0
    cnt[_WARM] = 0 if counting else 1
    next_sample = series_days[0] if series_days.size > 0 else np.inf
    fl[_NEXT_SAMPLE] = next_sample
    fl[_NEXT_MARK] = next_sample if counting else min(next_sample, warmup_days)
    while _run(md, st, sysst, heap, pool, qs, jobs, stack, cnt, fl, rng, days, warmup_days,
               series_days, series, fwd, expo, limited, n_s, burst) == 1:
        if cnt[_HN] + burst > heap[0].size:
            heap = _grow_heap(heap, cnt[_HN] + burst)
        if cnt[_NFREE] < burst:
            pool = _grow_pool(pool, cnt, burst)
        if cnt[_NJFREE] < burst:
            jobs = _grow_jobs(jobs, cnt, burst)
    if cnt[_WARM] == 1:  # the warm-up outlasts the events: start counting at its end
        for x in range(n_flat):
            dem[x] = 0
            hit[x] = 0
            bo_acc[x] = 0.0
            bo_t[x] = warmup_days
        for f in range(n_f):
            down_acc[f] = 0.0
            down_t[f] = warmup_days
        for s in range(n_s):
            rep_acc[s] = 0.0
            rep_t[s] = warmup_days
    sample = cnt[_SAMPLE]
    while sample < series_days.size:
        for f in range(n_f):
            series[sample, f] = 1.0 - down[f] / counts[f]
        sample += 1
    qlen = qs[2]
    for f in range(n_f):
        down_int[f] = down_acc[f] + down[f] * (days - down_t[f])
    for x in range(n_flat):
        bo_int[x] = bo_acc[x] + qlen[x] * (days - bo_t[x])
    for s in range(n_s):
        rep_int[s] = rep_acc[s] + rep_n[s] * (days - rep_t[s])
    return cnt[_EVENTS]
