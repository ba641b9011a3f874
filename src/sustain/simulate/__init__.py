"""Discrete-event simulation of the support system (steady state), with replications.

::

    from sustain.simulate import simulate
    res = simulate(scenario, days=730, replications=200, seed=7, warmup_days=180)
    doc = res.to_dict()        # the JSON contract of ``sustain simulate --json``
"""

from sustain.simulate.model import Delays
from sustain.simulate.replicate import Progress, SimulationResult, simulate

__all__ = ["Delays", "Progress", "SimulationResult", "simulate"]
