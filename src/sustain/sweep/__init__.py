"""What if the inputs are wrong: sensitivity of readiness and cost to the scenario's inputs.

:func:`~sustain.sweep.oat.sensitivity` scales one input at a time (MTBF, repair times,
resupply times, tempo: :mod:`sustain.sweep.factors`) to a low and a high multiplier
and reports each fleet's availability, or the cost of reaching a target, at both;
:func:`~sustain.sweep.sample.propagate` draws scenarios from the scenario's
``uncertainty:`` section and reports the distribution of the same measures, and with
``importance=True`` the Sobol' indices of its inputs (:mod:`sustain.sweep.importance`).
Apart from those estimators, no numerics of its own: it calls the engines on scaled
scenarios, in parallel when asked.
:func:`~sustain.sweep.robust.robust_optimize` finds the cheapest stock meeting the
targets in a share of the draws (``sustain optimize --confidence``).
"""

from sustain.sweep.factors import Factor, FactorName, Selection, SweepError, parse_factor
from sustain.sweep.importance import Indices
from sustain.sweep.measure import Measure
from sustain.sweep.oat import Sensitivity, sensitivity
from sustain.sweep.robust import RobustPlan, robust_optimize
from sustain.sweep.sample import Propagation, propagate

__all__ = [
    "Factor",
    "FactorName",
    "Indices",
    "Measure",
    "Propagation",
    "RobustPlan",
    "Selection",
    "Sensitivity",
    "SweepError",
    "parse_factor",
    "propagate",
    "robust_optimize",
    "sensitivity",
]
