"""Readiness over time: the METRIC family with time-varying demand (Dyna-METRIC style).

The fleets change on the days the scenario's time-phased keys name (deliveries,
tempo windows, attrition, battle damage, spares delivered); the model is evaluated at
days ``0, K, 2K, …, D``.  Before day 0 every rate is the day-0 rate, long enough for
the steady state (every event dated day 0 counts at day 0 and before it).

* **Demand.**  Failures per day follow the operating hours of the systems present:
  ``count(t) · hours_per_day · tempo(t)`` per fleet, fed through the same flows as the
  steady model (:func:`~sustain.readiness.metric.demand_flows`) on a time axis cut at
  every event day, so every rate is constant between cuts.  The expected systems
  present follow the fluid path ``dN/dt = −r`` (attrition rate ``r``, floored at 0),
  with deliveries and given losses as jumps; where ``r > 0`` the axis is cut every
  :data:`ATTRITION_STEP_DAYS` and each piece takes the count at its midpoint (the
  midpoint rule is exact for the linear decline away from the floor).
* **Battle damage.**  Systems under whole-system repair neither fail nor count as
  available: with offered load ``a = damaged_per_day · repair_days`` the expected
  number in repair is ``a (1 − B(N, a))`` (Erlang's loss formula, B continued to
  fractional N by the incomplete gamma function), taken at the current N
  (quasi-steady).  The others operate; availability is
  ``(N_op / N) · A(N_op)`` with ``A`` Sherbrooke's product formula.
* **Pipelines** by Palm's theorem for nonstationary Poisson demand (Crawford, RAND
  R-2750, 1981): with a deterministic delay ``L`` the units in the delay at ``t``
  are the demands of ``(t − L, t]``, ``∫_{t−L}^{t} λ(u) du``; with an exponential
  delay of mean ``L`` (the M_t/M/∞ mean) ``∫_{−∞}^{t} λ(u) e^{−(t−u)/L} du``.  Both
  are computed in closed form for the piecewise-constant rates, and both are
  Poisson for one echelon.
* **Echelons** (Dyna-METRIC, Hillestad, RAND R-2785, 1982): a base's outstanding
  orders at ``t`` are those placed in ``(t − O, t]`` plus those still backordered at
  the parent at ``t − O``, exactly (first come, first served); the second term's
  mean is approximated by the base's share ``f = up / demand_parent`` of the
  parent's expected backorders at ``t − O``, its variance by binomial thinning as in
  the steady code.  With exponential delays the parent's backorders enter at the
  lag of the mean ``O`` (an approximation).
* **Indentures**: sub-item backorders at ``t`` hold up ``g · EBO_sub(t)`` parent
  units at the same site and time (``g`` the share of the sub-item's demand from
  those repairs), as in the steady model.

Pure array code, vectorised over items × sites × days: the only Python loops run
over the time pieces (the exponential recurrence, the fleets' events), the tree
levels and chunks of rows or report days, never over items.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import special

from sustain._types import FloatArray, IntArray
from sustain.errors import SustainError
from sustain.readiness.backorders import BackorderMoments, backorder_moments
from sustain.readiness.metric import Flows, Method, Pipelines, demand_flows, fleet_availability
from sustain.readiness.redundancy import split_availability
from sustain.scenario.compile import ScenarioArrays, compile_scenario
from sustain.scenario.model import Scenario
from sustain.scenario.timeline import tempo_factors, with_delivered_fleets

#: Length in days of the pieces of the time axis where an attrition rate makes the
#: expected number of systems decline continuously.
ATTRITION_STEP_DAYS = 1.0
#: Cells (items × sites × days) evaluated together: small enough to stay in cache.
CHUNK_CELLS = 1 << 17
#: Longest horizon in days (100 years).
MAX_DAYS = 36_500


@dataclass(frozen=True, slots=True, kw_only=True)
class OverTime:
    """Readiness of a scenario at a series of days.

    Attributes
    ----------
    arrays : ScenarioArrays
        The compiled day-0 scenario (with an empty fleet for each fleet a delivery
        creates): ids and axes of the arrays below.
    method : Method
        METRIC or VARI-METRIC.
    exponential : bool
        Exponential delays (else deterministic).
    days : IntArray
        The days reported, ``0, K, 2K, …, D``.
    present, operating : FloatArray
        (fleets × days) expected systems present, and of those not under battle-damage
        repair.
    availability : FloatArray
        (fleets × days) expected share of the present systems that are up (NaN with
        no system present).
    stock, demand_per_day, pipeline_mean, pipeline_var, ebo, vbo, fill_rate : FloatArray
        (items × sites × days).
    """

    arrays: ScenarioArrays
    method: Method
    exponential: bool
    days: IntArray
    present: FloatArray
    operating: FloatArray
    availability: FloatArray
    stock: FloatArray
    demand_per_day: FloatArray
    pipeline_mean: FloatArray
    pipeline_var: FloatArray
    ebo: FloatArray
    vbo: FloatArray
    fill_rate: FloatArray

    @property
    def expected_available(self) -> FloatArray:
        """(fleets × days) expected systems up."""
        return np.nan_to_num(self.availability) * self.present

    def item_rows(self) -> tuple[IntArray, IntArray]:
        """(item, site) pairs reported: stocked or demanded on some day."""
        seen = np.any((self.stock > 0) | (self.demand_per_day > 0), axis=2)
        ii, ss = np.nonzero(seen)
        return ii.astype(np.int64), ss.astype(np.int64)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``sustain evaluate --over-time --json`` (shared/spec)."""
        a = self.arrays
        days = [int(d) for d in self.days.tolist()]
        fleets = []
        avail, up = self.availability.tolist(), self.expected_available.tolist()
        present = self.present.tolist()
        for f in range(a.fleet_system.size):
            fleets.append({
                "system": a.system_ids[a.fleet_system[f]],
                "site": a.site_ids[a.fleet_site[f]],
                "series": [
                    {
                        "day": d,
                        "count": present[f][n],
                        "availability": None if np.isnan(avail[f][n]) else avail[f][n],
                        "expected_available": up[f][n],
                    }
                    for n, d in enumerate(days)
                ],
            })
        ii, ss = self.item_rows()
        cols = {
            "stock": self.stock[ii, ss].astype(np.int64).tolist(),
            "demand_per_day": self.demand_per_day[ii, ss].tolist(),
            "pipeline_mean": self.pipeline_mean[ii, ss].tolist(),
            "ebo": self.ebo[ii, ss].tolist(),
        }
        items = []
        for r, (i, s) in enumerate(zip(ii.tolist(), ss.tolist(), strict=True)):
            items.append({
                "item": a.item_ids[i],
                "site": a.site_ids[s],
                "series": [
                    {"day": d, **{k: v[r][n] for k, v in cols.items()}}
                    for n, d in enumerate(days)
                ],
            })
        return {"method": str(self.method), "days": days, "fleets": fleets, "items": items}


