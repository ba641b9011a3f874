"""Local search after the greedy meets its targets: drop or exchange purchased units.

Marginal analysis buys in whole units, so its last steps overshoot, and an early step
that later targets made unnecessary is never undone.  The local search removes such
units, or exchanges one for cheaper ones, whenever every target stays met (judged on
the same fleet terms as the greedy).
"""

from __future__ import annotations

import numpy as np

from sustain._types import FloatArray
from sustain.optimize.family import Family
from sustain.optimize.state import AllocationState, Deadline, Step

#: Purchases the local search tries to remove or swap, most expensive first.
LOCAL_SEARCH_UNITS = 200
#: The exchange step of the local search runs when families × sites is at most this.
REFILL_MAX_CANDIDATES = 60
#: Passes of the local search (each over the purchases then held).
LOCAL_SEARCH_PASSES = 4


def polish(
    opt: AllocationState,
    targets: FloatArray,
    log_a: FloatArray,
    steps: list[Step],
    cost: float,
    deadline: Deadline | None = None,
) -> list[Step]:
    """Run the local search to a fixed point (or until ``deadline``); the curve ends at
    the cheaper allocation."""
    saved = 0.0
    seen: dict[tuple[int, bytes], FloatArray] = {}
    for _ in range(LOCAL_SEARCH_PASSES):
        log_a, more = trim_and_swap(opt, targets, log_a, seen, deadline)
        saved += more
        if more <= 0 or (deadline is not None and deadline.stopped):
            break
    if saved <= 0:
        return steps
    cost -= saved
    kept = [st for st in steps if st.cost < cost - 1e-9]
    kept.append(
        Step(cost=cost, rows=(), stock=np.zeros((0, opt.a.n_sites)), availability=np.exp(log_a))
    )
    return kept


