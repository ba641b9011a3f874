"""A scenario as read, before any check: plain values plus where each one was written.

:mod:`sustain.scenario.load` builds a :class:`RawScenario` from files (and
:func:`inline_tables` from a mapping); the checks report their problems at the
locations it keeps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sustain.errors import Issue
from sustain.scenario.messages import loc_path


@dataclass(slots=True)
class TableSource:
    """Where a table came from: inline in the scenario, or a separate file.

    ``outside`` marks a table file outside the scenario's folder (read only with
    ``allow_outside_tables``): messages never echo its values.
    """

    where: str  # "air.yaml line 12" or "items.csv"
    from_file: bool
    columns: tuple[str, ...] = ()  # header of a file table
    readable: bool = True  # False: the table file could not be read (see RawScenario.issues)
    complete: bool = True  # False: rows that could not be read were left out (reported)
    outside: bool = False


@dataclass(slots=True)
class RawScenario:
    """The scenario as read: plain Python values plus source locations.

    ``key_lines`` maps ``(id(mapping), key)`` and ``(id(list), index)`` of the
    containers in ``data`` to the line of that key or element; it is empty for JSON
    that cannot be mapped back to lines and for scenarios built in memory.  ``issues``
    holds problems found while reading; ``source_files`` the resolved path of every
    file read, the scenario file first.
    """

    path: Path
    data: dict[str, Any]
    where: str  # the scenario file's name, for messages
    tables: dict[str, TableSource] = field(default_factory=dict)
    row_where: dict[str, Sequence[str]] = field(default_factory=dict)
    key_lines: dict[tuple[int, Any], int] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    source_files: list[Path] = field(default_factory=list)

    def locate(self, loc: tuple[Any, ...]) -> str:
        """Where the key path ``loc`` (``("items", 3, "mtbf_hours")``) was written."""
        line = self._line_of(loc)
        return f"{self.where} line {line}" if line is not None else self.where

    def _line_of(self, loc: tuple[Any, ...]) -> int | None:
        """The line of the deepest part of ``loc`` that can be found."""
        obj: Any = self.data
        found = None  # the top mapping's own line says nothing
        for part in loc:
            in_dict = isinstance(obj, dict) and hashable(part) and part in obj
            in_list = isinstance(obj, list) and isinstance(part, int) and 0 <= part < len(obj)
            if not (in_dict or in_list):
                break
            found = self.key_lines.get((id(obj), part), found)
            obj = obj[part]
        return found


def table_key(loc: tuple[Any, ...]) -> str:
    """The name a table is known by: ``items``, ``stockpile.donors[0].production``."""
    return loc_path(loc)


def inline_tables(name: str, data: dict[str, Any]) -> RawScenario:
    """A scenario given as a mapping (inline tables only); locations read ``name``."""
    raw = RawScenario(path=Path(name), data=dict(data), where=name)
    for key, value in raw.data.items():
        if isinstance(value, list):
            raw.tables[key] = TableSource(where=name, from_file=False)
            raw.row_where[key] = [name] * len(value)
    return raw


def hashable(value: object) -> bool:
    """Can ``value`` be a key whose line is recorded (a YAML scalar)?"""
    return isinstance(value, str | int | float | bool) or value is None