# --------------------------------------------------------------------------- fleets


def report_days(days: int, step: int) -> IntArray:
    """``0, step, 2·step, …`` and ``days`` last (even when ``step`` does not divide it)."""
    grid = np.arange(0, days, step, dtype=np.int64)
    return np.append(grid, np.int64(days))


def _check(days: object, step: object) -> tuple[int, int]:
    for name, v in (("days", days), ("step", step)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer):
            raise SustainError(f"{name} must be a whole number of days: got {v!r}")
    d, k = int(days), int(step)  # type: ignore[call-overload]
    if not 1 <= d <= MAX_DAYS:
        raise SustainError(f"days must be from 1 to {MAX_DAYS:,}: got {d}")
    if k < 1:
        raise SustainError(f"step must be a whole number of days >= 1: got {k}")
    return d, k


@dataclass(frozen=True, slots=True, kw_only=True)
class _Fleets:
    """What the time-phased keys say about each fleet (compiled order)."""

    keys: list[tuple[str, str]]
    start: FloatArray  # systems at day 0 before day-0 events
    rate: FloatArray  # attrition: expected losses per day
    events: list[list[tuple[float, int, float]]]  # (day, 0 delivery | 1 loss, count), sorted
    offered: FloatArray  # battle damage: damaged_per_day · repair_days
    tempo_days: FloatArray  # days where some tempo factor may change, sorted
    tempo: FloatArray  # (fleets × tempo_days + 1) factor before the first, after each


