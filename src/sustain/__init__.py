"""Sustain: keep delivered systems operational.

Readiness of fleets of repairable systems at each site (METRIC family), from one
scenario file::

    import sustain
    scenario = sustain.load_scenario("examples/coalition-air-defence.yaml")
    ev = sustain.evaluate(scenario)           # VARI-METRIC; method="metric" or "exact"
    doc = ev.to_dict()                        # the JSON contract of shared/spec
    ot = sustain.evaluate_over_time(scenario, days=730, step=7)  # deliveries, tempo, losses
    opt = sustain.optimize(scenario, target=0.9)
    buy = sustain.optimize_over_time(scenario, target=0.9, days=730)  # need-by, order-by
    sim = sustain.simulate(scenario, days=730, replications=200, seed=7, stock=opt.stock)
    plan = sustain.plan_stockpile(sustain.load_scenario("examples/coalition-munitions.yaml"))

Each public name is imported from its module when first used (PEP 562): ``import
sustain`` loads none of the engines, so a command pays only for the one it runs.
"""

import importlib as _importlib
import sys as _sys
from types import ModuleType as _ModuleType
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

if _TYPE_CHECKING:
    from sustain.crosscheck import simulate
    from sustain.errors import ScenarioError, SustainError
    from sustain.optimize import BudgetTooSmall, Optimization, TargetUnreachable, optimize
    from sustain.optimize.over_time import OverTimePlan, optimize_over_time
    from sustain.readiness.evaluate import Evaluation, evaluate
    from sustain.readiness.metric import Method
    from sustain.readiness.over_time import OverTime, evaluate_over_time
    from sustain.scenario import Scenario, load_scenario
    from sustain.simulate import SimulationResult
    from sustain.stockpile import PlanInfeasible, PlanResult, plan_stockpile

__version__ = "0.1.0"

#: Public name -> the module it comes from.
_SOURCES = {
    "BudgetTooSmall": "sustain.optimize",
    "Evaluation": "sustain.readiness.evaluate",
    "Method": "sustain.readiness.metric",
    "Optimization": "sustain.optimize",
    "OverTime": "sustain.readiness.over_time",
    "OverTimePlan": "sustain.optimize.over_time",
    "PlanInfeasible": "sustain.stockpile",
    "PlanResult": "sustain.stockpile",
    "Scenario": "sustain.scenario",
    "ScenarioError": "sustain.errors",
    "SimulationResult": "sustain.simulate",
    "SustainError": "sustain.errors",
    "TargetUnreachable": "sustain.optimize",
    "evaluate": "sustain.readiness.evaluate",
    "evaluate_over_time": "sustain.readiness.over_time",
    "load_scenario": "sustain.scenario",
    "optimize": "sustain.optimize",
    "optimize_over_time": "sustain.optimize.over_time",
    "plan_stockpile": "sustain.stockpile",
    "simulate": "sustain.crosscheck",
}

__all__ = [
    "BudgetTooSmall",
    "Evaluation",
    "Method",
    "Optimization",
    "OverTime",
    "OverTimePlan",
    "PlanInfeasible",
    "PlanResult",
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "SustainError",
    "TargetUnreachable",
    "__version__",
    "evaluate",
    "evaluate_over_time",
    "load_scenario",
    "optimize",
    "optimize_over_time",
    "plan_stockpile",
    "simulate",
]


def __getattr__(name: str) -> _Any:
    """Import a public name from its module on first use, and keep it."""
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module 'sustain' has no attribute {name!r}")
    value = getattr(_importlib.import_module(source), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(_ModuleType):
    """``sustain`` itself: the functions ``optimize`` and ``simulate`` share their names
    with subpackages, and Python's import sets a subpackage as an attribute of its
    package when the subpackage is first loaded.  This keeps the functions instead."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _SOURCES and isinstance(value, _ModuleType):
            return
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package
