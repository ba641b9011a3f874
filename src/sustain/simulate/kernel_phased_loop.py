"""The compiled event loop of :mod:`sustain.simulate.kernel_phased` (numba, ``cache=True``).

Laid out like :mod:`sustain.simulate.kernel_loop` (read its docstring first): arrays
bound once per call of :func:`_run_phased`, the logistics inlined, the same work stack
of ``_DEMAND`` / ``_REPL`` / ``_START`` rows (with a fifth column: the failed unit of a
system's demand), and :func:`_loop_phased` growing the arrays between calls.  What
the time-phased kernel adds:

- per-unit lives in operating hours (``due``, hours at failure) and one valid FAIL
  event per system (``due_seq``; stale ones are dropped when popped);
- a system whose state changes during an event is marked, and its hour rate and next
  failure are computed once at the end of the event (``resched``): every change
  inside one event happens at the same instant, so this equals rescheduling after
  each change;
- members of each fleet in a swap-remove array (a uniform random pick for losses and
  battle damage), systems with holes flagged per system and scanned per site
  (cannibalisation), backorders removed from the middle of a queue (a lost system's,
  and with cannibalisation the waiting system with the fewest holes).

numba's cache is keyed on this file alone: it does not see a change to the routines
imported from :mod:`~sustain.simulate.kernel_loop` (``_push``, ``_sift_down``, the
growth routines, the constants).  After changing those, touch this file (or delete
``__pycache__``) so that the time-phased loop is compiled again.
"""

from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np

from sustain.simulate.kernel_loop import (
    _DEMAND,
    _FREE,
    _HN,
    _JFREE,
    _JOB,
    _NFREE,
    _NJFREE,
    _REPL,
    _SEQ,
    _SITE,
    _START,
    _SYSTEM,
    _grow_heap,
    _grow_jobs,
    _grow_pool,
    _push,
    _sift_down,
)

FAIL, DONE, ARRIVE, DELIVER, TEMPO, LOSS, LOSS_DAY, DAMAGE, REPAIRED = range(9)
_NK = 9
_EVENTS, _SAMPLE, _COUNTING, _WARM = 6, 7, 8, 9
_NOW, _NEXT_SAMPLE, _NEXT_MARK = range(3)
INF = np.inf

_jit: Any = nb.njit(cache=True, nogil=True)


@_jit
def _touch(f, now, lev, acc):  # type: ignore[no-untyped-def]
    """Bring fleet ``f``'s integrals (up, present, damaged) up to ``now``."""
    dt = now - lev[3, f]
    if dt > 0.0:
        acc[0, f] += lev[0, f] * dt
        acc[1, f] += lev[1, f] * dt
        acc[2, f] += lev[2, f] * dt
    lev[3, f] = now


