"""Discrete-event simulation of the support system, with replications.

Steady state by default; a scenario's time-phased keys (deliveries, tempo,
attrition, battle damage, Weibull lifetimes, cannibalisation) run the time-phased
mode of the same compiled loop.

::

    from sustain.simulate import simulate
    res = simulate(scenario, days=730, replications=200, seed=7, warmup_days=180)
    doc = res.to_dict()        # the JSON contract of ``sustain simulate --json``
"""

from sustain.simulate.dispatch import Progress
from sustain.simulate.interrupt import SimulationInterrupted
from sustain.simulate.model import Delays
from sustain.simulate.replicate import PhasedStats, SimulationResult, simulate

__all__ = [
    "Delays",
    "PhasedStats",
    "Progress",
    "SimulationInterrupted",
    "SimulationResult",
    "simulate",
]
