"""Attrition and battle-damage rates per system type from Oryx's confirmed-loss lists.

Oryx (oryxspioenkop.com) lists equipment losses in the Russian invasion of Ukraine that
are *visually confirmed*: one entry per lost system, each with a photo or video.  The
public dataset ``scarnecchia/oryx_data`` scrapes those lists into one row per entry:

``country, origin, system, status, date_recorded, url``

This module reads such a table (``shared/data/oryx/ukraine_equipment_losses.csv``),
selects the rows of one kind of system by regular expressions on ``system`` (and
optionally by ``origin``), and turns their counts into rates for a fleet of a given size
over a given period.  It is a loader for worked examples: pure (no printing), and it
imports nothing above the scenario layer.

Reading the table
-----------------
*Count prefix.*  Some ``system`` strings start with a number, e.g. ``"10 155mm M777A2
howitzer"``.  It is **not** a number of systems in that row: it is Oryx's running tally
for that system type at the time the row was scraped, which the scraper took from the
list heading.  For the same system it rises with ``date_recorded`` (M777A2: 4 on
2022-07-04, 10 on 2022-10-08 and again on 2022-10-17, 31 on six rows of 2023-01-15),
and every row has its own photo link; reading it as a count would turn the 113 M777A2
rows into thousands of howitzers.  So each row counts as **one** system, and one leading
integer followed by a space is removed from the name before matching (so that a pattern
such as ``155`` cannot catch ``"155 M113"``).  Exactly one prefix is removed: the
Finnish ``23 ItK 61`` gun appears as ``"3 23 ItK 61 23mm"`` and keeps its own name.
A name that itself began with ``"<digits> "`` and appeared *without* a tally would lose
its first word; in the Ukrainian table that never happens (checked in the tests).

*Status.*  ``destroyed``, ``captured`` and ``abandoned`` are **attrition** (the system
leaves the fleet); ``damaged`` is **battle damage** (a repair demand: the system comes
back after repair).  The data's README names destroyed and captured as attrition.
Abandoned is counted as attrition too by default: Oryx uses it for systems left behind
by their crews and not (yet) seen captured or destroyed; they are out of the fleet when
recorded, and most are later captured or destroyed in place.  Recovered ones are the
exception, so counting them as lost errs slightly high, which partly offsets the lower
bound below.  ``abandoned_as_loss=False`` leaves them out of both rates (the count is
still reported).

Caveats (why only long-period averages mean anything)
-----------------------------------------------------
* Confirmed losses are a **lower bound**: a loss without a published photo is absent.
* ``date_recorded`` is the date the row was scraped, **not** the loss date.  Early
  losses bunch on 2022-03-19 (the first scrape, covering losses since 2022-02-24), and
  later rows arrive in batches whenever Oryx catches up.  Rates over weeks or months are
  therefore meaningless; use periods of a year or more.
* ``fleet_size`` is the user's estimate of systems *in service on average* over the
  period; deliveries ramp up and losses run the fleet down, so it is neither the number
  delivered nor the number left.

The rates are plain ratios (an average hazard under a constant-rate assumption):

``attrition_per_system_day = attrition / (fleet_size * days)``,
``damage_per_system_day = damaged / (fleet_size * days)``,

and ``attrition_per_day = attrition / days`` for the whole fleet.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sustain.errors import Issue, ScenarioError, Severity
from sustain.scenario.messages import did_you_mean

#: How to credit the data (its licence is CC BY 4.0).
ORYX_ATTRIBUTION = (
    "Equipment loss data: Oryx (oryxspioenkop.com), scraped by scarnecchia/oryx_data, "
    "CC BY 4.0."
)
#: Columns the table must have (``url`` and any others are ignored).
REQUIRED_COLUMNS = ("origin", "system", "status", "date_recorded")
#: Statuses that take a system out of the fleet, and the one that sends it to repair.
ATTRITION_STATUSES = ("destroyed", "captured", "abandoned")
DAMAGE_STATUS = "damaged"
STATUSES = (*ATTRITION_STATUSES, DAMAGE_STATUS)
#: The running tally Oryx's heading puts before some names (see the module docstring).
_TALLY_PREFIX = re.compile(r"^\d+\s+(?=\S)")
#: Bad rows listed one by one before the rest are summed up in one message.
MAX_ROW_ISSUES = 20


def system_name(raw: str) -> str:
    """The system name without Oryx's running-tally prefix.

    ``"10 155mm M777A2 howitzer"`` -> ``"155mm M777A2 howitzer"``;
    ``"155mm M777A2 howitzer"`` is unchanged; ``"3 23 ItK 61 23mm"`` -> ``"23 ItK 61 23mm"``
    (one prefix only).
    """
    return _TALLY_PREFIX.sub("", raw.strip(), count=1)


class LossTableError(ScenarioError):
    """A loss table, or the options given with it, has problems; ``issues`` lists them all.

    A :class:`~sustain.errors.ScenarioError` (the CLI's exit code 2), headed with the
    table's name rather than "the scenario".
    """

    def __init__(self, where: str, issues: list[Issue]) -> None:
        super().__init__(issues)
        n = sum(1 for i in self.issues if i.severity is Severity.ERROR)
        head = f"{n} problem{'s' if n != 1 else ''} with the loss table {where}:"
        self.args = ("\n".join([head, *(f"  {i}" for i in self.issues)]),)


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemLosses:
    """Counts for one distinct system name caught by the patterns (tally removed)."""

    name: str
    attrition: int
    damaged: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LossRates:
    """Attrition and battle-damage counts and rates for the systems a pattern selects.

    Parameters
    ----------
    source : str
        The table read.
    patterns : tuple[str, ...]
        The regular expressions (case-insensitive, searched in the name without its tally
        prefix); a row is selected when any of them matches.
    origins : tuple[str, ...]
        Origin filter (case-insensitive, exact); empty for every origin.
    systems : tuple[SystemLosses, ...]
        Every distinct name the patterns caught in the period, with its counts, most
        losses first, so a user sees exactly what was included.
    destroyed, captured, abandoned, damaged : int
        Rows of each status in the period.
    attrition : int
        Systems lost: destroyed + captured (+ abandoned unless ``abandoned_as_loss`` is
        false).  A lower bound: only visually confirmed losses are listed.
    abandoned_as_loss : bool
        Whether abandoned systems count as attrition.
    fleet_size : float
        Systems in service on average over the period (user's estimate).
    start, end : datetime.date
        The period: rows with ``start <= date_recorded < end``.
    days : int
        ``end - start`` in days.
    start_is_first_match : bool
        True when no start was given (nor ``days``): the period then starts at the first
        row the patterns selected, not at the first row of the table.
    rows_outside_period : int
        Matching rows recorded before ``start`` or on/after ``end`` (not counted).
    attrition_per_day, damage_per_day : float
        Systems lost, and systems damaged, per day for the whole fleet.
    attrition_per_system_day, damage_per_system_day : float
        The same per system in service: the daily hazard of loss and of battle damage.
    attribution : str
        The credit line the data's CC BY 4.0 licence requires.
    """

    source: str
    patterns: tuple[str, ...]
    origins: tuple[str, ...]
    systems: tuple[SystemLosses, ...]
    destroyed: int
    captured: int
    abandoned: int
    damaged: int
    attrition: int
    abandoned_as_loss: bool
    fleet_size: float
    start: dt.date
    end: dt.date
    days: int
    start_is_first_match: bool
    rows_outside_period: int
    attrition_per_day: float
    damage_per_day: float
    attrition_per_system_day: float
    damage_per_system_day: float
    attribution: str = ORYX_ATTRIBUTION

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (dates as ``YYYY-MM-DD``)."""
        return {
            "source": self.source,
            "patterns": list(self.patterns),
            "origins": list(self.origins),
            "systems": [
                {"name": s.name, "attrition": s.attrition, "damaged": s.damaged}
                for s in self.systems
            ],
            "destroyed": self.destroyed,
            "captured": self.captured,
            "abandoned": self.abandoned,
            "damaged": self.damaged,
            "attrition": self.attrition,
            "abandoned_as_loss": self.abandoned_as_loss,
            "fleet_size": self.fleet_size,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "days": self.days,
            "start_is_first_match": self.start_is_first_match,
            "rows_outside_period": self.rows_outside_period,
            "attrition_per_day": self.attrition_per_day,
            "damage_per_day": self.damage_per_day,
            "attrition_per_system_day": self.attrition_per_system_day,
            "damage_per_system_day": self.damage_per_system_day,
            "attribution": self.attribution,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class _Row:
    origin: str
    name: str
    status: str
    date: dt.date


def _read(path: Path, issues: list[Issue]) -> list[_Row] | None:
    """Rows of the table, or ``None`` when it cannot be read at all (issues say why)."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        issues.append(Issue(where=where, path="", message="file not found"))
        return None
    except IsADirectoryError:
        issues.append(Issue(where=where, path="", message="is a directory, not a CSV file"))
        return None
    except UnicodeDecodeError as exc:
        issues.append(Issue(where=where, path="",
                            message=f"not a text file (UTF-8 expected): {exc.reason}"))
        return None
    except OSError as exc:
        issues.append(Issue(where=where, path="", message=f"cannot be read: {exc.strerror}"))
        return None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        issues.append(Issue(where=path.name, path="", message=f"not a readable CSV file: {exc}"))
        return None
    if not header:
        issues.append(Issue(where=path.name, path="", message="the file is empty"))
        return None
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    for col in missing:
        issues.append(Issue(
            where=path.name, path=col,
            message=f"missing column (the header has: {', '.join(header)})"
            f"{did_you_mean(col, header)}",
        ))
    if missing:
        return None
    rows: list[_Row] = []
    bad: list[Issue] = []
    records: list[tuple[int, dict[str | Any, str | Any]]] = []
    try:
        for raw in reader:  # numbered like the file's lines (the header is row 1)
            records.append((reader.line_num, raw))
    except csv.Error as exc:
        issues.append(Issue(where=f"{path.name} row {reader.line_num}", path="",
                            message=f"malformed CSV: {exc}"))
        return None
    for n, raw in records:
        rec = {str(k).strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        row_where = f"{path.name} row {n}"
        status = rec["status"].lower()
        if status not in STATUSES:
            bad.append(Issue(
                where=row_where, path="status",
                message=f"must be one of {', '.join(STATUSES)}: got {rec['status']!r}"
                f"{did_you_mean(status, STATUSES)}",
            ))
            continue
        try:
            date = dt.date.fromisoformat(rec["date_recorded"])
        except ValueError:
            bad.append(Issue(where=row_where, path="date_recorded",
                             message=f"must be a date YYYY-MM-DD: got {rec['date_recorded']!r}"))
            continue
        name = system_name(rec["system"])
        if not name:
            bad.append(Issue(where=row_where, path="system", message="is empty"))
            continue
        rows.append(_Row(origin=rec["origin"], name=name, status=status, date=date))
    issues.extend(bad[:MAX_ROW_ISSUES])
    if len(bad) > MAX_ROW_ISSUES:
        issues.append(Issue(where=path.name, path="",
                            message=f"and {len(bad) - MAX_ROW_ISSUES} more bad rows"))
    return rows


def _period(
    rows: Sequence[_Row],
    selected: Sequence[_Row],
    start: dt.date | None,
    end: dt.date | None,
    days: int | None,
    where: str,
    issues: list[Issue],
) -> tuple[dt.date, dt.date] | None:
    """``(start, end)`` from at most two of start, end and days.

    A missing end is the day after the last row of the data (``rows``); a missing start
    is the first row the patterns selected (``selected``): before it the systems were
    not yet there, or not yet losing any, and counting those days would dilute the rate.
    """
    if days is not None and days <= 0:
        issues.append(Issue(where=where, path="days", message=f"must be > 0: got {days}"))
        return None
    if start is not None and end is not None and days is not None:
        issues.append(Issue(where=where, path="days",
                            message="give at most two of start, end and days"))
        return None
    # No row selected: a pattern matched nothing, reported already; no second message.
    first = min((r.date for r in (selected or rows)), default=None)
    last = max((r.date for r in rows), default=None)
    if end is None:
        if start is not None and days is not None:
            end = start + dt.timedelta(days=days)
        elif last is not None:
            end = last + dt.timedelta(days=1)
    given_start = start is not None or days is not None
    if start is None:
        if end is not None and days is not None:
            start = end - dt.timedelta(days=days)
        elif first is not None:
            start = first
    if start is None or end is None:
        issues.append(Issue(where=where, path="date_recorded",
                            message="no rows to take the period from; give start and end"))
        return None
    if end <= start:
        what = "start" if given_start else "the first matching row"
        issues.append(Issue(where=where, path="end",
                            message=f"must be after {what} ({start.isoformat()}): "
                            f"got {end.isoformat()}"))
        return None
    return start, end


def loss_rates(
    path: str | Path,
    patterns: str | Iterable[str],
    *,
    fleet_size: float,
    start: dt.date | None = None,
    end: dt.date | None = None,
    days: int | None = None,
    origins: Iterable[str] = (),
    abandoned_as_loss: bool = True,
) -> LossRates:
    """Attrition and battle-damage rates of the systems ``patterns`` select in ``path``.

    Parameters
    ----------
    path : str or Path
        An Oryx loss table (columns ``origin, system, status, date_recorded``).
    patterns : str or iterable of str
        Regular expressions, searched case-insensitively in each name with its tally
        prefix removed (:func:`system_name`); a row is taken when any matches.  Each
        pattern must match at least one row.
    fleet_size : float
        Systems in service on average over the period (> 0): an estimate, e.g. from
        donors' announced deliveries.
    start, end : datetime.date, optional
        The period, ``start <= date_recorded < end``.
    days : int, optional
        Length of the period, with one of ``start`` and ``end``, or alone for the last
        ``days`` of the data.  Without ``start`` (and ``days``) the period starts at the
        first ``date_recorded`` of a selected row (the first loss of these systems in the
        data: before it they had not arrived or not yet been in combat; note that the first
        scrape date, 2022-03-19, also carries the losses since 2022-02-24).  Without
        ``end`` it ends on the day after the last ``date_recorded`` of the table.
    origins : iterable of str
        Keep only rows of these origins (country of manufacture; case-insensitive).
    abandoned_as_loss : bool
        Count abandoned systems as attrition (the default; see the module docstring).

    Returns
    -------
    LossRates
        Counts, matched names, period and rates, with the attribution line.

    Raises
    ------
    LossTableError
        A :class:`~sustain.errors.ScenarioError` listing every problem in one pass: the
        file missing or unreadable, a missing column, a bad status or date in a row, an
        invalid pattern, a pattern or origin that matches no row, a fleet size or period
        that is not positive.
    """
    path = Path(path)
    where = path.name  # in each issue; the error's heading gives the full path
    pats = (patterns,) if isinstance(patterns, str) else tuple(patterns)
    wanted_origins = tuple(origins)
    issues: list[Issue] = []

    if not (isinstance(fleet_size, int | float) and math.isfinite(fleet_size)
            and fleet_size > 0):
        issues.append(Issue(where=where, path="fleet_size",
                            message=f"must be a number > 0: got {fleet_size!r}"))
    if not pats:
        issues.append(Issue(where=where, path="system", message="give at least one pattern"))
    compiled: list[tuple[str, re.Pattern[str]]] = []
    for p in pats:
        try:
            compiled.append((p, re.compile(p, re.IGNORECASE)))
        except re.error as exc:
            issues.append(Issue(where=where, path="system",
                                message=f"pattern {p!r} is not a regular expression: {exc}"))

    rows = _read(path, issues)
    if rows is None or (not rows and issues):  # nothing to match: the rest would be noise
        raise LossTableError(str(path), issues)

    if wanted_origins:
        known = sorted({r.origin for r in rows})
        lower = {o.lower() for o in known}
        for o in wanted_origins:
            if o.lower() not in lower:
                issues.append(Issue(where=where, path="origin",
                                    message=f"no row has origin {o!r}{did_you_mean(o, known)}"))
        keep = {o.lower() for o in wanted_origins}
        rows = [r for r in rows if r.origin.lower() in keep]

    names = sorted({r.name for r in rows})
    words = sorted({*names, *(w for n in names for w in n.split())})  # hints for typos
    for p, rx in compiled:
        if not any(rx.search(n) for n in names):
            scope = " of the origins given" if wanted_origins else ""
            issues.append(Issue(
                where=where, path="system",
                message=f"pattern {p!r} matches no system name{scope}{did_you_mean(p, words)}",
            ))

    caught = {n for n in names if any(rx.search(n) for _, rx in compiled)}
    selected = [r for r in rows if r.name in caught]
    start_is_first_match = start is None and days is None
    period = _period(rows, selected, start, end, days, where, issues)
    if issues or period is None:
        raise LossTableError(str(path), issues)
    start, end = period
    inside = [r for r in selected if start <= r.date < end]
    by_status = Counter(r.status for r in inside)
    lost_statuses = ATTRITION_STATUSES if abandoned_as_loss else ("destroyed", "captured")
    per_name: dict[str, list[int]] = {}
    for r in inside:
        counts = per_name.setdefault(r.name, [0, 0])
        if r.status in lost_statuses:
            counts[0] += 1
        elif r.status == DAMAGE_STATUS:
            counts[1] += 1
    systems = tuple(
        SystemLosses(name=n, attrition=a, damaged=d)
        for n, (a, d) in sorted(per_name.items(), key=lambda kv: (-kv[1][0] - kv[1][1], kv[0]))
    )
    attrition = sum(by_status[s] for s in lost_statuses)
    damaged = by_status[DAMAGE_STATUS]
    n_days = (end - start).days
    fleet = float(fleet_size)
    return LossRates(
        source=str(path),
        patterns=pats,
        origins=wanted_origins,
        systems=systems,
        destroyed=by_status["destroyed"],
        captured=by_status["captured"],
        abandoned=by_status["abandoned"],
        damaged=damaged,
        attrition=attrition,
        abandoned_as_loss=abandoned_as_loss,
        fleet_size=fleet,
        start=start,
        end=end,
        days=n_days,
        start_is_first_match=start_is_first_match,
        rows_outside_period=len(selected) - len(inside),
        attrition_per_day=attrition / n_days,
        damage_per_day=damaged / n_days,
        attrition_per_system_day=attrition / (fleet * n_days),
        damage_per_system_day=damaged / (fleet * n_days),
    )