@_jit
def _run_phased(md, pd, st, sysst, heap, pool, qs, jobs, stack, cnt, fl, rng, days,  # type: ignore[no-untyped-def]
                warmup_days, series_days, outs, fwd, expo, limited, cannibal, n_s, burst):
    """Process events until the run ends (returns 0) or an array must grow (returns 1)."""
    (site_parent, ship_days, channels, sub_ptr, sub_idx, item_f, fleet_npos, fleet_item,
     fleet_qty) = md
    (sys_fleet, sys_site, fleet_hours, fleet_nunits, unit_pos, item_scale, item_inv_shape,
     step_ptr, step_fleet, step_factor, loss_rate, ld_fleet, ld_count, damage_rate,
     damage_days, dl_first, dl_count, dl_sp_ptr, dl_sp_flat, dl_sp_qty, mem_off,
     site_sys_ptr, site_sys) = pd
    stock, dem, hit, bo_acc, bo_t, busy, rep_n, rep_acc, rep_t = st
    (present, damaged, holes, filled_pos, due, op, op_t, rate_h, due_seq, factor, mem, mem_n,
     mem_where, in_holes, lev, acc, rs, rs_mark, supbuf) = sysst
    s_up, s_pres, s_dmg, s_lost = outs
    ht, hs, hc = heap
    nxt, val, dval = pool
    qhead, qtail, qlen = qs
    jflat, jd, jpend, jnext = jobs
    n_flat = stock.size
    n_f = factor.size
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
        sq = hs[0]
        code = hc[0]
        n -= 1
        _sift_down(ht, hs, hc, n, ht[n], hs[n], hc[n])
        kind = code % _NK
        arg = code // _NK
        if kind == FAIL and sq != due_seq[arg]:
            continue  # superseded by a reschedule
        if t >= next_mark:
            while t > next_sample:  # a sample day shows the events of that very day
                for f in range(n_f):
                    s_up[sample, f] = lev[0, f]
                    s_pres[sample, f] = lev[1, f]
                    s_dmg[sample, f] = lev[2, f]
                    s_lost[sample, f] = lev[4, f]
                sample += 1
                next_sample = series_days[sample] if sample < n_samples else INF
            if warm_pending and t >= warmup_days:
                now = warmup_days  # start the integrals afresh (levels are kept)
                for f in range(n_f):
                    acc[0, f] = 0.0
                    acc[1, f] = 0.0
                    acc[2, f] = 0.0
                    lev[3, f] = now
                for x in range(n_flat):
                    dem[x] = 0
                    hit[x] = 0
                    bo_acc[x] = 0.0
                    bo_t[x] = now
                for s in range(n_s):
                    rep_acc[s] = 0.0
                    rep_t[s] = now
                counting = True
                warm_pending = False
            next_mark = min(next_sample, warmup_days) if warm_pending else next_sample
        now = t
        events += 1
        sp = 0
        n_rs = 0
        n_sup = 0
        if kind == FAIL:
            j = arg
            f = sys_fleet[j]
            op[j] += rate_h[j] * (now - op_t[j])
            op_t[j] = now
            u = 0
            for v in range(1, fleet_nunits[f]):  # the unit with the least life left
                if due[j, v] < due[j, u]:
                    u = v
            item = fleet_item[f, unit_pos[f, u]]
            due[j, u] = INF
            site = sys_site[j]
            stack[0, 0] = _REPL
            stack[0, 1] = item
            stack[0, 2] = site
            stack[0, 3] = 1
            stack[1, 0] = _DEMAND
            stack[1, 1] = item
            stack[1, 2] = site
            stack[1, 3] = 3 * j + _SYSTEM
            stack[1, 4] = u
            sp = 2
            rs[n_rs] = j
            n_rs += 1
        elif kind == DONE:
            site = arg % n_s
            rep_acc[site] += rep_n[site] * (now - rep_t[site])
            rep_t[site] = now
            rep_n[site] -= 1
            if limited and channels[site] > 0:
                w = n_flat + site
                if qlen[w] > 0:
                    node = qhead[w]
                    wf = val[node]
                    wd = dval[node]
                    qhead[w] = nxt[node]
                    qlen[w] -= 1
                    nxt[node] = free
                    free = node
                    nfree += 1
                    seq += 1
                    _push(ht, hs, hc, n, now + wd, seq, wf * _NK + DONE)
                    n += 1
                else:
                    busy[site] -= 1
            supbuf[0] = arg
            n_sup = 1
        elif kind == ARRIVE:
            supbuf[0] = arg
            n_sup = 1
        elif kind == DELIVER:
            for j in range(dl_first[arg], dl_first[arg] + dl_count[arg]):
                f = sys_fleet[j]
                present[j] = 1
                op[j] = 0.0
                op_t[j] = now
                for v in range(fleet_nunits[f]):
                    it = fleet_item[f, unit_pos[f, v]]
                    e = rng.standard_exponential()
                    k1 = item_inv_shape[it]
                    due[j, v] = item_scale[it] * (e if k1 == 1.0 else e**k1)
                _touch(f, now, lev, acc)
                lev[1, f] += 1
                lev[0, f] += 1
                mem[mem_off[f] + mem_n[f]] = j
                mem_where[j] = mem_n[f]
                mem_n[f] += 1
                rs[n_rs] = j
                n_rs += 1
            for x in range(dl_sp_ptr[arg], dl_sp_ptr[arg + 1]):
                for _ in range(dl_sp_qty[x]):
                    supbuf[n_sup] = dl_sp_flat[x]
                    n_sup += 1
        elif kind == TEMPO:
            for x in range(step_ptr[arg], step_ptr[arg + 1]):
                f = step_fleet[x]
                for y in range(mem_n[f]):
                    j = mem[mem_off[f] + y]
                    op[j] += rate_h[j] * (now - op_t[j])  # hours so far at the old rate
                    op_t[j] = now
                    rs[n_rs] = j
                    n_rs += 1
                factor[f] = step_factor[x]
        elif LOSS <= kind <= LOSS_DAY:  # LOSS, LOSS_DAY
            if kind == LOSS:
                f = arg
                n_lose = 1
                seq += 1
                _push(ht, hs, hc, n, now + rng.standard_exponential() / loss_rate[f], seq,
                      f * _NK + LOSS)
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
                lev[1, f] -= 1
                lev[4, f] += 1
                if present[j] == 1 and damaged[j] == 0 and holes[j] == 0:
                    lev[0, f] -= 1
                if damaged[j] == 1:
                    lev[2, f] -= 1
                    damaged[j] = 0
                present[j] = 0
                due_seq[j] = -1
                k = mem_where[j]  # swap-remove from the fleet's members
                last = mem[mem_off[f] + m - 1]
                mem[mem_off[f] + k] = last
                mem_where[last] = k
                mem_n[f] = m - 1
                in_holes[j] = 0
                # Its backorders are void: a unit that would have filled them fills the next.
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
            if nd > 0:
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
                if present[j] == 1 and holes[j] == 0:
                    lev[0, f] -= 1
                damaged[j] = 1
                lev[2, f] += 1
                op[j] += rate_h[j] * (now - op_t[j])
                op_t[j] = now
                rs[n_rs] = j
                n_rs += 1
                d = damage_days[f]
                if expo and d > 0.0:
                    d *= rng.standard_exponential()
                seq += 1
                _push(ht, hs, hc, n, now + d, seq, j * _NK + REPAIRED)
                n += 1
            seq += 1
            _push(ht, hs, hc, n, now + rng.standard_exponential() / damage_rate[f], seq,
                  f * _NK + DAMAGE)
            n += 1
        elif present[arg] == 1 and damaged[arg] == 1:  # REPAIRED (void if lost)
            j = arg
            f = sys_fleet[j]
            _touch(f, now, lev, acc)
            damaged[j] = 0
            lev[2, f] -= 1
            if holes[j] == 0:
                lev[0, f] += 1
            op[j] += rate_h[j] * (now - op_t[j])
            op_t[j] = now
            rs[n_rs] = j
            n_rs += 1
        for z in range(n_sup):  # good units ready: fill the oldest backorder (or the best)
            flat = supbuf[z]
            if qlen[flat] == 0:
                stock[flat] += 1
                continue
            bo_acc[flat] += qlen[flat] * (now - bo_t[flat])
            bo_t[flat] = now
            node = qhead[flat]
            prev = -1
            who = val[node]
            if cannibal and who % 3 == _SYSTEM and qlen[flat] > 1:
                # The waiting system with the fewest holes (the oldest among equals).
                p = node
                x = nxt[node]
                while x != -1:
                    w = val[x]
                    if w % 3 == _SYSTEM and holes[w // 3] < holes[who // 3]:
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
                op[j] += rate_h[j] * (now - op_t[j])
                op_t[j] = now
                for v in range(fleet_nunits[f]):
                    if unit_pos[f, v] == pos and due[j, v] == INF:
                        e = rng.standard_exponential()
                        k1 = item_inv_shape[item]
                        due[j, v] = op[j] + item_scale[item] * (e if k1 == 1.0 else e**k1)
                        break
                filled_pos[j, pos] += 1
                holes[j] -= 1
                if holes[j] == 0:
                    in_holes[j] = 0
                    if present[j] == 1 and damaged[j] == 0:
                        _touch(f, now, lev, acc)
                        lev[0, f] += 1
                rs[n_rs] = j
                n_rs += 1
            elif wk == _SITE:
                d = ship_days[ident]
                if expo and d > 0.0:
                    d *= rng.standard_exponential()
                seq += 1
                _push(ht, hs, hc, n, now + d, seq, (flat - flat % n_s + ident) * _NK + ARRIVE)
                n += 1
            else:
                jpend[ident] -= 1
                if jpend[ident] == 0:
                    stack[sp, 0] = _START
                    stack[sp, 1] = ident
                    sp += 1
        while sp > 0:
            sp -= 1
            op_ = stack[sp, 0]
            a1 = stack[sp, 1]
            a2 = stack[sp, 2]
            a3 = stack[sp, 3]
            if op_ == _DEMAND:
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
                    wk = who % 3
                    if wk == _SITE:
                        child = who // 3
                        d = ship_days[child]
                        if expo and d > 0.0:
                            d *= rng.standard_exponential()
                        seq += 1
                        _push(ht, hs, hc, n, now + d, seq, (flat - site + child) * _NK + ARRIVE)
                        n += 1
                    elif wk == _SYSTEM:  # a new unit in the failed one's place
                        j = who // 3
                        e = rng.standard_exponential()
                        k1 = item_inv_shape[item]
                        due[j, stack[sp, 4]] = op[j] + item_scale[item] * (
                            e if k1 == 1.0 else e**k1)
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
                    if wk == _SYSTEM:
                        j = ident
                        u = stack[sp, 4]
                        f = sys_fleet[j]
                        pos = unit_pos[f, u]
                        donor = -1
                        if cannibal:  # take a good unit from the down system with most holes
                            most = 0
                            for y in range(site_sys_ptr[site], site_sys_ptr[site + 1]):
                                dd = site_sys[y]
                                if in_holes[dd] == 0 or dd == j or damaged[dd] == 1:
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
                        if donor >= 0:
                            f_d = sys_fleet[donor]
                            pd_ = 0
                            while fleet_item[f_d, pd_] != item:
                                pd_ += 1
                            op[donor] += rate_h[donor] * (now - op_t[donor])
                            op_t[donor] = now
                            best_u = -1
                            best = INF
                            for v in range(fleet_nunits[f_d]):  # its unit with most life left
                                if unit_pos[f_d, v] == pd_ and due[donor, v] < INF and (
                                        best_u < 0 or due[donor, v] > best):
                                    best_u = v
                                    best = due[donor, v]
                            due[j, u] = op[j] + (best - op[donor])
                            due[donor, best_u] = INF
                            filled_pos[donor, pd_] -= 1
                            holes[donor] += 1
                            val[node] = 3 * donor + _SYSTEM  # the backorder is now the donor's
                            rs[n_rs] = donor
                            n_rs += 1
                        else:
                            was_up = present[j] == 1 and damaged[j] == 0 and holes[j] == 0
                            filled_pos[j, pos] -= 1
                            holes[j] += 1
                            in_holes[j] = 1
                            if was_up:
                                _touch(f, now, lev, acc)
                                lev[0, f] -= 1
                    elif wk == _JOB:
                        jpend[ident] += 1
            elif op_ == _REPL:
                item = a1
                site = a2
                parent = site_parent[site]
                rep_days = -1.0
                if parent < 0:
                    c = item_f[2, item]
                    if c > 0.0 and rng.random() < c:
                        d = item_f[5, item]
                        if expo and d > 0.0:
                            d *= rng.standard_exponential()
                        seq += 1
                        _push(ht, hs, hc, n, now + d, seq, (item * n_s + site) * _NK + ARRIVE)
                        n += 1
                    else:
                        rep_days = item_f[4, item]
                else:
                    r = item_f[1, item]
                    if a3 == 1 and r > 0.0 and (r >= 1.0 or rng.random() < r):
                        rep_days = item_f[3, item]
                    else:
                        stack[sp, 0] = _REPL
                        stack[sp, 1] = item
                        stack[sp, 2] = parent
                        stack[sp, 3] = 0
                        stack[sp + 1, 0] = _DEMAND
                        stack[sp + 1, 1] = item
                        stack[sp + 1, 2] = parent
                        stack[sp + 1, 3] = 3 * site + _SITE
                        sp += 2
                if rep_days >= 0.0:
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
                        _push(ht, hs, hc, n, now + d, seq, flat * _NK + DONE)
                        n += 1
        for z in range(n_rs):  # new hour rates and next failures of the systems touched
            j = rs[z]
            if rs_mark[j] == 1:
                continue
            rs_mark[j] = 1
            op[j] += rate_h[j] * (now - op_t[j])
            op_t[j] = now
            f = sys_fleet[j]
            working = present[j] == 1 and damaged[j] == 0 and (fwd or holes[j] == 0)
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
                    _push(ht, hs, hc, n, now + (d - op[j]) / r, seq, j * _NK + FAIL)
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
def _loop_phased(md, pd, ev, factor0, stock0, n_initial, n_s, burst, max_rs, max_sup, rng, days,  # type: ignore[no-untyped-def]
                 warmup_days, series_days, fwd, expo, cannibal, outs, lev, acc, bo_int,
                 rep_int, dem, hit):
    """One replication with time-phased keys: fills the outputs, returns the events.

    ``ev`` holds the scheduled events ``(day, code)`` (deliveries, tempo steps, given
    losses) as two arrays; ``lev`` rows are the fleet levels up, present, damaged,
    time of the last change, lost; ``acc`` rows the integrals of the first three.
    """
    channels, fleet_item, fleet_qty = md[2], md[7], md[8]
    sys_fleet, fleet_hours, fleet_nunits, unit_pos = pd[0], pd[2], pd[3], pd[4]
    item_scale, item_inv_shape, loss_rate, damage_rate = pd[5], pd[6], pd[10], pd[13]
    mem_off = pd[20]
    limited = False
    for s in range(n_s):
        if channels[s] > 0:
            limited = True
    n_flat = stock0.size
    n_sys = sys_fleet.size
    n_f = fleet_hours.size
    width_u = unit_pos.shape[1]
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
    present = np.zeros(n_sys, dtype=np.int64)
    damaged = np.zeros(n_sys, dtype=np.int64)
    holes = np.zeros(n_sys, dtype=np.int64)
    filled_pos = np.empty((n_sys, fleet_qty.shape[1]), dtype=np.int64)
    for j in range(n_sys):
        filled_pos[j] = fleet_qty[sys_fleet[j]]
    due = np.full((n_sys, max(width_u, 1)), INF)
    op = np.zeros(n_sys)
    op_t = np.zeros(n_sys)
    rate_h = np.zeros(n_sys)
    due_seq = np.full(n_sys, -1, dtype=np.int64)
    factor = factor0.copy()
    mem = np.zeros(max(n_sys, 1), dtype=np.int64)
    mem_n = np.zeros(n_f, dtype=np.int64)
    mem_where = np.zeros(n_sys, dtype=np.int64)
    in_holes = np.zeros(n_sys, dtype=np.int64)
    rs = np.zeros(max_rs, dtype=np.int64)
    rs_mark = np.zeros(n_sys, dtype=np.int64)
    supbuf = np.zeros(max_sup, dtype=np.int64)
    sysst = (present, damaged, holes, filled_pos, due, op, op_t, rate_h, due_seq, factor, mem,
             mem_n, mem_where, in_holes, lev, acc, rs, rs_mark, supbuf)
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
    heap = _grow_heap((np.empty(0), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)),
                      n_sys + ev[0].size + 2 * n_f + 2 * burst + 64)
    ht, hs, hc = heap
    n = 0
    seq = 0
    for j in range(n_initial):  # day-0 systems
        f = sys_fleet[j]
        present[j] = 1
        for v in range(fleet_nunits[f]):
            it = fleet_item[f, unit_pos[f, v]]
            e = rng.standard_exponential()
            k1 = item_inv_shape[it]
            due[j, v] = item_scale[it] * (e if k1 == 1.0 else e**k1)
        lev[1, f] += 1
        lev[0, f] += 1
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
                _push(ht, hs, hc, n, d / r, seq, j * _NK + FAIL)
                n += 1
    ev_day, ev_code = ev
    for k in range(ev_day.size):  # deliveries, tempo steps, given losses
        seq += 1
        _push(ht, hs, hc, n, ev_day[k], seq, ev_code[k])
        n += 1
    for f in range(n_f):
        if loss_rate[f] > 0.0:
            seq += 1
            _push(ht, hs, hc, n, rng.standard_exponential() / loss_rate[f], seq, f * _NK + LOSS)
            n += 1
        if damage_rate[f] > 0.0:
            seq += 1
            _push(ht, hs, hc, n, rng.standard_exponential() / damage_rate[f], seq,
                  f * _NK + DAMAGE)
            n += 1
    cnt[_HN] = n
    cnt[_SEQ] = seq
    counting = warmup_days <= 0.0
    cnt[_COUNTING] = 1 if counting else 0
    cnt[_WARM] = 0 if counting else 1
    next_sample = series_days[0] if series_days.size > 0 else INF
    fl[_NEXT_SAMPLE] = next_sample
    fl[_NEXT_MARK] = next_sample if counting else min(next_sample, warmup_days)
    while _run_phased(md, pd, st, sysst, heap, pool, qs, jobs, stack, cnt, fl, rng, days,
                      warmup_days, series_days, outs, fwd, expo, limited, cannibal, n_s,
                      burst) == 1:
        if cnt[_HN] + burst > heap[0].size:
            heap = _grow_heap(heap, cnt[_HN] + burst)
        if cnt[_NFREE] < burst:
            pool = _grow_pool(pool, cnt, burst)
        if cnt[_NJFREE] < burst:
            jobs = _grow_jobs(jobs, cnt, burst)
    if cnt[_WARM] == 1:  # the warm-up outlasts the events: start counting at its end
        for f in range(n_f):
            acc[0, f] = 0.0
            acc[1, f] = 0.0
            acc[2, f] = 0.0
            lev[3, f] = warmup_days
        for x in range(n_flat):
            dem[x] = 0
            hit[x] = 0
            bo_acc[x] = 0.0
            bo_t[x] = warmup_days
        for s in range(n_s):
            rep_acc[s] = 0.0
            rep_t[s] = warmup_days
    s_up, s_pres, s_dmg, s_lost = outs
    sample = cnt[_SAMPLE]
    while sample < series_days.size:
        for f in range(n_f):
            s_up[sample, f] = lev[0, f]
            s_pres[sample, f] = lev[1, f]
            s_dmg[sample, f] = lev[2, f]
            s_lost[sample, f] = lev[4, f]
        sample += 1
    for f in range(n_f):
        _touch(f, days, lev, acc)
    qlen = qs[2]
    for x in range(n_flat):
        bo_int[x] = bo_acc[x] + qlen[x] * (days - bo_t[x])
    for s in range(n_s):
        rep_int[s] = rep_acc[s] + rep_n[s] * (days - rep_t[s])
    return cnt[_EVENTS]
