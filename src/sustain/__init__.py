"""Sustain: keep delivered systems operational.

Readiness of fleets of repairable systems at each site (METRIC family), from one
scenario file::

    import sustain
    scenario = sustain.load_scenario("examples/coalition-air-defence.yaml")
    ev = sustain.evaluate(scenario)           # VARI-METRIC; method="metric" or "exact"
    doc = ev.to_dict()                        # the JSON contract of shared/spec
    ot = sustain.evaluate_over_time(scenario, days=730, step=7)  # deliveries, tempo, losses
    opt = sustain.optimize(scenario, target=0.9)
    sim = sustain.simulate(scenario, days=730, replications=200, seed=7, stock=opt.stock)
    plan = sustain.plan_stockpile(sustain.load_scenario("examples/coalition-munitions.yaml"))
"""

from sustain.crosscheck import simulate
from sustain.errors import ScenarioError, SustainError
from sustain.optimize import Optimization, TargetUnreachable, optimize
from sustain.readiness.evaluate import Evaluation, evaluate
from sustain.readiness.metric import Method
from sustain.readiness.over_time import OverTime, evaluate_over_time
from sustain.scenario import Scenario, load_scenario
from sustain.simulate import SimulationResult
from sustain.stockpile import PlanInfeasible, PlanResult, plan_stockpile

__version__ = "0.1.0"

__all__ = [
    "Evaluation",
    "Method",
    "Optimization",
    "OverTime",
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
    "plan_stockpile",
    "simulate",
]