def _fleets(scenario: Scenario, a: ScenarioArrays, horizon: float) -> _Fleets:
    n_f = int(a.fleet_system.size)
    keys = [
        (a.system_ids[int(a.fleet_system[f])], a.site_ids[int(a.fleet_site[f])])
        for f in range(n_f)
    ]
    of = {k: f for f, k in enumerate(keys)}
    events: list[list[tuple[float, int, float]]] = [[] for _ in range(n_f)]
    for d in scenario.deliveries:
        if d.count > 0 and d.day <= horizon:
            events[of[(d.system, d.site)]].append((float(d.day), 0, float(d.count)))
    rate = np.zeros(n_f)
    for r in scenario.attrition:
        f = of[(r.system, r.site)]
        if r.losses_per_day is not None:
            rate[f] += r.losses_per_day
        elif r.day is not None and r.count and r.day <= horizon:
            events[f].append((float(r.day), 1, float(r.count)))
    for ev in events:
        ev.sort(key=lambda e: (e[0], e[1]))  # a day's deliveries before its losses
    offered = np.zeros(n_f)
    for b in scenario.battle_damage:
        offered[of[(b.system, b.site)]] = b.damaged_per_day * b.repair_days
    tdays = np.array(sorted({x for r in scenario.tempo for x in (r.from_day, r.to_day)}),
                     dtype=np.float64)
    probe = np.concatenate([[-1.0], tdays])  # a day before every change, then each one
    tempo = np.array([tempo_factors(scenario.tempo, keys, float(t)) for t in probe],
                     dtype=np.float64).reshape(probe.size, n_f).T
    return _Fleets(keys=keys, start=a.fleet_count.copy(), rate=rate, events=events,
                   offered=offered, tempo_days=tdays, tempo=tempo)


def _present(fl: _Fleets, times: FloatArray) -> FloatArray:
    """(fleets × times) expected systems present: the fluid path (times < 0 read day 0)."""
    t = np.maximum(times, 0.0)
    out = np.empty((fl.start.size, t.size))
    for f in range(fl.start.size):
        r, n0, t0 = float(fl.rate[f]), float(fl.start[f]), 0.0
        row = out[f]
        done = np.zeros(t.size, dtype=bool)
        for day, kind, count in fl.events[f]:
            before = ~done & (t < day)
            row[before] = np.maximum(n0 - r * (t[before] - t0), 0.0)
            done |= before
            n0 = max(n0 - r * (day - t0), 0.0)
            n0 = n0 + count if kind == 0 else max(n0 - count, 0.0)
            t0 = day
        rest = ~done
        row[rest] = np.maximum(n0 - r * (t[rest] - t0), 0.0)
    return out


def _tempo(fl: _Fleets, times: FloatArray) -> FloatArray:
    """(fleets × times) tempo factor on each day (times < 0 read day 0)."""
    idx = np.searchsorted(fl.tempo_days, np.maximum(times, 0.0), side="right")
    return fl.tempo[:, idx]


def in_battle_repair(present: FloatArray, offered: FloatArray) -> FloatArray:
    """Expected systems in battle-damage repair: ``a (1 − B(N, a))``, Erlang's loss formula.

    ``B(N, a) = (a^N e^{−a} / N!) / Q(N + 1, a)`` with ``Q`` the regularised upper
    incomplete gamma function, which continues it to fractional ``N`` (``B(0, a) = 1``).
    """
    n = np.asarray(present, dtype=np.float64)
    a = np.broadcast_to(np.asarray(offered, dtype=np.float64), n.shape)
    out = np.zeros(n.shape)
    on = a > 0
    if np.any(on):
        nn, aa = n[on], a[on]
        log_pmf = nn * np.log(aa) - aa - special.gammaln(nn + 1.0)
        blocked = np.exp(log_pmf) / special.gammaincc(nn + 1.0, aa)
        out[on] = aa * (1.0 - np.minimum(blocked, 1.0))
    return np.minimum(out, n)


