"""One replication with time-phased keys: per-unit lifetimes and a changing fleet.

The time-phased mode of the compiled loop (:mod:`sustain.simulate.kernel_loop`): the
logistics (remove and replace, base and depot repair, resupply, condemnation,
sub-items, repair channels) are the steady-state mode's (:mod:`sustain.simulate.kernel`),
the same code; what differs is how systems fail and come and go:

- every installed unit has its own life in **operating hours** of its system
  (Weibull, exponential when the shape is 1); a system accumulates hours at
  ``hours_per_day × tempo factor`` while it operates (present, not in battle-damage
  repair, and, unless ``failures_while_down``, not down for a part), so its next
  failure is the unit with the least life left, scheduled in calendar time and
  rescheduled whenever its hour rate changes (stale events are recognised by their
  sequence number, ``due_seq``);
- deliveries, losses (a Poisson rate or given days), battle damage and tempo steps
  are events of their own; the losses of a fleet stop while it has no system, its
  battle damage while it has none to hit (both are Poisson, so starting afresh when
  a system is delivered or repaired is the same law);
- with cannibalisation, a system whose part fails with an empty shelf takes a good
  unit from the down system at the same site with the most holes (its backorder
  moves to that system), and a unit arriving for systems goes to the waiting system
  with the fewest holes (oldest first among equals): holes are consolidated into as
  few systems as possible.

Monitors per fleet are time integrals of the systems present, up and in
battle-damage repair; availability is system-days up over system-days present (none
below one system-day present).  This mode runs only when a scenario has time-phased
keys, and its code is pruned from the steady-state specialisation of the loop, so
the steady-state hot path carries none of these checks.  This module flattens the
:class:`~sustain.simulate.phased.PhasedModel` into arrays and wraps the results.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sustain._types import FloatArray, IntArray
from sustain.simulate.interrupt import SimulationInterrupted
from sustain.simulate.kernel import (
    KernelArrays,
    Replication,
    common_model,
    kernel_arrays,
    no_halt,
)
from sustain.simulate.kernel_loop import DELIVER, LOSS_DAY, NK, TEMPO, _loop
from sustain.simulate.model import SimModel
from sustain.simulate.phased import PhasedModel

#: A replication measures a fleet's availability (system-days up over system-days
#: present after the warm-up) only when the fleet had at least this many system-days
#: present: a fleet destroyed in its first minutes was not "fully available", it was
#: hardly there.
MIN_PRESENT_SYSTEM_DAYS = 1.0


def _csr(rows: list[list[int]] | list[list[float]], dtype: type) -> tuple[np.ndarray, np.ndarray]:
    ptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
    return ptr, np.array([x for r in rows for x in r], dtype=dtype)


def phased_arrays(m: SimModel, p: PhasedModel) -> dict[str, object]:
    """The arrays of ``m`` and ``p`` that the compiled loop reads (``md`` and the model
    ``pm`` of ``kernel_loop._run``), built once per job (or chunk of replications)."""
    k = kernel_arrays(m)
    i64 = np.int64
    n_f = len(m.fleet_count)
    n_sys = len(p.sys_fleet)
    width = max([1, *(len(u) for u in p.fleet_unit_pos)])
    unit_pos = np.zeros((n_f, width), dtype=i64)
    for f, units in enumerate(p.fleet_unit_pos):
        unit_pos[f, : len(units)] = units
    step_ptr, step_fleet = _csr([[f for f, _ in st[1]] for st in p.tempo_steps], i64)
    _, step_factor = _csr([[x for _, x in st[1]] for st in p.tempo_steps], np.float64)
    sp_ptr, sp_flat = _csr([[fl for fl, _ in d[4]] for d in p.deliveries], i64)
    _, sp_qty = _csr([[q for _, q in d[4]] for d in p.deliveries], i64)
    sys_fleet = np.array(p.sys_fleet, dtype=i64).reshape(n_sys)
    sys_site = np.array(p.sys_site, dtype=i64).reshape(n_sys)
    per_fleet = np.bincount(sys_fleet, minlength=n_f)
    site_sys = np.argsort(sys_site, kind="stable").astype(i64)  # systems grouped by site
    site_ptr = np.concatenate([[0], np.cumsum(np.bincount(sys_site, minlength=m.n_sites))])
    site_ptr = site_ptr.astype(i64)
    # Scheduled events in the order the Python kernel pushed them (ties: that order).
    ev = [(d[0], n * NK + DELIVER) for n, d in enumerate(p.deliveries)]
    ev += [(st[0], n * NK + TEMPO) for n, st in enumerate(p.tempo_steps)]
    ev += [(ld[0], n * NK + LOSS_DAY) for n, ld in enumerate(p.loss_days)]
    most_rows = max([0, *(len(d[4]) for d in p.deliveries)])  # spares rows in a delivery
    pm = (
        np.array(p.fleet_hours, dtype=np.float64),
        np.array([len(u) for u in p.fleet_unit_pos], dtype=i64).reshape(n_f), unit_pos,
        np.array(p.item_scale_hours, dtype=np.float64),
        np.array(p.item_inv_shape, dtype=np.float64),
        step_ptr, step_fleet, step_factor,
        np.array(p.loss_rate, dtype=np.float64).reshape(n_f),
        np.array([x[1] for x in p.loss_days], dtype=i64),
        np.array([x[2] for x in p.loss_days], dtype=i64),
        np.array(p.damage_rate, dtype=np.float64).reshape(n_f),
        np.array(p.damage_repair_days, dtype=np.float64).reshape(n_f),
        np.array([d[2] for d in p.deliveries], dtype=i64),
        np.array([d[3] for d in p.deliveries], dtype=i64),
        sp_ptr, sp_flat, sp_qty,
        np.concatenate([[0], np.cumsum(per_fleet)[:-1]]).astype(i64).reshape(n_f),
        site_ptr, site_sys,
        np.array([e[0] for e in ev], dtype=np.float64), np.array([e[1] for e in ev], dtype=i64),
        int(p.n_initial), most_rows + 1, bool(p.cannibalisation),
        np.array(m.fleet_order, dtype=i64).reshape(n_f),
    )
    return {
        "k": k,
        "md": common_model(k, sys_fleet, sys_site),
        "pm": pm,
        "burst": k.burst + 16,
    }


def run_phased(
    m: SimModel,
    p: PhasedModel,
    rng: np.random.Generator,
    *,
    days: float,
    warmup_days: float,
    series_days: FloatArray,
    failures_while_down: bool,
    exponential_delays: bool,
    arrays: dict[str, object] | None = None,
    halt: IntArray | None = None,
) -> Replication:
    """Simulate ``days`` calendar days once with the time-phased keys of ``p``.

    ``arrays`` (from :func:`phased_arrays`) saves flattening the models again for
    every replication of the same job; ``halt`` as in :func:`sustain.simulate.kernel.run`.
    """
    x: dict[str, Any] = phased_arrays(m, p) if arrays is None else arrays
    k: KernelArrays = x["k"]
    n_f = len(m.fleet_count)
    n_s = m.n_sites
    n_flat = k.stock.size
    sd = np.asarray(series_days, dtype=np.float64)
    s_up, s_pres, s_dmg, s_lost = (np.zeros((sd.size, n_f)) for _ in range(4))
    lev = np.zeros((6, n_f))
    acc = np.zeros((4, n_f))
    bo_int = np.zeros(n_flat)
    rep_int = np.zeros((2, n_s))  # repair jobs, busy channels
    dem = np.zeros(n_flat, dtype=np.int64)
    hit = np.zeros(n_flat, dtype=np.int64)
    n_sys = len(p.sys_fleet)
    width = x["pm"][2].shape[1]
    i64 = np.int64
    pst = (
        np.zeros(n_sys, dtype=i64), np.zeros(n_sys, dtype=i64),  # present, damaged
        np.full((n_sys, max(width, 1)), np.inf),  # due: the life of each unit (hours)
        np.zeros(n_sys), np.zeros(n_sys), np.zeros(n_sys),  # hours, hours_t, rate_h
        np.full(n_sys, -1, dtype=i64),  # due_seq
        np.array(p.tempo_start, dtype=np.float64).reshape(n_f),  # factor
        np.zeros(max(n_sys, 1), dtype=i64), np.zeros(n_f, dtype=i64),  # mem, mem_n
        np.zeros(n_sys, dtype=i64), np.zeros(n_sys, dtype=i64),  # mem_where, in_holes
        lev, acc, np.zeros(n_sys, dtype=i64),  # rs_mark
        s_up, s_pres, s_dmg, s_lost,
        np.zeros(n_f, dtype=i64), np.zeros(n_f, dtype=i64),  # loss_on, damage_on
    )
    events = _loop(
        x["md"], None, (x["pm"], pst), True, k.stock, n_s, x["burst"], rng, float(days),
        float(warmup_days), sd, bool(failures_while_down), bool(exponential_delays), bo_int,
        rep_int, dem, hit, no_halt() if halt is None else halt,
    )
    if events < 0:
        raise SimulationInterrupted
    span = days - warmup_days
    up_int, pres_int = acc[0], acc[1]
    avail = np.full(n_f, np.nan)
    np.divide(up_int, pres_int, out=avail, where=pres_int >= MIN_PRESENT_SYSTEM_DAYS)
    avail_fmc = np.full(n_f, np.nan)
    np.divide(acc[3], pres_int, out=avail_fmc, where=pres_int >= MIN_PRESENT_SYSTEM_DAYS)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(s_pres > 0, s_up / np.maximum(s_pres, 1.0), np.nan)
    return Replication(
        availability=avail,
        series=share,
        backorders=bo_int / span,
        demands=dem.astype(np.float64),
        filled=hit.astype(np.float64),
        in_repair=rep_int[0] / span,
        busy=rep_int[1] / span,
        events=int(events),
        present_mean=pres_int / span,
        up_mean=up_int / span,
        damaged_mean=acc[2] / span,
        lost=lev[4].copy(),
        series_up=s_up,
        series_present=s_pres,
        series_damaged=s_dmg,
        series_lost=s_lost,
        availability_fmc=avail_fmc,
    )
