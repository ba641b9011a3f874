"""The scenario contract: read, check, and compile scenario files."""

from pathlib import Path

from sustain.scenario.load import load_raw
from sustain.scenario.model import (
    Fleet,
    Installation,
    Item,
    Scenario,
    Site,
    StockLevel,
    System,
)
from sustain.scenario.validate import validate

__all__ = [
    "Fleet",
    "Installation",
    "Item",
    "Scenario",
    "Site",
    "StockLevel",
    "System",
    "load_scenario",
]


def load_scenario(path: str | Path) -> Scenario:
    """Read, check and return the scenario in ``path`` (YAML or JSON).

    Raises
    ------
    sustain.errors.ScenarioError
        Listing every problem, each with its file, line or row and key path.
    """
    return validate(load_raw(path))
