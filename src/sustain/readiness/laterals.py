"""Emergency lateral resupply between sites that share a parent.

When a demand for a top-level item finds its site's shelf empty and a linked site
(``laterals`` of the scenario) has a spare on its shelf, the spare is sent across in
``days`` instead of waiting for the parent's resupply.  The site that gave the spare
takes over the demand's replenishment (its base repair, or its order from the parent):
"the demand moves to the site that met it", the convention of Axsäter (1990), Lee
(1987) and Alfredsson and Verrijdt (1999).  Since linked sites have the same parent,
the parent sees the same orders in total: its pipelines, and every site outside the
links, are unchanged.

The approximation follows Axsäter (1990), *Modelling emergency lateral transshipments
in inventory systems*, Management Science 36, 1329–1338, put on the METRIC /
VARI-METRIC pipelines of :mod:`sustain.readiness.metric`:

* Each linked site ``k`` replenishes at the rate ``ρ_k = λ_k − out_k + in_k`` (its own
  demands, less those met laterally by its neighbours, plus those it meets for them),
  each replenishment taking the site's mean resupply time ``T_k`` (base repair, or
  shipping plus the parent's delay ``EBO_parent / demand_parent``, as in METRIC).  Its
  outstanding replenishments ``X_k`` are fitted as in the rest of the model (Poisson,
  or negative binomial with the site's own variance-to-mean ratio) with mean
  ``ρ_k T_k``: the site's shelf is empty with probability ``e_k = P(X_k ≥ S_k)``.
  Axsäter approximates the stream of lateral requests between sites as Poisson and
  solves the rates by iteration, as here.
* A demand at ``k`` waits (is backordered) only when ``k`` and every site it may
  draw from are empty.  That probability ``b_k`` and the backorders are those of the
  pooled neighbourhood ``C_k = {k} ∪ N(k)``: ``X_C = Σ_{j∈C} X_j`` against the stock
  ``S_C = Σ_{j∈C} S_j`` (complete pooling, as Lee (1987), *A multi-echelon inventory
  model for repairable items with emergency lateral transshipments*, Management
  Science 33, 1302–1316, does for a group of identical bases); the
  neighbourhood's backorders are split over its sites by their demand rates.
* A demand at ``k`` is met laterally with probability ``ℓ_k = e_k − b_k``; it asks the
  nearest neighbour first, and neighbour ``j`` gives with probability
  ``Π_{nearer n} e_n · (1 − e_j)`` (independent sites, normalised over the
  neighbours).  A lateral shipment is a backorder while it travels: ``λ_k ℓ_k d̄_k``
  units, ``d̄_k`` the mean transit time of ``k``'s lateral shipments.

Accuracy: Axsäter checks his approximation against simulation and reports it accurate
on his test systems (single echelon, Poisson demand); the adaptation here is not his
model exactly, so what counts is the error measured against this package's simulator
(``benchmarks/laterals.py``; table in ``docs/method.md``).  Complete pooling
overstates how much linked stock helps: a spare that reaches one site stays on its
shelf while a neighbour has backorders (they wait for the neighbour's own resupply).

Sub-items are never sent laterally (their demand comes from repairs, not from
systems), and linked sites have no sites below them (validated), so nothing else in
the model depends on the linked sites' backorders.  Pure array code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from sustain._types import FloatArray, IntArray
from sustain.readiness.backorders import backorder_moments, fill_rates
from sustain.readiness.metric import Flows, Pipelines
from sustain.scenario.compile import Laterals, ScenarioArrays

#: The fixed point of the lateral rates stops when no rate moves by more than this
#: share of the largest demand rate ...
RATE_RTOL = 1e-10
#: ... or after this many rounds (typical cases take 5 to 10).
MAX_ROUNDS = 200
#: Differences of past rounds the Anderson acceleration of the fixed point combines.
ANDERSON_MEMORY = 3
#: Singular values below this share of the largest are dropped from its least squares.
ANDERSON_RCOND = 1e-12


@dataclass(frozen=True, slots=True, kw_only=True)
class LateralResult:
    """Pipelines with laterals and the share of demands met laterally.

    ``share`` is (items × sites): the share of the demands at each site met from a
    linked site's shelf (0 where no link applies); ``sent_per_day`` the spares each
    site sends to its neighbours per day.
    """

    pipes: Pipelines
    share: FloatArray
    sent_per_day: FloatArray


def _lead_days(a: ScenarioArrays, flows: Flows, pipes: Pipelines, rows: IntArray,
               sites: IntArray) -> FloatArray:
    """Mean days to replenish one unit at each (row, linked site): METRIC's ``T``."""
    parent = a.site_parent[sites]
    r = a.base_repair_fraction[rows, None]
    dem_p = flows.demand[np.ix_(rows, parent)]
    delay_p = np.zeros_like(dem_p)
    np.divide(pipes.ebo[np.ix_(rows, parent)], dem_p, out=delay_p, where=dem_p > 0)
    t = r * a.base_repair_days[rows, None] + (1.0 - r) * (
        a.order_ship_days[sites][None, :] + delay_p)
    wait = pipes.wait_mean
    if wait is not None and wait.shape[0] == a.n_items:
        lam = flows.demand[np.ix_(rows, sites)]
        extra = np.zeros_like(lam)
        np.divide(wait[np.ix_(rows, sites)], lam, out=extra, where=lam > 0)
        t = t + extra
    return t


