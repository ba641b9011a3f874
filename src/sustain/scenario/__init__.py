"""The scenario contract: read, check, and compile scenario files."""

from pathlib import Path
from typing import Any

from sustain.scenario.load import RawScenario, load_raw
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
    "scenario_from_dict",
]


def load_scenario(path: str | Path) -> Scenario:
    """Read, check and return the scenario in ``path`` (YAML or JSON).

    Raises
    ------
    sustain.errors.ScenarioError
        Listing every problem, each with its file, line or row and key path.
    """
    return validate(load_raw(path))


def scenario_from_dict(data: dict[str, Any], *, name: str = "<dict>") -> Scenario:
    """Check and return a scenario given as a mapping (the file's structure, inline tables).

    Raises
    ------
    sustain.errors.ScenarioError
        As :func:`load_scenario`; locations read ``name`` and key paths.
    """
    raw = RawScenario(path=Path(name), data=dict(data), where=name)
    for key, value in raw.data.items():
        if isinstance(value, list):
            from sustain.scenario.load import TableSource

            raw.tables[key] = TableSource(where=name, from_file=False)
            raw.row_where[key] = [name] * len(value)
    return validate(raw)
