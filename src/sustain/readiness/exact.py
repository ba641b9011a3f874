"""Graves' (1985) exact two-echelon model, for judging METRIC and VARI-METRIC.

Assumptions (one item at a time, ample repair servers): Poisson failures; each
base either repairs a failure itself (Poisson pipeline by Palm's theorem) or orders
a unit from its depot; the order-and-ship time is deterministic; the depot serves
first come, first served.  Then the depot's outstanding repairs are Poisson, its
backorders are ``B0 = (X0 − S0)⁺``, and the units a base is waiting for at time
``t`` are its share of the depot backorders at ``t − O`` (binomial thinning of
``B0`` with the base's share ``f`` of depot demand) plus the Poisson orders of the
last ``O`` days and the Poisson base-repair pipeline.  The base pipeline
distribution is their convolution (Graves 1985, *Management Science* 31(10),
sec. 2; Axsäter 1990, *Operations Research* 38(1)).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from sustain._types import FloatArray
from sustain.errors import MethodError
from sustain.readiness.metric import Flows, Pipelines
from sustain.scenario.compile import ScenarioArrays

#: Probability mass left out when truncating a distribution.
TAIL = 1e-15
#: Largest Poisson mean the exact method convolves: the depot pipeline, and a base's
#: own repair and order-and-ship pipeline.  Their probability tables hold about
#: ``m + 8 √m`` terms, and the binomial thinning of the depot backorders takes the
#: square of that in time and memory (about a second at this mean).
EXACT_MAX_MEAN = 1_000.0


def _poisson_pmf(mean: float) -> FloatArray:
    n = int(stats.poisson.isf(TAIL, mean)) + 2 if mean > 0 else 1
    return np.asarray(stats.poisson.pmf(np.arange(n), mean), dtype=np.float64)


def _backorder_pmf(pmf: FloatArray, stock: int) -> FloatArray:
    """Distribution of ``(X − s)⁺`` from that of ``X``."""
    if stock <= 0:
        return pmf.copy()
    if stock >= pmf.size:
        return np.array([1.0])
    out = pmf[stock:].copy()
    out[0] += pmf[:stock].sum()
    return out


def _thin(pmf: FloatArray, share: float) -> FloatArray:
    """Binomial thinning: each unit kept with probability ``share``."""
    n = np.arange(pmf.size)
    k = n[:, None]
    return np.asarray(stats.binom.pmf(k, n[None, :], share) @ pmf, dtype=np.float64)


def _moments(pmf: FloatArray, stock: int) -> tuple[float, float, float, float, float]:
    x = np.arange(pmf.size, dtype=np.float64)
    mean = float(x @ pmf)
    var = float(((x - mean) ** 2) @ pmf)
    b = np.maximum(x - stock, 0.0)
    ebo = float(b @ pmf)
    vbo = max(float((b**2) @ pmf) - ebo * ebo, 0.0)
    fill = float(pmf[:stock].sum()) if stock > 0 else 0.0
    return mean, var, ebo, vbo, fill


def check_exact_applies(a: ScenarioArrays) -> None:
    """Raise :class:`MethodError` unless the scenario fits Graves' model."""
    if a.site_depth.size and int(a.site_depth.max()) > 1:
        deep = [a.site_ids[n] for n in np.flatnonzero(a.site_depth > 1)]
        raise MethodError(
            "--method exact handles two echelons (depot and bases) only; "
            f"sites {', '.join(deep[:5])} are deeper: use vari-metric"
        )
    if np.any(a.item_parent >= 0):
        subs = [a.item_ids[n] for n in np.flatnonzero(a.item_parent >= 0)]
        raise MethodError(
            "--method exact handles single indenture only; "
            f"items {', '.join(subs[:5])} are sub-items: use vari-metric"
        )


def _root_days(a: ScenarioArrays) -> FloatArray:
    """Mean days a unit spends in the depot pipeline, per item."""
    return np.asarray(
        (1.0 - a.condemnation_fraction) * a.depot_repair_days
        + a.condemnation_fraction * a.procurement_days,
        dtype=np.float64,
    )


def _own_means(a: ScenarioArrays, flows: Flows) -> FloatArray:
    """Poisson means the exact method tabulates: the depot pipeline at roots, a base's
    own repair and order-and-ship pipeline elsewhere (items × sites)."""
    root = a.site_parent < 0
    own = flows.repairs * a.base_repair_days[:, None] + flows.up * a.order_ship_days[None, :]
    own[:, root] = flows.demand[:, root] * _root_days(a)[:, None]
    return np.asarray(own, dtype=np.float64)


def check_exact_means(a: ScenarioArrays, flows: Flows) -> None:
    """Raise :class:`MethodError` if a pipeline is too long to convolve term by term.

    Names the first (item, site) whose mean exceeds ``EXACT_MAX_MEAN``.
    """
    own = _own_means(a, flows)
    too_long = np.argwhere(~(own <= EXACT_MAX_MEAN))  # NaN included
    if too_long.size:
        i, s = (int(k) for k in too_long[0])
        more = f" (and {len(too_long) - 1} more pipelines)" if len(too_long) > 1 else ""
        raise MethodError(
            f"--method exact: item {a.item_ids[i]} at site {a.site_ids[s]} has a pipeline "
            f"mean of {own[i, s]:.6g} units{more}; the exact method convolves "
            f"distributions term by term and handles means up to {EXACT_MAX_MEAN:g}: "
            "use vari-metric or metric"
        )


def exact_pipelines(a: ScenarioArrays, flows: Flows) -> Pipelines:
    """Exact pipeline distributions and backorders for every item and site.

    Raises
    ------
    MethodError
        On more than two echelons, sub-items, or a Poisson pipeline mean above
        ``EXACT_MAX_MEAN`` (see :func:`check_exact_means`).
    """
    check_exact_applies(a)
    check_exact_means(a, flows)
    n_i, n_s = a.n_items, a.n_sites
    mean, var, ebo, vbo = (np.zeros((n_i, n_s)) for _ in range(4))
    fill = np.ones((n_i, n_s))
    root_days = _root_days(a)
    roots = np.flatnonzero(a.site_parent < 0)
    for i in range(n_i):
        for r in roots:
            s0 = int(a.stock[i, r])
            lam0 = float(flows.demand[i, r])
            pmf0 = _poisson_pmf(lam0 * float(root_days[i]))
            mean[i, r], var[i, r], ebo[i, r], vbo[i, r], fill[i, r] = _moments(pmf0, s0)
            if lam0 <= 0:
                fill[i, r] = 1.0
            b0 = _backorder_pmf(pmf0, s0)
            for b in np.flatnonzero(a.site_parent == r):
                up = float(flows.up[i, b])
                share = min(up / lam0, 1.0) if lam0 > 0 else 0.0
                own = float(flows.repairs[i, b]) * float(a.base_repair_days[i])
                own += up * float(a.order_ship_days[b])
                pmf = np.convolve(_thin(b0, share), _poisson_pmf(own))
                s = int(a.stock[i, b])
                mean[i, b], var[i, b], ebo[i, b], vbo[i, b], fill[i, b] = _moments(pmf, s)
                if flows.demand[i, b] <= 0:
                    fill[i, b] = 1.0
    return Pipelines(mean=mean, var=var, ebo=ebo, vbo=vbo, fill_rate=fill)
