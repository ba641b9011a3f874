"""Discrete-event simulation of the support system, with replications.

Steady state by default; a scenario's time-phased keys (deliveries, tempo,
attrition, battle damage, Weibull lifetimes, cannibalisation) run a second kernel.

::

    from sustain.simulate import simulate
    res = simulate(scenario, days=730, replications=200, seed=7, warmup_days=180)
    doc = res.to_dict()        # the JSON contract of ``sustain simulate --json``
"""

from sustain.simulate.model import Delays
from sustain.simulate.replicate import PhasedStats, Progress, SimulationResult, simulate

__all__ = ["Delays", "PhasedStats", "Progress", "SimulationResult", "simulate"]
