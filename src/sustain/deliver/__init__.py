"""What to deliver next: systems, spares and consumables on one scale.

:func:`~sustain.deliver.measure.Measure` values a choice of offers in mission-capable
system-days with the readiness-over-time engine; :func:`~sustain.deliver.choose.choose`
picks the offers that buy the most of it within a budget.  No numerics of its own:
it calls the engines and compares their answers.
"""

from sustain.deliver.choose import FleetValue, NextPlan, Pick, choose
from sustain.deliver.measure import Measure, Valuation

__all__ = ["FleetValue", "Measure", "NextPlan", "Pick", "Valuation", "choose"]
