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

import functools
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sustain.errors import Issue, ScenarioError, Severity
from sustain.scenario.messages import HIDDEN, describe, did_you_mean, loc_path, quote
from sustain.scenario.raw import RawScenario, TableSource, table_key

#: Problems shown per kind (rule, key and file); the rest are counted.
MAX_SHOWN = 20

_HINT = re.compile(r" \(did you mean .*\?\)")
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_NUMBER = re.compile(r"[-+]?\d[\d,.]*(?:e[-+]?\d+)?")
_INDEX = re.compile(r"\[\d+\]")
_LOCATION = re.compile(r" (?:line|row) \d+$")
_GOT = re.compile(r"(: got ).*$")


@functools.lru_cache(maxsize=4096)
def _rule(message: str) -> str:
    """A message without its values and hint: what two alike problems share."""
    return _NUMBER.sub("#", _QUOTED.sub("'…'", _HINT.sub("", message)))


@functools.lru_cache(maxsize=4096)
def _unindexed(path: str) -> str:
    return _INDEX.sub("[…]", path)


_Kind = tuple[str, str, str, Severity]


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
    failed : dict of str to list of (int, dict)
        Per table, the rows that failed their own checks, each with its index and the
        keys that passed (values as written, text stripped): their references to other
        tables are still checked, so that one pass reports them too.
    errors : int
        Errors found so far, shown or not.
    """

    def __init__(self, raw: RawScenario) -> None:
        self.raw = raw
        self.broken: defaultdict[str, set[str]] = defaultdict(set)
        self.uncertain: set[str] = set()
        self.absent: defaultdict[str, set[str]] = defaultdict(set)
        self.failed: defaultdict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        self.errors = 0
        self._kept: list[Issue] = []
        self._groups: dict[_Kind, _Group] = {}
        self._file_tables: dict[tuple[Any, ...], tuple[TableSource, Sequence[str]] | None] = {}
        for issue in raw.issues:
            self.take(issue)

    # ---- where -------------------------------------------------------------------------

    def _source(self, loc: tuple[Any, ...]) -> tuple[TableSource | None, int]:
        """The file table ``loc`` points into and the index of its row in ``loc``."""
        for k in range(len(loc) - 1, 0, -1):
            if isinstance(loc[k], int):
                prefix = loc[:k]
                if prefix not in self._file_tables:
                    source = self.raw.tables.get(table_key(prefix))
                    rows = self.raw.row_where.get(table_key(prefix), [])
                    self._file_tables[prefix] = (
                        (source, rows) if source is not None and source.from_file else None
                    )
                found = self._file_tables[prefix]
                if found is not None:
                    return found[0], k
        return None, -1

    def _place(self, loc: tuple[Any, ...]) -> tuple[str, str, str, bool]:
        """``(where, path, file, hidden)`` of the key path ``loc``."""
        source, k = self._source(loc)
        if source is not None:
            found = self._file_tables[loc[:k]]
            rows = found[1] if found is not None else []
            where = rows[loc[k]] if 0 <= loc[k] < len(rows) else source.where
            return where, loc_path(loc[k + 1 :]), source.where, source.outside
        return self.raw.locate(loc), loc_path(loc), self.raw.where, False

    def place(self, loc: tuple[Any, ...]) -> tuple[str, str]:
        """``(where, path)`` of the key path ``loc``: a file row, or a line and full path."""
        where, path, _, _ = self._place(loc)
        return where, path

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
        where, path, file, hidden = self._place(loc)
        if hidden:
            message = _GOT.sub(rf"\g<1>{HIDDEN}", _QUOTED.sub(HIDDEN, _HINT.sub("", message)))
            hint = None
        self._add(where, path, message, warning, hint, file)

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
        self._add(where, path, message, warning, hint, _LOCATION.sub("", where))

    def _add(
        self,
        where: str,
        path: str,
        message: str,
        warning: bool,
        hint: Callable[[], str] | None,
        file: str,
    ) -> None:
        severity = Severity.WARNING if warning else Severity.ERROR
        kind = (file, _unindexed(path), _rule(message), severity)
        if self._count(kind, severity):
            full = message + hint() if hint is not None else message
            self._keep(kind, Issue(where=where, path=path, message=full, severity=severity))

    def take(self, issue: Issue) -> None:
        """Count ``issue``; keep it if fewer than :data:`MAX_SHOWN` of its kind are kept."""
        kind = (_LOCATION.sub("", issue.where), _unindexed(issue.path), _rule(issue.message),
                issue.severity)
        if self._count(kind, issue.severity):
            self._keep(kind, issue)

    def _count(self, kind: _Kind, severity: Severity) -> bool:
        """Count one problem of ``kind``; is there room to show it?"""
        if severity is Severity.ERROR:
            self.errors += 1
        group = self._groups.get(kind)
        if group is None:
            group = self._groups[kind] = _Group()
        if group.shown < MAX_SHOWN:
            return True
        group.more += 1
        return False

    def _keep(self, kind: _Kind, issue: Issue) -> None:
        group = self._groups[kind]
        group.shown += 1
        group.last = len(self._kept)
        self._kept.append(issue)

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
