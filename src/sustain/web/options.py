"""The options of the API's over-time, ``next`` and ``sweep`` runs, checked as the
command line checks them, with the same messages (named by the command line's option,
``--days``), before the run is queued.

Each function returns the options of the run's :class:`~sustain.web.worker.Task`.
What depends on the scenario (the ids of ``sweep --select``, a scenario without
offers) is checked by the worker, after loading it, as the command line does.
"""

from __future__ import annotations

from typing import Any

from sustain.cli.common import (
    MAX_DAYS,
    MAX_SEED,
    OptionError,
    check_number,
    check_whole,
    parse_targets,
)
from sustain.cli.sweep_cmd import MAX_SAMPLES

#: Defaults of ``evaluate --over-time`` (``--days``, ``--step``).
OVER_TIME_DAYS = 365
OVER_TIME_STEP = 7
#: Defaults of ``sustain next`` (``--days``, ``--step``).
NEXT_DAYS = 730
NEXT_STEP = 7


def evaluate_options(method: str, *, over_time: bool, days: int | None, step: int | None,
                     exponential: bool) -> dict[str, Any]:
    """``sustain evaluate [--over-time --days D --step K --exponential]``."""
    if not over_time:
        for name, given in (("--exponential", exponential), ("--days", days is not None),
                            ("--step", step is not None)):
            if given:
                raise OptionError(f"{name} needs --over-time")
        return {"method": method}
    if method == "exact":
        raise OptionError("--over-time uses --method vari-metric or metric, not exact")
    horizon = check_whole("--days", OVER_TIME_DAYS if days is None else days, low=1,
                          high=MAX_DAYS)
    every = check_whole("--step", OVER_TIME_STEP if step is None else step, low=1)
    return {"method": method, "over_time": True, "days": horizon, "step": every,
            "exponential": exponential}


def next_options(budget: float, days: int, step: int) -> dict[str, Any]:
    """``sustain next --budget B --days D --step K``."""
    check_number("--budget", budget, low=0, what="an amount of money")
    check_whole("--days", days, low=1, high=MAX_DAYS)
    check_whole("--step", step, low=1)
    return {"budget": budget, "days": days, "step": step}


def sweep_options(*, vary: list[str], select: list[str], samples: int | None, seed: int,
                  measure: str, target: list[str], method: str,
                  refine_seconds: float) -> dict[str, Any]:
    """``sustain sweep`` (one worker, no Dask, no stock plan)."""
    # Imported here, not at the top: the sweep's modules load NumPy and the engines.
    from sustain.sweep import parse_factor

    check_number("--refine-seconds", refine_seconds, low=0)
    for v in vary:
        parse_factor(v)
    if samples is not None:
        check_whole("--samples", samples, low=1, high=MAX_SAMPLES)
        check_whole("--seed", seed, low=0, high=MAX_SEED)
        if vary or select:
            raise OptionError("--samples draws from the uncertainty: section; "
                              "--vary and --select are for a one-at-a-time sweep")
    elif not vary:
        raise OptionError("give at least one factor: --vary mtbf=0.8:1.2 (factors: "
                          "mtbf, repair_days, order_ship_days, tempo), or --samples N")
    targets = parse_targets(target)
    if measure == "cost" and targets is None:
        raise OptionError("--measure cost needs --target (such as --target 0.9)")
    return {"vary": vary, "select": select, "samples": samples, "seed": seed,
            "measure": measure, "target": target, "method": method,
            "refine_seconds": refine_seconds}
