"""The scenario contract: read, check, and compile scenario files.

Modules, lowest first (each imports only those above it):

* ``months`` month arithmetic; ``messages`` wording of values, key paths and hints;
* ``schema`` the field table of every kind of row; ``model`` the validated objects;
* ``columns`` a table file held as columns; ``raw`` a scenario as read, with
  locations; ``load`` reading YAML/JSON and tables;
* ``issues`` the issue collector; ``rows`` the row validator; ``column_rows`` and
  ``stock_columns`` the same checks on a table held as columns (the stock);
* ``timeline`` and ``stockpile`` the time-phased tables and the stockpile section;
* ``validate`` the whole check; ``compile`` objects to arrays; ``oryx`` loss rates
  from Oryx's tables (for worked examples).
"""

from pathlib import Path
from typing import Any

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
from sustain.scenario.raw import inline_tables
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


def load_scenario(path: str | Path, *, allow_outside_tables: bool = False) -> Scenario:
    """Read, check and return the scenario in ``path`` (YAML or JSON).

    Parameters
    ----------
    path : str or Path
        The scenario file; table files it names are read relative to its folder.
    allow_outside_tables : bool
        Also read table files outside the scenario's folder (``../x.csv``, absolute
        paths, symbolic links leading out).  By default such a reference is an error:
        a scenario from someone else cannot make Sustain read, and echo in its
        messages, any file on the machine.  Values read from outside the folder are
        never echoed in messages.

    Raises
    ------
    sustain.errors.ScenarioError
        Listing every problem, each with its file, line or row and key path.
    """
    return validate(load_raw(path, allow_outside_tables=allow_outside_tables))


def scenario_from_dict(data: dict[str, Any], *, name: str = "<dict>") -> Scenario:
    """Check and return a scenario given as a mapping (the file's structure, inline tables).

    Raises
    ------
    sustain.errors.ScenarioError
        As :func:`load_scenario`; locations read ``name`` and key paths.
    """
    return validate(inline_tables(name, data))
