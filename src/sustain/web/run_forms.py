"""The run forms of a scenario page and the options they post, checked as the API checks
them (the command line's checks and messages) before a run is queued.

The forms: *Evaluate* (the stock held now), *Evaluate over time* (``evaluate
--over-time``: days, step, exponential delays), *Optimise* (targets or a budget),
*Simulate* and *Stockpile*.  :func:`run_options` turns a posted form into the options
of the worker's :class:`~sustain.web.worker.Task`: the same dictionary the JSON API
builds for the same run, so a run from a page and one from the API are the same run.
"""

from __future__ import annotations

from typing import Any

from sustain.cli.common import (
    EXACT_NOT_FOR_OPTIMIZE,
    OptionError,
    check_optimize_options,
)
from sustain.cli.simulate_cmd import check_options
from sustain.web.options import OVER_TIME_DAYS, OVER_TIME_STEP, evaluate_options
from sustain.web.worker import Kind

#: Methods of the forms' ``method`` menus (``exact`` is for a steady evaluation only).
METHODS = ("vari-metric", "metric", "exact")
#: Defaults of the simulation form (``sustain simulate``'s).
SIMULATE_DAYS = 730
SIMULATE_REPS = 200
SIMULATE_SEED = 7


def _number(form: dict[str, str], key: str, *, whole: bool = False,
            default: float | None = None) -> Any:
    """The number in the field ``key`` (``default`` when it is empty)."""
    text = form.get(key, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise OptionError(f"{key} {text!r}: not a number") from None
    if whole:
        if not value.is_integer():
            raise OptionError(f"{key} {text!r}: a whole number is needed")
        return int(value)
    return value


def _ticked(form: dict[str, str], key: str) -> bool:
    """A checkbox (``on``) or a flag given as ``1``/``true``."""
    return form.get(key, "").strip().lower() in ("on", "1", "true", "yes")


def run_options(form: dict[str, str]) -> tuple[Kind, dict[str, Any], int | None]:
    """The run a scenario page's form asks for: kind, options (checked as the API checks
    them) and seed.

    An evaluation with ``over_time`` ticked is ``evaluate --over-time``: its ``days``,
    ``step`` and ``exponential`` are checked by :func:`sustain.web.options.evaluate_options`,
    the API's check, with the command line's messages (``--days 0: must be a whole
    number from 1 to …``).

    Raises
    ------
    OptionError
        An unknown kind or method, a bad number, or options the command refuses.
    """
    try:
        kind = Kind(form.get("kind", ""))
    except ValueError:
        raise OptionError(f"unknown run {form.get('kind', '')!r}") from None
    method = form.get("method", "vari-metric") or "vari-metric"
    if method not in METHODS:
        raise OptionError(f"method {method!r}: use vari-metric, metric or exact")
    if kind is Kind.EVALUATE:
        over_time = _ticked(form, "over_time")
        days = _number(form, "days", whole=True)
        step = _number(form, "step", whole=True)
        return kind, evaluate_options(method, over_time=over_time, days=days, step=step,
                                      exponential=_ticked(form, "exponential")), None
    if kind is Kind.OPTIMIZE:
        from sustain.optimize.api import REFINE_SECONDS

        if method == "exact":
            raise OptionError(EXACT_NOT_FOR_OPTIMIZE)
        targets = form.get("target", "").replace(",", " ").split()
        budget = _number(form, "budget")
        refine = _number(form, "refine_seconds", default=REFINE_SECONDS)
        check_optimize_options(targets or None, budget, refine)
        return kind, {"target": targets, "budget": budget, "method": method,
                      "refine_seconds": refine}, None
    if kind is Kind.SIMULATE:
        days = _number(form, "days", default=float(SIMULATE_DAYS))
        reps = _number(form, "reps", whole=True, default=SIMULATE_REPS)
        seed = _number(form, "seed", whole=True, default=SIMULATE_SEED)
        check_options(days, reps, seed, None, 1)
        return kind, {"days": days, "reps": reps, "seed": seed, "warmup": None,
                      "compare": False, "failures_while_down": False,
                      "cannibalisation": None, "exponential": False}, seed
    if kind is Kind.STOCKPILE:
        return kind, {"usage_from_fleets": _ticked(form, "usage_from_fleets"),
                      "availability": True}, None
    raise OptionError(f"a {kind.value} run is made through the API (POST /api/{kind.value})")


def run_forms(saved_id: int, version: int) -> str:
    """The HTML of the run forms of version ``version`` of scenario ``saved_id``."""
    a = f'action="/scenarios/{saved_id}/run" method="post"'
    v = f'<input type="hidden" name="v" value="{version}">'
    method = ('<label>method <select name="method"><option>vari-metric</option>'
              "<option>metric</option>{extra}</select></label>")
    return f"""<div class="runs">
<form {a} id="evaluate">{v}<input type="hidden" name="kind" value="evaluate"><h3>Evaluate</h3>
{method.format(extra="<option>exact</option>")} <button>Evaluate</button></form>
<form {a} id="over-time">{v}<input type="hidden" name="kind" value="evaluate"><input
 type="hidden" name="over_time" value="1"><h3>Evaluate over time</h3>
<label>days <input name="days" value="{OVER_TIME_DAYS}" size="6"></label>
<label>every <input name="step" value="{OVER_TIME_STEP}" size="4"> days</label>
<label><input type="checkbox" name="exponential"> exponential repair and transit
 times</label> {method.format(extra="")}
<button id="run-over-time">Evaluate over time</button></form>
<form {a} id="optimize">{v}<input type="hidden" name="kind" value="optimize"><h3>Optimise</h3>
<label>target(s) <input name="target" id="target" size="24"
 placeholder="0.9 or SAMX=0.95 IFV@EAST=0.9"></label>
<label>or budget <input name="budget" size="12"></label>
{method.format(extra="")} <button id="run-optimize">Optimise</button></form>
<form {a} id="simulate">{v}<input type="hidden" name="kind" value="simulate"><h3>Simulate</h3>
<label>days <input name="days" value="{SIMULATE_DAYS}" size="6"></label>
<label>replications <input name="reps" value="{SIMULATE_REPS}" size="6"></label>
<label>seed <input name="seed" value="{SIMULATE_SEED}" size="6"></label>
<button>Simulate</button></form>
<form {a} id="stockpile">{v}<input type="hidden" name="kind" value="stockpile">
<h3>Stockpile</h3>
<label><input type="checkbox" name="usage_from_fleets"> usage from the fleets</label>
<button>Plan the stockpile</button></form></div>"""
