"""Redundancy (k out of n) and essentiality in a fleet's availability.

An installation of ``Z`` units of item ``i`` per system may need only ``k ≤ Z`` of them
working for the system to be mission capable (``needed``), and an item may be not
essential at all (its absence degrades a system without grounding it).  A fleet's
mission-capable availability is then the product over its *essential* items of

    R_fi = Σ_B P(B_f = B) · P(H ≤ Z − k | B)

(Sherbrooke 2004, *Optimal Inventory Modeling of Systems*, 2nd ed., availability with
redundancy: backorders spread at random over the systems), where ``B_f`` is the fleet's
backorders of the item and ``H`` the empty positions of one given system:

* ``holes: spread`` (default): the ``B`` backorders sit at random on the fleet's
  ``P = N·Z`` positions, so ``H`` is hypergeometric,
  ``P(H = j | B) = C(Z, j) C(P − Z, B − j) / C(P, B)`` (every position empty when
  ``B ≥ P``);
* ``holes: consolidated``: the backorders are gathered onto as few systems as possible
  (cannibalisation): ``N (Z − k)`` of them fit in the systems without grounding any,
  each further ``k`` grounds one more, so the share of systems down is
  ``min(N, ⌈(B − N (Z − k))⁺ / k⌉) / N`` and ``R = 1 − E[down] / N``.

``B_f`` is the site's backorders ``(X − s)⁺`` (``X`` the pipeline, fitted Poisson or
negative binomial from its mean and variance as everywhere else; ``s`` the stock),
thinned binomially by the fleet's share ``p = Z·λ·N·h / m`` of the demand on the site's
stock (each outstanding backorder belongs to the fleet with probability ``p``).  With
``k = Z`` and spread holes the same sum is what Sherbrooke's product formula
``(1 − EBO/(N·Z))^Z`` approximates; that formula stays the one used for
non-redundant items, and for every item in the fully-mission-capable availability
(every position filled).  Consolidated holes with a demand share ``p < 1`` and
more than :data:`MAX_THINNING_CELLS` cells take ``B_f = ⌊p · B_site⌋``.

Numerics: the sum runs over ``B < P`` (larger ``B`` ground the system); ``B_site`` is
cut at ``G = ⌈(P + 10√P + 10) / p⌉`` (beyond it ``B_f ≥ P`` but for a share far below
the solver tolerances).  When ``G·P`` exceeds :data:`MAX_THINNING_CELLS` (a fleet of
thousands of systems) the positions are taken as independent, each empty with
probability ``x = EBO_f/P``: ``R = P(Binomial(Z, x) ≤ Z − k)`` (spread), the large-fleet
limit of the hypergeometric, equal to the product formula when ``k = Z``.

Pure array code: no I/O, no printing.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import special

from sustain._types import FloatArray, IntArray
from sustain.readiness.backorders import pipeline_pmf
from sustain.readiness.metric import Flows, Pipelines, position_shortfall
from sustain.scenario.compile import ScenarioArrays

#: Largest (site backorders × fleet positions) table of the binomial thinning; beyond
#: it the positions are taken as independent (module docstring).
MAX_THINNING_CELLS = 4_000_000
#: Fleet tables (the binomial thinning of ``P(H ≤ Z − k | B)``) kept for reuse.
TABLE_CACHE_SIZE = 256


def _log_choose(n_: FloatArray | float, r_: FloatArray | float) -> FloatArray:
    """``log C(n, r)`` (``-inf`` where ``r < 0`` or ``r > n``)."""
    n, r = np.broadcast_arrays(np.asarray(n_, dtype=np.float64),
                               np.asarray(r_, dtype=np.float64))
    out = np.full(n.shape, -np.inf)
    ok = (r >= 0) & (r <= n)
    out[ok] = (special.gammaln(n[ok] + 1) - special.gammaln(r[ok] + 1)
               - special.gammaln(n[ok] - r[ok] + 1))
    return out


def up_given_backorders(count: int, z: int, k: int, *, consolidated: bool) -> FloatArray:
    """``P(a given system has at most Z − k empty positions | B)`` for ``B = 0 .. N·Z − 1``.

    ``count`` systems (``N``) of ``z`` positions (``Z``), ``k`` of them needed.  Spread:
    the hypergeometric cdf; consolidated: ``1 − min(N, ⌈(B − N (Z − k))⁺ / k⌉) / N``.
    ``B ≥ N·Z`` grounds every system (0), so it is left out.
    """
    positions = count * z
    b = np.arange(positions, dtype=np.float64)
    if consolidated:
        down = np.ceil(np.maximum(b - count * (z - k), 0.0) / k)
        return 1.0 - np.minimum(down, count) / count
    j = np.arange(z - k + 1, dtype=np.float64)
    log_p = (_log_choose(np.float64(z), j)[None, :]
             + _log_choose(np.float64(positions - z), b[:, None] - j[None, :])
             - _log_choose(np.float64(positions), b)[:, None])
    return np.minimum(np.exp(log_p).sum(axis=1), 1.0)


def _thinned(h: FloatArray, share: float, cut: int) -> FloatArray:
    """``g(n) = Σ_b C(n, b) p^b (1 − p)^{n − b} h(b)`` for ``n = 0 .. cut``."""
    if share >= 1.0:
        out = np.zeros(cut + 1)
        m = min(cut + 1, h.size)
        out[:m] = h[:m]
        return out
    n = np.arange(cut + 1, dtype=np.float64)[:, None]
    b = np.arange(h.size, dtype=np.float64)[None, :]
    with np.errstate(divide="ignore"):
        log_w = _log_choose(n, b) + b * math.log(share) + (n - b) * math.log1p(-share)
    return np.exp(log_w) @ h


def _independent(ebo_fleet: FloatArray, positions: int, z: int, k: int) -> FloatArray:
    """``P(Binomial(Z, x) ≤ Z − k)`` with ``x = EBO_f / P``: positions independent."""
    x = np.minimum(ebo_fleet / positions, 1.0)
    j = np.arange(z - k + 1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.exp(_log_choose(np.float64(z), j)[None, :]
                       + special.xlogy(j[None, :], x[:, None])
                       + special.xlog1py(z - j[None, :], -x[:, None]))
    return np.minimum(terms.sum(axis=1), 1.0)


def redundant_factor(
    mean: float, var: float, stocks: IntArray | FloatArray, *, share: float, count: int, z: int,
    k: int, consolidated: bool, ebo_fleet: FloatArray | None = None,
) -> FloatArray:
    """``R`` (module docstring) of one (fleet, item) pair for each stock level in ``stocks``.

    Parameters
    ----------
    mean, var : float
        Pipeline mean and variance of the item at the fleet's site.
    stocks : array_like
        Spares at the site (``s``), one result per entry.
    share : float
        The fleet's share ``p`` of the demand on the site's stock (0 < p ≤ 1).
    count, z, k : int
        Systems in the fleet (``N``), units installed per system (``Z``), units needed.
    consolidated : bool
        Backorders gathered onto as few systems as possible (else spread at random).
    ebo_fleet : FloatArray, optional
        The fleet's expected backorders at each stock (``p · EBO(s)``), used only by the
        large-fleet limit (:data:`MAX_THINNING_CELLS`); computed from the pmf when absent.
    """
    s = np.asarray(stocks, dtype=np.int64).ravel()
    if count <= 0 or s.size == 0:
        return np.ones(s.size)
    positions = count * z
    share = min(max(share, 0.0), 1.0)
    if share <= 0.0:
        return np.ones(s.size)
    cut = math.ceil((positions + 10.0 * math.sqrt(positions) + 10.0) / share)
    width = int(s.max()) + cut + 1
    big = share < 1.0 and cut * positions > MAX_THINNING_CELLS
    if big and not consolidated:
        if ebo_fleet is None:
            pmf = pipeline_pmf(mean, var, width)
            x = np.arange(width, dtype=np.float64)
            over = np.maximum(x[None, :] - s[:, None], 0.0)
            tail = max(0.0, mean - float(x @ pmf))  # the mean beyond the table
            ebo_fleet = share * (over @ pmf + tail)
        return _independent(np.asarray(ebo_fleet, dtype=np.float64), positions, z, k)
    g = _fleet_table(count, z, k, consolidated, share, cut, big)
    pmf = pipeline_pmf(mean, var, width)
    cdf = np.minimum(np.cumsum(pmf), 1.0)
    steps = np.arange(1, cut + 1)
    tail = pmf[s[:, None] + steps[None, :]] @ g[1:]
    return np.clip(cdf[s] + tail, 0.0, 1.0)


@functools.lru_cache(maxsize=TABLE_CACHE_SIZE)
def _fleet_table(count: int, z: int, k: int, consolidated: bool, share: float, cut: int,
                 big: bool) -> FloatArray:
    """``P(a given system is up | B_site = n)`` for ``n = 0 .. cut`` (read-only).

    A function of the fleet and its demand share alone, not of the stock or the
    pipeline: the optimisers value many stocks of one (fleet, item) pair, so the tables
    are kept (:data:`TABLE_CACHE_SIZE` of them, least recently used dropped).
    """
    h = up_given_backorders(count, z, k, consolidated=consolidated)
    if big:  # consolidated, thousands of systems: B_f taken as p·B_site (mean kept)
        g = np.zeros(cut + 1)
        at = np.floor(np.arange(cut + 1) * share).astype(np.int64)
        g[at < h.size] = h[at[at < h.size]]
    else:
        g = _thinned(h, share, cut)
    g.flags.writeable = False
    return g


def fleet_rows(a: ScenarioArrays) -> tuple[IntArray, IntArray]:
    """(fleet, installation) of every top-level item installed in a manned fleet's system,
    grouped by fleet, installations in item order within each fleet."""
    inst = a.installations
    by_system = np.argsort(inst.system, kind="stable")
    counts = np.bincount(inst.system, minlength=len(a.system_ids))
    starts = np.cumsum(counts) - counts
    fleets = np.flatnonzero(a.fleet_count > 0)
    per_fleet = counts[a.fleet_system[fleets]]
    fleet = np.repeat(fleets, per_fleet)
    first_row = np.repeat(np.cumsum(per_fleet) - per_fleet, per_fleet)
    first_inst = np.repeat(starts[a.fleet_system[fleets]], per_fleet)
    return fleet, by_system[np.arange(fleet.size) - first_row + first_inst]


def pair_terms(
    a: ScenarioArrays, flows: Flows, pipes: Pipelines, fleet: IntArray, inst: IntArray, *,
    full: bool = False,
) -> FloatArray:
    """``−log R_fi`` of each (fleet, installation) pair (module docstring).

    ``full=False``: mission capable (``k = needed``; 0 for an item that is not essential);
    ``full=True``: fully mission capable (``k = Z`` for every item).  Pairs with ``k = Z``
    and spread holes take Sherbrooke's product formula ``−Z log(1 − x)``; the others sum
    over the backorder distribution, one pair at a time.
    """
    ins = a.installations
    item, site = ins.item[inst], a.fleet_site[fleet]
    z = ins.qty[inst]
    k = z if full or ins.needed is None else ins.needed[inst]
    x = position_shortfall(pipes.ebo[item, site], flows.demand[item, site],
                           a.failures_per_hour[item], a.fleet_hours_per_day[fleet])
    np.minimum(x, 1.0, out=x)
    with np.errstate(divide="ignore"):  # x = 1: log 0 = -inf
        term = -z * np.log1p(-x)
    slow = (k < z) | a.holes_consolidated
    # The fleet's share of the site's demand: Z·λ·N·h / m.
    share = _share(z * a.failures_per_hour[item] * a.fleet_count[fleet]
                   * a.fleet_hours_per_day[fleet], flows.demand[item, site])
    for r in np.flatnonzero(slow).tolist():
        i, s = int(item[r]), int(site[r])
        rf = redundant_factor(
            float(pipes.mean[i, s]), float(pipes.var[i, s]), np.array([a.stock[i, s]]),
            share=float(share[r]), count=max(1, round(float(a.fleet_count[fleet[r]]))),
            z=int(z[r]),
            k=int(k[r]), consolidated=a.holes_consolidated,
            ebo_fleet=np.array([share[r] * pipes.ebo[i, s]]),
        )[0]
        with np.errstate(divide="ignore"):
            term[r] = -math.log(rf) if rf > 0.0 else np.inf
    if not full and ins.essential is not None:
        term[ins.essential[inst] == 0.0] = 0.0
    return term


def _share(part: FloatArray, whole: FloatArray) -> FloatArray:
    out = np.ones(np.broadcast(part, whole).shape)
    np.divide(part, whole, out=out, where=whole > 0)
    return np.minimum(out, 1.0)


def split_availability(
    a: ScenarioArrays, flows: Flows, pipes: Pipelines, product: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """(mission capable, fully mission capable) availability of each fleet.

    ``product`` is Sherbrooke's product formula over every item
    (:func:`~sustain.readiness.metric.fleet_availability`): both when no installation is
    redundant or inessential and holes are spread; the fully-mission-capable one while
    holes are spread.  NaN for a fleet of zero systems.
    """
    if not (a.mission_split or a.holes_consolidated):
        return product, product
    fleet, inst = fleet_rows(a)
    n_f = a.fleet_system.size

    def per_fleet(term: FloatArray) -> FloatArray:
        out = np.full(n_f, np.nan)
        manned = a.fleet_count > 0
        total = np.bincount(fleet, weights=term, minlength=n_f)
        out[manned] = np.exp(-total[manned])
        return out

    mc = per_fleet(pair_terms(a, flows, pipes, fleet, inst))
    fmc = product if not a.holes_consolidated else per_fleet(
        pair_terms(a, flows, pipes, fleet, inst, full=True))
    return mc, fmc
