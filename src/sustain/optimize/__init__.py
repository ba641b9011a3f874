"""Readiness-based sparing: the cheapest spares for a readiness target."""

from sustain.optimize.api import BudgetTooSmall, Optimization, TargetUnreachable, optimize

__all__ = ["BudgetTooSmall", "Optimization", "TargetUnreachable", "optimize"]
