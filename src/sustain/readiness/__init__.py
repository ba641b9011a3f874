"""Analytic readiness: the METRIC family on arrays."""
