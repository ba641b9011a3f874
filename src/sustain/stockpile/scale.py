"""Powers of two that bring each programme into the range where HiGHS is accurate.

HiGHS judges feasibility and optimality by absolute tolerances (1e-7 on the residual of
a row and on a reduced cost).  A plan counted in units of 1e12 rounds, or priced at
1e12 a unit, asks for more than double precision can give against those tolerances,
and the solver stops ("solve error", "not set", or a model it calls infeasible); a plan
counted in thousandths of a round, or whose tie-breaks weigh 1e-9, is solved as if
differences below the tolerance did not matter.  So each consumable's programme is
rescaled before it is solved (:func:`sustain.stockpile.solve.solve_lexicographic`):

- every quantity (bounds and right-hand sides) by ``2**q``, so that the bound on every
  quantity of its plan (``LinearProgram.qty_hi``) is at most ``QTY_WINDOW.hi`` and, as
  far as that allows, its smallest non-zero input quantity at least ``QTY_WINDOW.lo``;
- each stage's costs by ``2**k``, so that its largest cost is at most ``COST_WINDOW.hi``
  and, as far as that allows, its smallest non-zero cost at least ``COST_WINDOW.lo``.

A programme already inside both windows is solved exactly as given (``q = k = 0``).
Multiplying by a power of two changes no digit of any number, so the answer maps back
exactly: quantities by ``2**-q``, a stage's optimum by ``2**-(q + k)``, duals by
``2**-k``.

Measured with ``python benchmarks/stockpile.py --magnitudes`` (every quantity, or
every cost and priority, multiplied by 10**k, solved as given and rescaled): as given,
HiGHS solved the worked example with quantities multiplied by up to 1e3 (the bound on
its plan's quantities 1.7e10) but stopped in error from 1e6 (1.7e13) on, and with costs
and priorities multiplied by up to 1e9 but not 1e12; with quantities multiplied by 1e-9
it failed or gave another plan.  Rescaled, every one of those solves gave the plan of
the unscaled case.  The windows:

- quantities up to 2**27 (1.3e8), far below the first failure: the bound covers every
  stock the plan can reach, so every number the solver handles has a unit in the last
  place (at most 3e-8) below its tolerance of 1e-7; and from 1 up where the spread
  allows, so that 1e-7 is small next to any quantity;
- costs up to 2**24 (1.7e7), just above the largest of the worked example (whose
  surge-cost stage reaches 1e7, so that it is solved as given), and from 2**-10
  (about 1e-3) up, so that the tie-breaks of :func:`sustain.stockpile.build.objectives`
  (1e-6 of the cheapest surge cost, a step per month) stay above the tolerance.

What no power of two can change is the spread within one consumable: about 1e15 between
the bound on its quantities and the smallest quantity the solver can tell from 0, and
``COST_WINDOW.hi / COST_WINDOW.lo`` (1.7e10) between the largest and smallest cost of a
stage.  Beyond it, small numbers lose precision: a plan is exact to about 1e-9 of the
largest quantity of its consumable (checked by :func:`sustain.stockpile.api.check_answer`),
and a solve that fails says which inputs are that far apart
(:func:`sustain.stockpile.explain.magnitudes`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sustain._types import FloatArray, IntArray


@dataclass(frozen=True, slots=True)
class Window:
    """The range ``lo … hi`` (powers of two) that the numbers of a programme should span."""

    lo: float
    hi: float


#: Quantities: the bound on every quantity of the plan at most 2**27 (1.3e8), the smallest
#: input at least 1 where the spread allows.
QTY_WINDOW = Window(lo=1.0, hi=2.0**27)
#: Costs of one stage: the largest at most 2**24 (1.7e7), the smallest at least 2**-10
#: (1e-3) where the spread allows.
COST_WINDOW = Window(lo=2.0**-10, hi=2.0**24)


def _largest_exponent(x: float, limit: float) -> int:
    """The largest ``k`` with ``x·2**k <= limit`` (``x``, ``limit`` > 0 and finite)."""
    k = math.frexp(limit)[1] - math.frexp(x)[1]
    while math.ldexp(x, k) > limit:
        k -= 1
    while math.ldexp(x, k + 1) <= limit:
        k += 1
    return k


def _smallest_exponent(x: float, limit: float) -> int:
    """The smallest ``k`` with ``x·2**k >= limit`` (``x``, ``limit`` > 0 and finite)."""
    k = math.frexp(limit)[1] - math.frexp(x)[1]
    while math.ldexp(x, k) < limit:
        k += 1
    while math.ldexp(x, k - 1) >= limit:
        k -= 1
    return k


def exponent(lo: float, hi: float, window: Window) -> int:
    """The power of two that brings numbers spanning ``lo … hi`` into ``window``.

    0 when they already lie in it (or there are none: ``hi`` is 0).  Otherwise the
    exponent ``k`` closest to 0 with ``hi·2**k <= window.hi`` and, as far as that
    allows, ``lo·2**k >= window.lo``: the top of the range is kept below the window's top
    first, since numbers above it make the solver fail, while numbers below its bottom
    only lose precision.

    Parameters
    ----------
    lo, hi : float
        The smallest non-zero and the largest magnitude (``lo`` 0 or above ``hi``: taken
        as ``hi``).
    window : Window
        The range to bring them into.

    Returns
    -------
    int
    """
    if not (0.0 < hi < math.inf):
        return 0
    if not (0.0 < lo <= hi):
        lo = hi
    if lo >= window.lo and hi <= window.hi:
        return 0
    top = _largest_exponent(hi, window.hi)
    if hi > window.hi:
        return top
    return min(_smallest_exponent(lo, window.lo), top)


def quantity_exponents(lo: FloatArray, hi: FloatArray) -> IntArray:
    """The power of two for the quantities of each group (``lo``, ``hi``: its smallest
    non-zero input and the bound on its quantities, as in ``LinearProgram.qty_lo``)."""
    return np.array([exponent(float(a), float(b), QTY_WINDOW)
                     for a, b in zip(lo, hi, strict=True)], dtype=np.int64)
