"""Errors of the stockpile planner (the ``PlanError`` branch of the tree in
:mod:`sustain.errors`)::

    SustainError
      PlanError
        PlanInfeasible     no plan meets the hard constraints (exit 3); names donor,
                           consumable, month and the constraint families involved
        PlanTooLarge       the programme would exceed the planner's size limits (exit 2);
                           says how big it is and which inputs drive it
      SolverError          the solver stopped without an answer (exit 2)
        NumericalError     it stopped for numerical reasons: names the consumable, the stage
                           and the inputs whose magnitudes span too many orders
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


class PlanTooLarge(PlanError):
    """The programme is larger than :data:`sustain.stockpile.api.MAX_CELLS` allows."""


class SolverError(SustainError):
    """The solver stopped without a plan (time limit, numerical trouble)."""


class NumericalError(SolverError):
    """The solver failed for numerical reasons, not because no plan exists.

    Parameters
    ----------
    message : str
        What failed and the magnitudes behind it (see
        :func:`sustain.stockpile.explain.magnitudes`).
    consumable : str or None
        The consumable whose programme failed.
    stage : str or None
        The stage of the lexicographic objective that failed.
    """

    def __init__(self, message: str, *, consumable: str | None = None,
                 stage: str | None = None) -> None:
        self.consumable = consumable
        self.stage = stage
        super().__init__(message)