def _links(lat: Laterals, pos: dict[int, int]) -> list[list[tuple[int, float]]]:
    """For each linked site (local index), its sources nearest first: (index, days)."""
    out: list[list[tuple[int, float]]] = [[] for _ in pos]
    for s, j, d in zip(lat.site.tolist(), lat.source.tolist(), lat.days.tolist(), strict=True):
        out[pos[s]].append((pos[j], d))
    return out


def lateral_pipelines(a: ScenarioArrays, flows: Flows, pipes: Pipelines) -> LateralResult:
    """``pipes`` with the linked sites' top-level items re-evaluated with laterals.

    ``pipes.ebo`` at a linked site counts the demands waiting for a spare, those
    waiting for the parent and those travelling laterally alike (a system is down in
    both cases); ``fill_rate`` is the share met from the site's own shelf.
    """
    lat = a.laterals
    share = np.zeros((a.n_items, a.n_sites))
    sent = np.zeros((a.n_items, a.n_sites))
    rows = np.flatnonzero(a.item_parent < 0)
    if lat is None or lat.site.size == 0 or rows.size == 0:
        return LateralResult(pipes=pipes, share=share, sent_per_day=sent)
    sites = np.unique(np.concatenate([lat.site, lat.source]))
    pos = {int(s): n for n, s in enumerate(sites.tolist())}
    links = _links(lat, pos)
    n_l = sites.size
    # pooled[j, k] = 1 when site j is in k's neighbourhood C_k = {k} ∪ N(k).
    pooled = np.eye(n_l)
    for k, nbrs in enumerate(links):
        for j, _ in nbrs:
            pooled[j, k] = 1.0
    ix = np.ix_(rows, sites)
    lam = flows.demand[ix]
    stock = a.stock[ix]
    lead = _lead_days(a, flows, pipes, rows, sites)
    ratio = np.ones_like(lam)
    np.divide(pipes.var[ix], pipes.mean[ix], out=ratio, where=pipes.mean[ix] > 0)
    np.maximum(ratio, 1.0, out=ratio)
    stock_c = stock @ pooled
    lam_c = lam @ pooled
    scale = max(float(lam.max()), 1e-300)

    def step(rho: FloatArray, at: IntArray) -> FloatArray:
        """The rates that rates ``rho`` on rows ``at`` imply (one round of the fixed point)."""
        mean = rho * lead[at]
        r = ratio[at]
        b = 1.0 - fill_rates(mean @ pooled, (mean * r) @ pooled, stock_c[at])
        e = np.maximum(1.0 - fill_rates(mean, mean * r, stock[at]), b)
        weights, _ = _split(links, e)
        l_at = lam[at]
        out = l_at * (e - b)
        inflow = np.zeros_like(rho)
        for k, nbrs in enumerate(links):
            for (j, _), w in zip(nbrs, weights[k], strict=True):
                inflow[:, j] += out[:, k] * w
        return l_at - out + inflow

    rho = _fixed_point(step, lam.copy(), RATE_RTOL * scale)
    mean = rho * lead
    var = mean * ratio
    own = backorder_moments(mean, var, stock)
    pool = backorder_moments(mean @ pooled, var @ pooled, stock_c)
    b = 1.0 - pool.fill_rate
    e = np.maximum(1.0 - own.fill_rate, b)
    ell = e - b
    weights, days = _split(links, e)
    # The neighbourhood's backorders, split by demand; shipments travelling laterally.
    part = np.zeros_like(lam)
    np.divide(lam, lam_c, out=part, where=lam_c > 0)
    transit = lam * ell * days
    ebo = part * pool.ebo + transit
    vbo = part * part * pool.vbo + part * (1.0 - part) * pool.ebo + transit
    out = lam * ell
    given = np.zeros_like(lam)
    for k, nbrs in enumerate(links):
        for (j, _), w in zip(nbrs, weights[k], strict=True):
            given[:, j] += out[:, k] * w
    new = {name: getattr(pipes, name).copy() for name in ("mean", "var", "ebo", "vbo",
                                                          "fill_rate")}
    for name, value in (("mean", mean), ("var", var), ("ebo", ebo), ("vbo", vbo),
                        ("fill_rate", 1.0 - e)):
        new[name][ix] = value
    share[ix] = ell
    sent[ix] = given
    return LateralResult(pipes=replace(pipes, **new), share=share, sent_per_day=sent)


