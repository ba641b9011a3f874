"""The JSON document of each run, assembled in one place for every front end.

``sustain evaluate|optimize|simulate|stockpile --json`` and the web app's API return
the same document for the same inputs: both build it here from the engine's result
(its ``to_dict``) and what the run added (a stock plan put in, the exact method's
comparison).  :func:`sustain.report.documents.json_text` turns it into text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sustain.readiness.metric import Method

if TYPE_CHECKING:
    from sustain.optimize.api import Optimization
    from sustain.readiness.evaluate import Evaluation
    from sustain.scenario.stock_plan import StockChange
    from sustain.simulate import SimulationResult
    from sustain.stockpile import PlanResult


def evaluation_document(
    ev: Evaluation, *, plans: Sequence[tuple[StockChange, Evaluation]] = ()
) -> dict[str, Any]:
    """``sustain evaluate``: the evaluation; with the exact method, the METRIC and
    VARI-METRIC errors against it (``approximation``); with stock plans, each plan's
    evaluation beside the stock held (``plans``)."""
    # Imported here, not at the top: the comparison is needed by the exact method only.
    from sustain.readiness.compare import approximation_errors
    from sustain.report.documents import plans_document

    doc = ev.to_dict()
    if ev.method is Method.EXACT:
        doc["approximation"] = approximation_errors(ev)
    if plans:
        doc["plans"] = plans_document(list(plans))
    return doc


def with_stock_change(doc: dict[str, Any], change: StockChange | None) -> dict[str, Any]:
    """``doc`` with what a stock plan (``--stock``) changed, as ``stock_plan``."""
    if change is not None:
        doc["stock_plan"] = change.to_dict()
    return doc


def optimization_document(
    opt: Optimization, change: StockChange | None = None
) -> dict[str, Any]:
    """``sustain optimize``: the purchases, the curve's summary and the evaluation after."""
    return with_stock_change(opt.to_dict(), change)


def simulation_document(
    res: SimulationResult, change: StockChange | None = None
) -> dict[str, Any]:
    """``sustain simulate``: availability with confidence intervals, per fleet."""
    return with_stock_change(res.to_dict(), change)


def stockpile_document(result: PlanResult) -> dict[str, Any]:
    """``sustain stockpile``: the month-by-month plan of every consumable."""
    return result.to_dict()


def no_stockpile_message(scenario: str) -> str:
    """What ``sustain stockpile`` says of a scenario without a ``stockpile:`` section."""
    return (f"error: {scenario}: the scenario has no stockpile section "
            "(see docs/stockpile.md)")
