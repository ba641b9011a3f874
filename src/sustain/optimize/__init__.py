"""Readiness-based sparing: the cheapest spares for a readiness target."""

from sustain.optimize.api import Optimization, TargetUnreachable, optimize

__all__ = ["Optimization", "TargetUnreachable", "optimize"]
