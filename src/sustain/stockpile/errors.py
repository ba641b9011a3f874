"""Errors of the stockpile planner (the ``PlanError`` branch of the tree in
:mod:`sustain.errors`)::

    SustainError
      PlanError
        PlanInfeasible     no plan meets the hard constraints (exit 3); names donor,
                           consumable, month and the constraint families involved
      SolverError          the solver stopped without an answer (time limit, numerics)
"""

from __future__ import annotations

from sustain.errors import SustainError


class PlanError(SustainError):
    """A plan cannot be made from this scenario."""


class PlanInfeasible(PlanError):
    """No plan meets the hard constraints; ``problems`` says where, in words.

    Parameters
    ----------
    problems : list of str
        One sentence per donor and consumable (naming the month) that cannot be met.
    families : tuple of str
        The constraint families involved (names as in :mod:`sustain.stockpile.build`).
    """

    def __init__(self, problems: list[str], families: tuple[str, ...]) -> None:
        self.problems = list(problems)
        self.families = families
        n = len(self.problems)
        head = (f"no stockpile plan is possible ({n} problem{'s' if n != 1 else ''}; "
                f"constraints: {', '.join(families)}):")
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))


class SolverError(SustainError):
    """The solver stopped without a plan (time limit, numerical trouble)."""