def _tile(a: ScenarioArrays, operating: FloatArray, hours: FloatArray) -> ScenarioArrays:
    """``a`` with its site tree copied once per column of ``operating`` (fleets × n).

    Copy ``n`` of site ``s`` is column ``s·n + c``; fleet ``f``'s copy there has
    ``operating[f, c]`` systems running ``hours[f, c]`` hours a day.  Parents still
    precede their children, so the steady flows run on every copy at once.
    """
    n = operating.shape[1]
    s_n = a.n_sites
    cols = np.arange(n)
    parent = np.where(a.site_parent[:, None] >= 0, a.site_parent[:, None] * n + cols, -1)
    return replace(
        a,
        site_ids=tuple(f"{s}@{c}" for s in a.site_ids for c in range(n)),
        site_parent=parent.ravel(),
        site_depth=np.repeat(a.site_depth, n),
        order_ship_days=np.repeat(a.order_ship_days, n),
        fleet_system=np.repeat(a.fleet_system, n),
        fleet_site=(a.fleet_site[:, None] * n + cols).ravel(),
        fleet_count=operating.ravel(),
        fleet_hours_per_day=hours.ravel(),
        stock=np.zeros((a.n_items, s_n * n)),
    )


# ------------------------------------------------------------------- Palm integrals


def _segment(bounds: FloatArray, x: FloatArray) -> IntArray:
    """Index of the piece ``[b_j, b_{j+1})`` holding each ``x`` (the first for ``x < 0``)."""
    j = np.searchsorted(bounds, x, side="right") - 1
    return np.maximum(j, 0)


def _along(x: FloatArray, j: IntArray) -> FloatArray:
    """``x[..., j]``: one broadcast copy per run of equal ``j`` (few, ``j`` mostly sorted)."""
    out = np.empty((*x.shape[:-1], j.size))
    starts = np.flatnonzero(np.diff(j, prepend=-1)).tolist()
    for lo, hi in zip(starts, [*starts[1:], j.size], strict=True):
        out[..., lo:hi] = x[..., j[lo], None]
    return out


def palm(
    rate: FloatArray, bounds: FloatArray, delay: FloatArray, tau: FloatArray, *,
    exponential: bool,
) -> FloatArray:
    """Mean units in a delay at times ``tau``, for demand ``rate`` piecewise constant.

    ``rate`` is (rows × cols × pieces), constant on ``[bounds[j], bounds[j+1])`` (the
    last piece open-ended, the first also before ``bounds[0] = 0``); ``delay``
    (broadcastable to rows × cols × 1) is the delay's length or mean; ``tau`` (m,)
    the times.  Deterministic delay: ``∫_{τ−L}^{τ} λ(u) du`` (Crawford 1981);
    exponential: ``∫_{−∞}^{τ} λ(u) e^{−(τ−u)/L} du``, by the recurrence
    ``Q(b_{j+1}) = Q(b_j) e^{−Δ_j/L} + λ_j L (1 − e^{−Δ_j/L})``.  Returns
    (rows × cols × m).
    """
    rows, cols, n_p = rate.shape
    jt = _segment(bounds, tau)
    rate_t = _along(rate, jt)
    width = np.diff(bounds)
    if not exponential:
        cum = np.zeros_like(rate)
        np.cumsum(rate[:, :, :-1] * width, axis=2, out=cum[:, :, 1:])
        at_t = _along(cum, jt)
        at_t += rate_t * (tau - bounds[jt])
        x = tau - delay  # (rows|1) × (cols|1) × m
        jx = _segment(bounds, x)
        flat = jx + (np.arange(rows * cols) * n_p).reshape(rows, cols, 1)  # into rate.ravel()
        at_x = np.take(cum, flat)
        at_x += np.take(rate, flat) * (x - bounds[jx])
        at_t -= at_x
        # Both ends in one piece: λ L directly (no cancellation of two large integrals).
        out = rate_t * delay
        np.copyto(out, at_t, where=jx != jt)
        return out
    positive = delay > 0
    inv = np.divide(1.0, delay, out=np.full(delay.shape, np.inf), where=positive)
    q = np.empty_like(rate)
    q[:, :, 0] = rate[:, :, 0] * delay[:, :, 0]
    for j in range(width.size):
        e = np.exp(-width[j] * inv[:, :, 0])
        q[:, :, j + 1] = q[:, :, j] * e + rate[:, :, j] * delay[:, :, 0] * (1.0 - e)
    dt = np.maximum(tau - bounds[jt], 0.0)
    with np.errstate(invalid="ignore"):  # 0 · inf where the delay is 0: masked below
        e = np.exp(-dt * inv)
    out = q[:, :, jt] * e + rate_t * delay * (1.0 - e)
    return np.where(positive, out, 0.0)