def trim_and_swap(
    opt: AllocationState,
    targets: FloatArray,
    log_a: FloatArray,
    seen: dict[tuple[int, bytes], FloatArray] | None = None,
    deadline: Deadline | None = None,
) -> tuple[FloatArray, float]:
    """Local search after the greedy reaches its targets: cheaper allocations that still meet them.

    Marginal analysis buys in whole units, so its last steps overshoot, and an early
    step that later targets made unnecessary is never undone.  For each purchased unit
    (most expensive first) try (1) removing it, and (2) removing it and refilling the
    shortfall with the best units per money by family re-evaluation, accepted only if
    the refill costs less than the unit removed (a 1-for-k exchange).  Every trial is
    judged on the same fleet terms as the greedy.  ``seen`` holds the terms of every
    family stock tried, by (family, stock), and is filled in: a trial repeated after
    an undone move, or in a later pass, is looked up instead of re-evaluated.  Past
    ``deadline`` the search stops between trials (every move kept meets the targets).
    """
    a = opt.a
    goal = np.where(np.isnan(targets), -np.inf, np.log(np.where(np.isnan(targets), 1, targets)))
    saved = 0.0
    if seen is None:
        seen = {}

    def deficit(la: FloatArray) -> float:
        return float(np.sum(np.maximum(goal - la, 0.0)))

    def trials(batch: list[tuple[int, list[tuple[int, int, int]]]]) -> list[list[FloatArray]]:
        """Each family's terms after each of its moves (row, site, delta) from the
        current stock; the moves not seen before in one evaluation."""
        out: list[list[tuple[int, bytes]]] = []
        todo: list[tuple[Family, FloatArray]] = []
        todo_keys: list[list[tuple[int, bytes]]] = []
        for fam_i, moves in batch:
            fam = opt.families[fam_i]
            stocks = np.repeat(opt.stock[fam.rows][None], len(moves), axis=0)
            for n, (r, s, delta) in enumerate(moves):
                stocks[n, int(np.flatnonzero(fam.rows == r)[0]), s] += delta
            keys = [(fam_i, st.tobytes()) for st in stocks]
            out.append(keys)
            new = [n for n, k in enumerate(keys) if k not in seen]
            if new:
                todo.append((fam, stocks[new]))
                todo_keys.append([keys[n] for n in new])
        for keys, terms in zip(todo_keys, opt.families_eval(todo), strict=True):
            seen.update(zip(keys, terms, strict=True))
        return [[seen[k] for k in keys] for keys in out]

    def trial(fam_i: int, r: int, s: int, delta: int) -> FloatArray:
        return trials([(fam_i, [(r, s, delta)])])[0][0]

    def apply(fam_i: int, r: int, s: int, delta: int, terms: FloatArray) -> None:
        fam = opt.families[fam_i]
        opt.stock[r, s] += delta
        opt.terms.assign(fam_i, terms)
        log_a[fam.fleets] = opt.exact_log_a(fam.fleets)

    bought = np.argwhere(opt.stock > opt.lo)
    order = np.argsort(-a.unit_cost[bought[:, 0]], kind="stable")[:LOCAL_SEARCH_UNITS]
    for r, s in bought[order].tolist():
        while opt.stock[r, s] > opt.lo[r, s]:
            if deadline is not None:
                if deadline.expired():
                    return log_a, saved
                deadline.tick()
            fam_i = int(opt.family_of[r])
            old_terms = opt.terms.current[fam_i]
            old_log = log_a.copy()
            new_terms = trial(fam_i, r, s, -1)
            apply(fam_i, r, s, -1, new_terms)
            if deficit(log_a) <= 0:
                saved += float(a.unit_cost[r])
                continue  # (1) removal alone keeps every target
            # (2) refill with cheaper units, greedily by deficit reduced per money
            #     (only where the candidates are few: each is a family re-evaluation).
            budget = float(a.unit_cost[r])
            if len(opt.families) * a.n_sites > REFILL_MAX_CANDIDATES:
                apply(fam_i, r, s, +1, old_terms)
                log_a[:] = old_log
                break
            added: list[tuple[int, int, int, FloatArray]] = []
            spent = 0.0
            while deficit(log_a) > 0:
                short = np.flatnonzero(goal - log_a > 0)
                fams = {g for f in short.tolist() for g in opt.fams_of_fleet[f]}
                best: tuple[float, int, int, int, FloatArray] | None = None
                d0 = deficit(log_a)
                batch: list[tuple[int, list[tuple[int, int, int]]]] = []
                for g in fams:
                    gf = opt.families[g]
                    moves = [
                        (rr, ss, +1) for rr in gf.rows.tolist()
                        if spent + a.unit_cost[rr] < budget
                        for ss in range(a.n_sites)
                        if opt.stock[rr, ss] + 1 <= opt.hi[rr, ss] and (rr, ss) != (r, s)
                    ]
                    if moves:
                        batch.append((g, moves))
                for (g, moves), terms in zip(batch, trials(batch), strict=True):
                    gf = opt.families[g]
                    for (rr, ss, _), t in zip(moves, terms, strict=True):
                        la = log_a.copy()
                        la[gf.fleets] += t - opt.terms.current[g]
                        gain = (d0 - deficit(la)) / max(float(a.unit_cost[rr]), 1e-300)
                        if gain > 0 and (best is None or gain > best[0]):
                            best = (gain, g, rr, ss, t)
                if best is None:
                    break
                _, g, rr, ss, t = best
                added.append((g, rr, ss, opt.terms.current[g]))
                apply(g, rr, ss, +1, t)
                spent += float(a.unit_cost[rr])
            if deficit(log_a) <= 0 and spent < budget:
                saved += budget - spent
                continue
            # Undo: the exchange does not pay.
            for g, rr, ss, t in reversed(added):
                apply(g, rr, ss, -1, t)
            apply(fam_i, r, s, +1, old_terms)
            log_a[:] = old_log
            break
    return log_a, saved
