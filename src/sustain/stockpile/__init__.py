"""Consumables and stockpiles: a time-phased linear programme over months.

``data`` (section → arrays) → ``build`` (named constraint families) → ``solve``
(lexicographic, HiGHS) → ``result`` (scenario terms); ``explain`` puts numbers into
words and ``plot`` draws them (extra ``plot``).
"""

from sustain.stockpile.api import plan_stockpile
from sustain.stockpile.errors import (
    NumericalError,
    PlanError,
    PlanInfeasible,
    PlanTooLarge,
    SolverError,
)
from sustain.stockpile.result import PlanResult
from sustain.stockpile.solve import HighsSolver, Solver, Status

__all__ = [
    "HighsSolver",
    "NumericalError",
    "PlanError",
    "PlanInfeasible",
    "PlanResult",
    "PlanTooLarge",
    "Solver",
    "SolverError",
    "Status",
    "plan_stockpile",
]