# -------------------------------------------------------------------------- engine


def _chunks(rows: slice | IntArray, size: int) -> list[slice | IntArray]:
    """``rows`` cut into pieces of ``size`` rows (slices stay slices)."""
    if isinstance(rows, slice):
        return [slice(lo, min(lo + size, rows.stop)) for lo in range(rows.start, rows.stop, size)]
    return [rows[lo:lo + size] for lo in range(0, rows.size, size)]


def _rows(idx: IntArray) -> slice | IntArray:
    """``idx`` as a slice when it is contiguous (views instead of copies)."""
    if idx.size and idx[-1] - idx[0] + 1 == idx.size:
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx


def _safe_div(num: FloatArray, den: FloatArray) -> FloatArray:
    out = np.zeros(np.broadcast_shapes(num.shape, den.shape))
    np.divide(num, den, out=out, where=den > 0)
    return out


def _moments_by_day(mean: FloatArray, var: FloatArray, stock: FloatArray) -> BackorderMoments:
    """:func:`backorder_moments` along the last (day) axis, once per run of equal days.

    Between events most pipelines stay the same from one day to the next: each cell
    equal (mean, variance and stock) to the one before it takes that cell's moments.
    ``var`` may be ``mean`` itself (METRIC).  C-ordered arrays.
    """
    new = np.empty(mean.shape, dtype=bool)
    new[..., 0] = True
    np.not_equal(mean[..., 1:], mean[..., :-1], out=new[..., 1:])
    if var is not mean:
        new[..., 1:] |= var[..., 1:] != var[..., :-1]
    new[..., 1:] |= stock[..., 1:] != stock[..., :-1]
    flat = new.ravel()
    if bool(flat.all()):
        return backorder_moments(mean, var, stock)
    idx = np.flatnonzero(flat)
    bo = backorder_moments(np.take(mean, idx), np.take(var, idx), np.take(stock, idx))
    # The cell's own moments where it is new, else those of the last new cell before
    # it (the first cell of every row is new): its rank among the new cells.
    source = np.cumsum(flat, dtype=np.intp)
    source -= 1
    return BackorderMoments(
        ebo=bo.ebo[source].reshape(mean.shape), vbo=bo.vbo[source].reshape(mean.shape),
        fill_rate=bo.fill_rate[source].reshape(mean.shape),
    )


def _put(out: FloatArray, rows: slice | IntArray, cols: slice | IntArray,
         block: FloatArray) -> None:
    """``out[rows, cols] = block`` (slices or index arrays)."""
    if isinstance(rows, slice) or isinstance(cols, slice):
        out[rows, cols] = block
    else:
        out[np.ix_(rows, cols)] = block


def _bounds(scenario: Scenario, fl: _Fleets, horizon: int) -> FloatArray:
    """Cuts of the time axis: day 0, every event day up to the horizon, and the
    :data:`ATTRITION_STEP_DAYS` grid where some fleet declines continuously."""
    cuts = {0.0}
    cuts.update(float(d.day) for d in scenario.deliveries if 0 < d.day <= horizon)
    cuts.update(e[0] for ev in fl.events for e in ev if 0 < e[0] <= horizon)
    cuts.update(float(t) for t in fl.tempo_days if 0 < t <= horizon)
    if np.any(fl.rate > 0):
        cuts.update(np.arange(ATTRITION_STEP_DAYS, horizon, ATTRITION_STEP_DAYS).tolist())
    return np.array(sorted(cuts), dtype=np.float64)


