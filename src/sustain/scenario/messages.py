"""Wording shared by every message about a scenario: values, key paths and hints.

Values are echoed short: a text longer than :data:`MAX_ECHO_CHARS` characters is cut
with "…", so that no message repeats a long cell, and a value from a table file
outside the scenario's folder is not echoed at all (:data:`HIDDEN`).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import Any

#: Longest value echoed in a message, characters (longer ones end with "…").
MAX_ECHO_CHARS = 24
#: Stands for a value read from a table file outside the scenario's folder.
HIDDEN = "<hidden: outside the scenario folder>"


def closest(word: object, choices: Iterable[str]) -> str | None:
    """The choice most like ``word`` (case ignored), or None if none is close."""
    by_lower: dict[str, str] = {}
    for choice in choices:
        by_lower.setdefault(str(choice).lower(), str(choice))
    match = difflib.get_close_matches(str(word).lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[match[0]] if match else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""``.

    Case is ignored when comparing (``'west'`` suggests ``'WEST'``).
    """
    match = closest(word, choices)
    return f" (did you mean {quote(match)}?)" if match is not None else ""


def hint_for(word: str, choices: Iterable[str]) -> Callable[[], str]:
    """:func:`did_you_mean` of ``word``, looked for only when called (it costs a scan)."""
    return lambda: did_you_mean(word, choices)


def shorten(text: str) -> str:
    """``text`` cut to :data:`MAX_ECHO_CHARS` characters, with "…" if cut."""
    return text if len(text) <= MAX_ECHO_CHARS else text[:MAX_ECHO_CHARS] + "…"


def quote(value: object) -> str:
    """An id or text as echoed in a message: ``'WEST'``, cut if long."""
    text = str(value)
    if len(text) <= MAX_ECHO_CHARS:
        return repr(text)
    return repr(text[:MAX_ECHO_CHARS])[:-1] + "…" + repr(text[:MAX_ECHO_CHARS])[-1]


def num(value: object) -> str:
    """A bound or value as written: ``0`` rather than ``0.0``; cut if long."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    try:
        text = str(value)
    except ValueError:  # an integer of more digits than Python converts to text
        return "a number too long to show"
    return shorten(text)


def bound(value: object) -> str:
    """A limit of a range as a message writes it: ``24``, ``36,500``, ``1,000,000``."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and float(value).is_integer() and abs(value) >= 10_000:  # type: ignore[arg-type]
        return f"{int(value):,}"  # type: ignore[call-overload]
    return num(value)


def is_number_text(value: str) -> bool:
    """Does ``value`` read as a finite number (``"12"``, ``"-5.5"``, ``"1e3"``)?"""
    try:
        float(value)
    except ValueError:
        return False
    return value.strip().lower() not in ("nan", "inf", "-inf", "+inf", "infinity")


def describe(value: object) -> str:
    """The offending value as the user wrote it (numbers from table cells unquoted)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return shorten(value.strip()) if is_number_text(value) else quote(value)
    if isinstance(value, dict):
        return "a mapping " + repr(value) if len(repr(value)) <= 60 else "a mapping"
    if isinstance(value, list):
        return "a list " + repr(value) if len(repr(value)) <= 60 else "a list"
    return num(value)


def loc_path(loc: tuple[Any, ...]) -> str:
    """``("items", 3, "mtbf_hours")`` -> ``"items[3].mtbf_hours"``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{shorten(str(part))}" if out else shorten(str(part))
    return out


def parse_path(path: str) -> tuple[Any, ...]:
    """``"installed_in[0].system"`` -> ``("installed_in", 0, "system")``."""
    out: list[Any] = []
    for part in path.replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("[") and part.endswith("]") and part[1:-1].isdigit():
            out.append(int(part[1:-1]))
        else:
            out.append(part)
    return tuple(out)