def _fixed_point(step: Callable[[FloatArray, IntArray], FloatArray], x: FloatArray,
                 tol: float) -> FloatArray:
    """``x = step(x)`` on every row, by Anderson acceleration.

    Each row is a separate problem (an item's rates at the linked sites).  A round
    evaluates ``g = step(x)`` and ``f = g − x`` on the rows not yet converged (those
    with ``max |f| > tol``); the next ``x`` is ``g`` less the combination of the last
    ``ANDERSON_MEMORY`` differences of ``g`` that best cancels ``f`` (least squares,
    row by row: Walker and Ni (2011), *Anderson acceleration for fixed-point
    iterations*, SIAM J. Numer. Anal. 49, 1715–1735, eq. (2.1) with mixing 1).
    Without history that is the plain step ``x = g``.  A converged row keeps
    ``(x + g) / 2``; rates pushed below zero by an extrapolation are clipped.
    """
    out = x.copy()
    active = np.arange(x.shape[0])
    dx: list[FloatArray] = []  # differences of g and of f on the active rows
    df: list[FloatArray] = []
    prev: tuple[FloatArray, FloatArray] | None = None
    for _ in range(MAX_ROUNDS):
        if active.size == 0:
            break
        g = step(x, active)
        f = g - x
        done = np.max(np.abs(f), axis=1, initial=0.0) <= tol
        if np.any(done):
            out[active[done]] = 0.5 * (x[done] + g[done])
            keep = ~done
            active, x, g, f = active[keep], x[keep], g[keep], f[keep]
            dx = [d[keep] for d in dx]
            df = [d[keep] for d in df]
            if prev is not None:
                prev = (prev[0][keep], prev[1][keep])
            if active.size == 0:
                break
        if prev is not None:
            dx.append(g - prev[0])
            df.append(f - prev[1])
            if len(dx) > ANDERSON_MEMORY:
                dx.pop(0)
                df.pop(0)
        prev = (g, f)
        if df:
            d_f = np.stack(df, axis=2)  # rows × sites × memory
            gamma = np.linalg.pinv(d_f, rcond=ANDERSON_RCOND) @ f[:, :, None]
            x = g - (np.stack(dx, axis=2) @ gamma)[:, :, 0]
            np.maximum(x, 0.0, out=x)
        else:
            x = g
    else:
        out[active] = x
    return out


def _split(links: list[list[tuple[int, float]]], empty: FloatArray
           ) -> tuple[list[list[FloatArray]], FloatArray]:
    """Each site's lateral demand split over its sources (nearest first, each giving
    when it holds a spare and every nearer one is empty), and the mean transit days."""
    weights: list[list[FloatArray]] = []
    days = np.zeros_like(empty)
    for k, nbrs in enumerate(links):
        left = np.ones(empty.shape[0])
        raw = []
        for j, _ in nbrs:
            raw.append(left * (1.0 - empty[:, j]))
            left = left * empty[:, j]
        total = 1.0 - left
        norm = [np.divide(w, total, out=np.zeros_like(w), where=total > 0) for w in raw]
        for (_, d), w in zip(nbrs, norm, strict=True):
            days[:, k] += w * d
        weights.append(norm)
    return weights, days


def with_laterals(a: ScenarioArrays, flows: Flows, pipes: Pipelines) -> Pipelines:
    """``pipes`` as :func:`lateral_pipelines` changes them; ``pipes`` itself when ``a``
    has no laterals (the hook of the optimiser's family evaluations)."""
    if a.laterals is None:
        return pipes
    return lateral_pipelines(a, flows, pipes).pipes
