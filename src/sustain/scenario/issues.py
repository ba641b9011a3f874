"""The one issue collector of a scenario check.

The core tables, the time-phased tables and the ``stockpile:`` section report into one
:class:`Collector`.  It places each problem (file and line or row, key path), keeps
track of rows that failed their own checks (so that references to them do not cascade),
and bounds what is reported: at most :data:`MAX_SHOWN` problems of one kind (the same
rule broken at the same key of the same file), then one line
"… and 12,345 more problems like this".  A file with a million bad rows is rejected in
time linear in its size, with a message of bounded length; "did you mean" hints are
only looked for in the problems shown.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sustain.errors import Issue, ScenarioError, Severity
from sustain.scenario.load import RawScenario, TableSource, table_key
from sustain.scenario.messages import HIDDEN, describe, did_you_mean, loc_path, quote

#: Problems shown per kind (rule, key and file); the rest are counted.
MAX_SHOWN = 20

_HINT = re.compile(r" \(did you mean .*\?\)")
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_NUMBER = re.compile(r"[-+]?\d[\d,.]*(?:e[-+]?\d+)?")
_INDEX = re.compile(r"\[\d+\]")
_LOCATION = re.compile(r" (?:line|row) \d+$")
_GOT = re.compile(r"(: got ).*$")


def _kind(issue: Issue) -> tuple[str, str, str, Severity]:
    """What makes two problems "alike": file, key path without indices, rule."""
    rule = _NUMBER.sub("#", _QUOTED.sub("'…'", _HINT.sub("", issue.message)))
    return _LOCATION.sub("", issue.where), _INDEX.sub("[…]", issue.path), rule, issue.severity


@dataclass(slots=True)
class _Group:
    shown: int = 0
    more: int = 0
    last: int = -1  # index in the kept list of the last problem shown


class Collector:
    """Collects the issues of one scenario with their locations (see the module doc).

    Attributes
    ----------
    broken : dict of str to set of str
        Per table (``"sites"``, ``"stockpile.consumables"``), ids of rows that failed
        their own checks: a reference to one of them is not reported again.
    uncertain : set of str
        Tables with a row whose id cannot be told, or that could not be read: a
        reference into them that does not resolve is not reported.
    absent : dict of str to set of str
        Per file table, keys already reported as a missing or misspelt column.
    errors : int
        Errors found so far, shown or not.
    """

    def __init__(self, raw: RawScenario) -> None:
        self.raw = raw
        self.broken: defaultdict[str, set[str]] = defaultdict(set)
        self.uncertain: set[str] = set()
        self.absent: defaultdict[str, set[str]] = defaultdict(set)
        self.errors = 0
        self._kept: list[Issue] = []
        self._groups: dict[tuple[str, str, str, Severity], _Group] = {}
        for issue in raw.issues:
            self.take(issue)

    # ---- where -------------------------------------------------------------------------

    def _source(self, loc: tuple[Any, ...]) -> tuple[TableSource | None, int]:
        """The file table ``loc`` points into and the index of its row in ``loc``."""
        for k in range(len(loc) - 1, 0, -1):
            if isinstance(loc[k], int):
                source = self.raw.tables.get(table_key(loc[:k]))
                if source is not None and source.from_file:
                    return source, k
        return None, -1

    def place(self, loc: tuple[Any, ...]) -> tuple[str, str]:
        """``(where, path)`` of the key path ``loc``: a file row, or a line and full path."""
        source, k = self._source(loc)
        if source is not None:
            rows = self.raw.row_where.get(table_key(loc[:k]), [])
            where = rows[loc[k]] if 0 <= loc[k] < len(rows) else source.where
            return where, loc_path(loc[k + 1 :])
        return self.raw.locate(loc), loc_path(loc)

    def first_at(self, loc: tuple[Any, ...]) -> str:
        """Where the row or key ``loc`` was written (for "first at …")."""
        return self.place(loc)[0]

    def hidden(self, loc: tuple[Any, ...]) -> bool:
        """Does ``loc`` point into a table file outside the scenario's folder?"""
        source, _ = self._source(loc)
        return source is not None and source.outside

    def table_hidden(self, table: str) -> bool:
        """Was ``table`` read from a file outside the scenario's folder?"""
        source = self.raw.tables.get(table)
        return source is not None and source.outside

    def show(self, loc: tuple[Any, ...], value: object) -> str:
        """``value`` of the row at ``loc``, quoted for a message (or hidden)."""
        return HIDDEN if self.hidden(loc) else quote(value)

    def plain(self, loc: tuple[Any, ...], value: object) -> str:
        """``value`` of the row at ``loc`` as it reads (or hidden)."""
        return HIDDEN if self.hidden(loc) else str(value)

    def describe(self, loc: tuple[Any, ...], value: object) -> str:
        """An offending value of the row at ``loc`` as the user wrote it (or hidden)."""
        return HIDDEN if self.hidden(loc) else describe(value)

    # ---- adding ------------------------------------------------------------------------

    def add(
        self,
        loc: tuple[Any, ...],
        message: str,
        *,
        warning: bool = False,
        hint: Callable[[], str] | None = None,
    ) -> None:
        """Report ``message`` at the key path ``loc``.

        ``hint`` (a "did you mean") is only computed if the problem is shown.  In a row
        of a table outside the scenario's folder, quoted values and the value after
        "got" are hidden and no hint is given.
        """
        where, path = self.place(loc)
        if self.hidden(loc):
            message = _GOT.sub(rf"\g<1>{HIDDEN}", _QUOTED.sub(HIDDEN, _HINT.sub("", message)))
            hint = None
        self.add_at(where, path, message, warning=warning, hint=hint)

    def add_at(
        self,
        where: str,
        path: str,
        message: str,
        *,
        warning: bool = False,
        hint: Callable[[], str] | None = None,
    ) -> None:
        """Report ``message`` at an explicit place (a file's header, a top-level key)."""
        severity = Severity.WARNING if warning else Severity.ERROR
        issue = Issue(where=where, path=path, message=message, severity=severity)
        if hint is not None and self._room(issue):
            issue = Issue(where=where, path=path, message=message + hint(), severity=severity)
        self.take(issue)

    def _room(self, issue: Issue) -> bool:
        group = self._groups.get(_kind(issue))
        return group is None or group.shown < MAX_SHOWN

    def take(self, issue: Issue) -> None:
        """Count ``issue``; keep it if fewer than :data:`MAX_SHOWN` of its kind are kept."""
        if issue.severity is Severity.ERROR:
            self.errors += 1
        group = self._groups.setdefault(_kind(issue), _Group())
        if group.shown < MAX_SHOWN:
            group.shown += 1
            group.last = len(self._kept)
            self._kept.append(issue)
        else:
            group.more += 1

    def ref(
        self,
        loc: tuple[Any, ...],
        value: str,
        ids: Collection[str],
        what: str,
        table: str,
    ) -> bool:
        """Is ``value`` an id of a ``what`` (a row of ``table``)?  Reports it if not,
        unless that row itself failed or the table's ids cannot all be told."""
        if value in ids:
            return True
        if value in self.broken[table] or table in self.uncertain:
            return False
        article = "an" if what[0] in "aeiou" else "a"
        hint = None if self.table_hidden(table) else (lambda: did_you_mean(value, ids))
        self.add(loc, f"{self.show(loc, value)} is not {article} {what} id", hint=hint)
        return False

    def unique(
        self,
        loc: tuple[Any, ...],
        rows: Iterable[tuple[int, Any]],
        key: Callable[[Any], Any],
        what: Callable[[Any, tuple[Any, ...]], str],
        hint: str = "",
    ) -> dict[Any, tuple[int, Any]]:
        """Rows of the table at ``loc`` by ``key``; a repeated key is reported (with
        where it was first given).  ``what(row, row_loc)`` names the repeated thing."""
        seen: dict[Any, tuple[int, Any]] = {}
        for i, row in rows:
            k = key(row)
            if k in seen:
                first = self.first_at((*loc, seen[k][0]))
                here = (*loc, i)
                self.add(here, f"{what(row, here)} given twice (first at {first}){hint}")
                continue
            seen[k] = (i, row)
        return seen

    # ---- results -----------------------------------------------------------------------

    def mark(self) -> int:
        """A position in the issues kept so far (see :meth:`since`)."""
        return len(self._kept)

    def since(self, mark: int) -> list[Issue]:
        """The issues kept after ``mark``."""
        return self._kept[mark:]

    def issues(self) -> list[Issue]:
        """Every issue kept, each kind followed by the count of those left out."""
        after: dict[int, list[Issue]] = defaultdict(list)
        for (source, path, _, severity), group in self._groups.items():
            if group.more:
                after[group.last].append(Issue(
                    where=source, path=path, severity=severity,
                    message=f"… and {group.more:,} more problem{'s' if group.more != 1 else ''} "
                    "like this",
                ))
        out: list[Issue] = []
        for n, issue in enumerate(self._kept):
            out.append(issue)
            out.extend(after.get(n, ()))
        return out

    def raise_if_errors(self) -> None:
        """Raise one :class:`ScenarioError` listing every issue if any is an error."""
        if self.errors:
            raise ScenarioError(self.issues(), total=self.errors)