def evaluate_over_time(
    scenario: Scenario,
    *,
    days: int = 365,
    step: int = 7,
    method: Method | str = Method.VARI_METRIC,
    exponential: bool = False,
    arrivals: Sequence[tuple[FloatArray, FloatArray | float]] = (),
) -> OverTime:
    """Readiness of ``scenario`` at days ``0, step, 2·step, …, days`` (module docstring).

    Parameters
    ----------
    scenario : Scenario
        A validated scenario; its ``deliveries``, ``tempo``, ``attrition`` and
        ``battle_damage`` are read (without them every day equals :func:`evaluate`).
    days : int
        Horizon D, 1 to 36,500; the last day reported.
    step : int
        Days between reports K (>= 1).
    method : {"vari-metric", "metric"}
        Pipeline distributions (negative binomial with VARI-METRIC variance, or Poisson).
    exponential : bool
        Exponential delays of the same means instead of deterministic ones.
    arrivals : sequence of (qty, day) pairs
        Stock added to the scenario's: ``qty`` units (items × sites, compiled order)
        on the shelf from ``day`` on (a number, or items × sites; a day ≤ 0 counts from
        before day 0, like a day-0 delivery).  What a plan of purchases adds.

    Returns
    -------
    OverTime

    Raises
    ------
    sustain.errors.SustainError
        ``days`` or ``step`` out of range, or ``method="exact"``.
    """
    method = Method(method)
    if method is Method.EXACT:
        raise SustainError("over time the method is vari-metric or metric, not exact")
    horizon, k = _check(days, step)
    vari = method is Method.VARI_METRIC
    a = compile_scenario(with_delivered_fleets(scenario))
    n_i, n_s = a.n_items, a.n_sites
    fl = _fleets(scenario, a, horizon)
    report = report_days(horizon, k)
    n_r = report.size
    t_report = report.astype(np.float64)

    # Demand on each piece of the time axis, through the steady flows on a tiled tree.
    bounds = _bounds(scenario, fl, horizon)
    n_j = bounds.size
    mid = np.append((bounds[:-1] + bounds[1:]) / 2.0, bounds[-1])
    present_j = _present(fl, mid)
    operating_j = present_j - in_battle_repair(present_j, fl.offered[:, None])
    hours_j = a.fleet_hours_per_day[:, None] * _tempo(fl, mid)
    fj = demand_flows(_tile(a, operating_j, hours_j))
    local, demand, up, repairs = (
        x.reshape(n_i, n_s, n_j) for x in (fj.local, fj.demand, fj.up, fj.repairs)
    )

    # Each depth is evaluated at the report days shifted back by every lag its
    # descendants read it at (the sums of order-and-ship times below it), each such
    # day once, in order; days before 0 read day 0 (the steady state before it).
    depth = a.site_depth
    n_depth = int(depth.max()) + 1
    cols = [np.flatnonzero(depth == d) for d in range(n_depth)]
    lags: list[list[float]] = [[0.0] for _ in range(n_depth)]
    for d in range(n_depth - 1, 0, -1):
        for child in cols[d].tolist():
            for lag in lags[d]:
                x = lag + float(a.order_ship_days[child])
                if x not in lags[d - 1]:
                    lags[d - 1].append(x)
    tau, first = [], []  # each depth's days, and where each first comes in lags × report
    for ls in lags:
        grid, at = np.unique(np.maximum(t_report[None, :] - np.array(ls)[:, None], 0.0),
                             return_index=True)
        tau.append(grid)
        first.append(at)
    # The report days' columns (lag 0 is among the lags): a slice where they are all.
    rep_col = [np.searchsorted(t, t_report) for t in tau]
    at_rep = [slice(0, n_r) if t.size == n_r else rc for t, rc in zip(tau, rep_col, strict=True)]

    # Stock on each depth's days: the scenario's plus spares delivered by then.
    i_idx = {x: n for n, x in enumerate(a.item_ids)}
    s_idx = {x: n for n, x in enumerate(a.site_ids)}
    pos = np.empty(n_s, dtype=np.int64)
    for at_depth in cols:
        pos[at_depth] = np.arange(at_depth.size)
    stock = [np.repeat(a.stock[:, c, None], t.size, axis=2) for c, t in zip(cols, tau, strict=True)]
    for dl in scenario.deliveries:
        if dl.day > horizon:
            continue
        s = s_idx[dl.site]
        d = int(depth[s])
        arrived = np.maximum(tau[d], 0.0) >= dl.day
        for st in dl.stock:
            stock[d][i_idx[st.item], pos[s], arrived] += st.qty
    for qty, when in arrivals:
        day = np.broadcast_to(np.asarray(when, dtype=np.float64), qty.shape)
        for d, (c, t) in enumerate(zip(cols, tau, strict=True)):
            stock[d] += qty[:, c, None] * (np.maximum(t, 0.0)[None, None, :] >= day[:, c, None])

    # The results at the report days, written in place: every (item level × depth)
    # block is written below, so no zero-filling.
    mean, var, ebo, vbo, fill = (np.empty((n_i, n_s, n_r)) for _ in range(5))
    at_cols = [_rows(c) for c in cols]
    # Backorders on each depth's whole grid of days (lags included), kept where a
    # child site or a parent item reads them.
    has_subs = bool(np.any(a.item_parent >= 0))
    kept = [has_subs or d < n_depth - 1 for d in range(n_depth)]
    ebo_t = [np.empty((n_i if k else 0, c.size, t.size))
             for c, t, k in zip(cols, tau, kept, strict=True)]
    vbo_t = [np.empty((n_i if k and vari else 0, c.size, t.size))
             for c, t, k in zip(cols, tau, kept, strict=True)]
    # Parent units waiting for sub-items (none without sub-items).
    wait_mean = [np.zeros((n_i if has_subs else 0, c.size, t.size))
                 for c, t in zip(cols, tau, strict=True)]
    wait_var = [np.zeros((n_i if has_subs and vari else 0, c.size, t.size))
                for c, t in zip(cols, tau, strict=True)]

    # Parent lookups for every non-root depth: the parent's position, the column of
    # its grid at t − O, and the piece of the time axis holding t − O.
    empty = np.zeros((0, 0), dtype=np.int64)
    parent_pos, parent_col, lag_seg = [empty.ravel()], [empty], [empty]
    for d in range(1, n_depth):
        c = cols[d]
        o = a.order_ship_days[c]
        # A day of this depth read as report day r at lag x: the parent's day is
        # r − (x + O), among the parent's days by construction of the lags.
        lag_of = np.array(lags[d])[first[d] // n_r]
        r_day = t_report[first[d] % n_r]
        pcol = np.stack([
            np.searchsorted(tau[d - 1], np.maximum(r_day - (lag_of + o[n]), 0.0))
            for n in range(c.size)
        ]).astype(np.int64).reshape(c.size, -1)
        parent_pos.append(pos[a.site_parent[c]])
        parent_col.append(pcol)
        lag_seg.append(_segment(bounds, tau[d][None, :] - o[:, None]))

    # At a root the flows split arrivals into repairs and condemnations (procurement).
    top = int(a.item_level.max())
    levels = [_rows(np.flatnonzero(a.item_level == lv)) for lv in range(top + 1)]
    per_row = sum(c.size * t.size for c, t in zip(cols, tau, strict=True))
    for level_rows in reversed(levels):
        # Row chunks of about CHUNK_CELLS cells: the arithmetic and the backorder
        # moments then work on arrays that stay in cache.
        for rows in _chunks(level_rows, max(1, CHUNK_CELLS // max(per_row, 1))):
            for d in range(n_depth):
                c, t = cols[d], tau[d]
                rep = repairs[rows][:, c]
                if d == 0:
                    m = palm(rep, bounds, a.depot_repair_days[rows, None, None], t,
                             exponential=exponential)
                    m += palm(demand[rows][:, c] - rep, bounds,
                              a.procurement_days[rows, None, None], t, exponential=exponential)
                    v = m.copy()
                else:
                    m = palm(rep, bounds, a.base_repair_days[rows, None, None], t,
                             exponential=exponential)
                    up_c = up[rows][:, c]
                    m += palm(up_c, bounds, a.order_ship_days[None, c, None], t,
                              exponential=exponential)
                    v = m.copy()
                    seg, pp, pc = lag_seg[d], parent_pos[d], parent_col[d]
                    parents = a.site_parent[c]
                    f = _safe_div(up_c[:, np.arange(c.size)[:, None], seg],
                                  demand[rows][:, parents[:, None], seg])
                    np.minimum(f, 1.0, out=f)
                    p_ebo = ebo_t[d - 1][rows][:, pp[:, None], pc]
                    m += f * p_ebo
                    if vari:
                        p_vbo = vbo_t[d - 1][rows][:, pp[:, None], pc]
                        v += f * f * p_vbo + f * (1.0 - f) * p_ebo
                if has_subs:
                    m += wait_mean[d][rows]
                    if vari:
                        v += wait_var[d][rows]
                if not vari:
                    v = m
                bo = _moments_by_day(m, v, stock[d][rows])
                if kept[d]:
                    ebo_t[d][rows] = bo.ebo
                    if vari:
                        vbo_t[d][rows] = bo.vbo
                for out, res in ((mean, m), (var, v), (ebo, bo.ebo), (vbo, bo.vbo),
                                 (fill, bo.fill_rate)):
                    _put(out, rows, at_cols[d], res[:, :, at_rep[d]])
        in_level = np.arange(n_i)[level_rows]
        subs = in_level[a.item_parent[in_level] >= 0]
        if subs.size:
            par = a.item_parent[subs]
            for d in range(n_depth):
                seg = _segment(bounds, tau[d])
                c = cols[d]
                g = np.minimum(_safe_div(local[subs][:, c][:, :, seg],
                                         demand[subs][:, c][:, :, seg]), 1.0)
                e_sub = ebo_t[d][subs]
                np.add.at(wait_mean[d], par, g * e_sub)
                if vari:
                    np.add.at(wait_var[d], par,
                              g * g * vbo_t[d][subs] + g * (1.0 - g) * e_sub)

    def at_report(parts: list[FloatArray]) -> FloatArray:
        out = np.empty((n_i, n_s, n_r))
        for d in range(n_depth):
            out[:, at_cols[d], :] = parts[d][:, :, at_rep[d]]
        return out

    seg_r = _segment(bounds, t_report)
    present = _present(fl, t_report)
    operating = present - in_battle_repair(present, fl.offered[:, None])
    hours = a.fleet_hours_per_day[:, None] * _tempo(fl, t_report)
    # The fleets' availability, a few report days at a time (each day on its own
    # copy of the tree, as in _tile): arrays that stay small.
    demand_r = _along(demand, seg_r)
    a_op = np.empty(operating.shape)
    stock_r = at_report(stock)
    n_days = max(1, CHUNK_CELLS * 8 // max(n_i * n_s, 1))
    for lo in range(0, n_r, n_days):
        sl = slice(lo, min(lo + n_days, n_r))
        k = sl.stop - lo
        flows_k = Flows(**{
            name: _along(x, seg_r[sl]).reshape(n_i, n_s * k)
            for name, x in (("local", local), ("demand", demand), ("up", up),
                            ("repairs", repairs))
        })
        tiled = _tile(a, operating[:, sl], hours[:, sl])
        ebo_k = ebo[:, :, sl].reshape(n_i, n_s * k)
        a_k = fleet_availability(tiled, flows_k, ebo_k)
        if a.mission_split or a.holes_consolidated:  # mission capable (.redundancy)
            def cut(x: FloatArray, sl: slice = sl, k: int = k) -> FloatArray:
                return np.asarray(x[:, :, sl].reshape(n_i, n_s * k), dtype=np.float64)

            pipes_k = Pipelines(mean=cut(mean), var=cut(var), ebo=ebo_k, vbo=cut(vbo),
                                fill_rate=cut(fill))
            a_k = split_availability(replace(tiled, stock=cut(stock_r)), flows_k, pipes_k,
                                     a_k)[0]
        a_op[:, sl] = a_k.reshape(-1, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        share_up = np.where(operating < present, operating / present, 1.0)
    availability = np.where(present > 0, np.nan_to_num(a_op) * share_up, np.nan)
    # Without battle damage every present system operates: the steady formula as it is.
    availability = np.where(operating == present, a_op, availability)
    return OverTime(
        arrays=a, method=method, exponential=bool(exponential), days=report,
        present=present, operating=operating, availability=availability,
        stock=stock_r, demand_per_day=demand_r, pipeline_mean=mean,
        pipeline_var=var, ebo=ebo, vbo=vbo, fill_rate=fill,
    )
