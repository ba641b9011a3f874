"""Compare approximate evaluations with the exact one on the same scenario."""

from __future__ import annotations

from typing import Any

import numpy as np

from sustain.readiness.evaluate import Evaluation, evaluate_arrays
from sustain.readiness.metric import Method


def approximation_errors(exact: Evaluation) -> dict[str, Any]:
    """METRIC and VARI-METRIC against ``exact``: availability and EBO differences."""
    out: dict[str, Any] = {}
    ii, ss = exact.item_rows()
    ref_ebo = exact.pipes.ebo[ii, ss]
    for method in (Method.VARI_METRIC, Method.METRIC):
        ev = evaluate_arrays(exact.arrays, method=method)
        diff_av = ev.availability - exact.availability
        diff_ebo = ev.pipes.ebo[ii, ss] - ref_ebo
        out[str(method)] = {
            "fleets": [
                {**row, "availability_error": float(d)}
                for row, d in zip(ev.fleets_dict(), diff_av, strict=True)
            ],
            "max_abs_ebo_error": float(np.max(np.abs(diff_ebo))) if diff_ebo.size else 0.0,
            "total_ebo_error": float(np.sum(diff_ebo)),
            "total_ebo_exact": float(np.sum(ref_ebo)),
        }
    return out
